// The container rootfs containerd hands a shim: a list of mounts (usually
// one overlay of the image's snapshot) to stack on <bundle>/rootfs before the
// container starts, as containerd's runc shim does. The VM then sees the
// result through the shared directory like any other rootfs. The OCI
// command line never passes mounts: its bundle already holds the rootfs.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mountFilesystem, unmount } from '../../agent/mount/mount.js';
import { parseMountOptions } from '../../agent/mount/options.js';
import { invalidArgument, taskError } from './errors.js';

export interface RootfsMount {
  type: string;
  source: string;
  options: string[];
}

/** The directory the mounts go on. */
export function rootfsDir(bundle: string): string {
  return join(bundle, 'rootfs');
}

/**
 * Mounts `mounts` in order on <bundle>/rootfs; on failure the ones already
 * made are undone. Resolves with the number of mounts to undo later.
 */
export async function mountRootfs(bundle: string, mounts: readonly RootfsMount[]): Promise<number> {
  if (mounts.length === 0) return 0;
  const target = rootfsDir(bundle);
  await mkdir(target, { recursive: true, mode: 0o711 });
  let done = 0;
  try {
    for (const [i, m] of mounts.entries()) {
      if (m.type === '') throw invalidArgument(`rootfs[${i}].type`, 'empty');
      try {
        mountFilesystem({ source: m.source, target, fstype: m.type, options: parseMountOptions(m.options) });
      } catch (err) {
        throw taskError('INTERNAL', `rootfs[${i}]: ${(err as Error).message}`, err);
      }
      done++;
    }
  } catch (err) {
    unmountRootfs(bundle, done);
    throw err;
  }
  return done;
}

/** Undoes `count` mounts on <bundle>/rootfs (the top one first). */
export function unmountRootfs(bundle: string, count: number): void {
  const target = rootfsDir(bundle);
  for (let i = 0; i < count; i++) unmount(target);
}
