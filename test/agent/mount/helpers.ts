// Shared by the mount and storage tests: a temporary directory to mount in
// (with everything mounted below it detached and the tree removed at the
// end), mountinfo queries, a recording fake of the mount system calls, and a
// loop device holding an ext4 filesystem.
import { execFileSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { create } from '@bufbuild/protobuf';

import { MNT, nativeMountSyscalls, type MountSyscalls } from '../../../src/agent/mount/mount.js';
import { readMountInfo, type MountInfoEntry } from '../../../src/agent/mount/mountinfo.js';
import { StorageSchema, type Storage } from '../../../src/protocols/gen/agent_pb.js';

/** Why tests that mount cannot run here, or undefined when they can. */
export function mountTestsSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (mount(2))';
  try {
    if (typeof nativeMountSyscalls().umount2 !== 'function') return 'the native addon was built without native/src/mount.c';
  } catch (err) {
    return `the native addon is not built: ${(err as Error).message}`;
  }
  return undefined;
}

/** Whether the running kernel offers filesystem `fstype`. */
export async function kernelHasFilesystem(fstype: string): Promise<boolean> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile('/proc/filesystems', 'utf8');
  return text.split('\n').some((line) => line.split('\t')[1] === fstype);
}

export interface TempRoot {
  /** The temporary directory (canonical). */
  dir: string;
  /** dir/root: the storage root of the tests. */
  root: string;
  /** dir/outside: a directory next to the root that storages must not reach. */
  outside: string;
  /** Detaches every mount below dir, then removes dir. */
  cleanup(): Promise<void>;
}

export async function createTempRoot(prefix = 'kata-ts-storage-'): Promise<TempRoot> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), prefix)));
  const root = join(dir, 'root');
  const outside = join(dir, 'outside');
  await mkdir(root);
  await mkdir(outside);
  return {
    dir,
    root,
    outside,
    cleanup: async () => {
      await detachAllBelow(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Mounts whose mount point is `dir` or below it, in mountinfo order. */
export async function mountsBelow(dir: string): Promise<MountInfoEntry[]> {
  return (await readMountInfo()).filter((e) => e.mountPoint === dir || e.mountPoint.startsWith(`${dir}/`));
}

/** The topmost mount at exactly `path`, if any. */
export async function mountAt(path: string): Promise<MountInfoEntry | undefined> {
  return (await readMountInfo()).filter((e) => e.mountPoint === path).at(-1);
}

async function detachAllBelow(dir: string): Promise<void> {
  const sys = nativeMountSyscalls();
  for (let round = 0; round < 10; round++) {
    const mounts = await mountsBelow(dir);
    if (mounts.length === 0) return;
    // deepest (and newest) first
    mounts.sort((a, b) => b.mountPoint.length - a.mountPoint.length || b.mountId - a.mountId);
    for (const m of mounts) {
      try {
        sys.umount2(m.mountPoint, MNT.DETACH);
      } catch {
        // already gone with its parent
      }
    }
  }
}

/** A Storage message with the given fields (the rest at their defaults). */
export function storage(fields: Partial<Omit<Storage, '$typeName' | '$unknown'>>): Storage {
  return create(StorageSchema, fields);
}

/** One recorded mount(2) call; a /proc/self/fd/N target is shown as the path it stood for. */
export interface RecordedMount {
  source: string | null;
  target: string;
  fstype: string | null;
  flags: number;
  data: string | null;
}

/** Fake mount(2)/umount2(2) that only record (for drivers this machine cannot mount). */
export function recordingSyscalls(): { sys: MountSyscalls; mounts: RecordedMount[]; unmounts: Array<{ target: string; flags: number }> } {
  const mounts: RecordedMount[] = [];
  const unmounts: Array<{ target: string; flags: number }> = [];
  const real = (p: string | null): string | null => (p !== null && p.startsWith('/proc/self/fd/') ? readlinkSync(p) : p);
  return {
    mounts,
    unmounts,
    sys: {
      mount: (source, target, fstype, flags, data) => {
        mounts.push({ source: real(source), target: real(target)!, fstype, flags, data });
      },
      umount2: (target, flags) => {
        unmounts.push({ target, flags });
      },
    },
  };
}

/** Why loop device tests cannot run here, or undefined. */
export function loopDeviceSkipReason(): string | undefined {
  const reason = mountTestsSkipReason();
  if (reason !== undefined) return reason;
  if (!existsSync('/dev/loop-control')) return 'needs loop devices (/dev/loop-control)';
  for (const tool of ['losetup', 'mkfs.ext4']) {
    if (!['/usr/sbin', '/sbin', '/usr/bin', '/bin'].some((d) => existsSync(join(d, tool)))) {
      return `needs ${tool} (packages util-linux / e2fsprogs)`;
    }
  }
  return undefined;
}

export interface LoopDevice {
  /** /dev/loopN */
  device: string;
  detach(): void;
}

/**
 * Makes an 8 MiB ext4 image in `dir` holding the file `marker` with
 * `content` (mkfs.ext4 -d fills it without mounting), and attaches it to a
 * free loop device.
 */
export async function ext4LoopDevice(dir: string, marker: string, content: string): Promise<LoopDevice> {
  const image = join(dir, `disk-${marker}.img`);
  const tree = join(dir, `tree-${marker}`);
  await mkdir(tree);
  await writeFile(join(tree, marker), content);
  execFileSync('truncate', ['-s', '8M', image]);
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', tree, image], { stdio: 'ignore' });
  const device = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
  return {
    device,
    detach: () => execFileSync('losetup', ['-d', device]),
  };
}
