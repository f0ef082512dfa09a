// Cleaning up after a monitor that could not clean up itself (killed,
// crashed): its VM's processes died with it (they carry a parent-death
// signal, see qemu/child.ts), but mounts it made under the VM directory
// (the shared directory and the container files bound into it) stay in the
// host's mount table until someone unmounts them.
import { readFile, rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MNT, nativeMountSyscalls } from '../../agent/mount/mount.js';
import type { ContainerPaths } from './layout.js';

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
export async function mountsBelow(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  // Later mounts may sit on earlier ones: undo in reverse order, deepest first.
  return points.reverse().sort((a, b) => b.split('/').length - a.split('/').length);
}

/** Unmounts everything under the VM directory and removes it and the task socket. */
export async function removeVmLeftovers(paths: Pick<ContainerPaths, 'vmDir' | 'taskSocket'>): Promise<void> {
  const sys = nativeMountSyscalls();
  for (const point of await mountsBelow(paths.vmDir)) {
    try {
      sys.umount2(point, MNT.DETACH | MNT.UMOUNT_NOFOLLOW);
    } catch {
      // already gone with its parent
    }
  }
  // Never remove recursively through a mount: it would delete the files of
  // whatever is bound there (a container's rootfs).
  const left = await mountsBelow(paths.vmDir);
  if (left.length > 0) throw new Error(`cannot unmount ${left.join(', ')}: leaving ${paths.vmDir} in place`);
  await rm(paths.vmDir, { recursive: true, force: true });
  await rm(paths.taskSocket, { force: true });
  // The parent of VM directories goes with the last of them.
  await rmdir(dirname(paths.vmDir)).catch(() => {});
}
