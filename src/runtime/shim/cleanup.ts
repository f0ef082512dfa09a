// What a shim that died without cleaning up (SIGKILL, a crash, the OOM
// killer) leaves on the host, and removing it. QEMU and virtiofsd carry a
// parent-death signal (qemu/child.ts) and die with the shim, but the kernel
// may still be tearing them down; mounts the shim made stay until someone
// unmounts them: the shared directory under the VM directory and the
// container rootfs stacked on <bundle>/rootfs.
import { readdir, readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { MNT, nativeMountSyscalls } from '../../agent/mount/mount.js';
import { mountsBelow } from '../monitor/cleanup.js';
import type { ShimPaths } from './layout.js';

/** Live processes (zombies excluded) other than this one whose command line contains `needle`. */
export async function processesMentioning(needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'latin1').catch(() => '');
    if (!cmdline.includes(needle)) continue;
    if (!(await isLive(Number(name)))) continue;
    out.push(Number(name));
  }
  return out;
}

async function isLive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'latin1').catch(() => undefined);
  if (stat === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** SIGKILLs `pids` and waits (bounded) until each is gone or a zombie. Returns those still alive. */
export async function killAndWait(pids: readonly number[], timeoutMs = 10_000): Promise<number[]> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + timeoutMs;
  let alive = [...pids];
  while (alive.length > 0 && Date.now() < deadline) {
    const still: number[] = [];
    for (const pid of alive) if (await isLive(pid)) still.push(pid);
    alive = still;
    if (alive.length > 0) await sleep(20);
  }
  return alive;
}

/** Unmounts (lazily, deepest first) everything at or below `dir`; returns what could not be unmounted. */
export async function unmountBelow(dir: string): Promise<string[]> {
  const sys = nativeMountSyscalls();
  for (const point of await mountsBelow(dir)) {
    try {
      sys.umount2(point, MNT.DETACH | MNT.UMOUNT_NOFOLLOW);
    } catch {
      // gone already, with the mount it sat on
    }
  }
  return mountsBelow(dir);
}

/**
 * Removes what a dead shim left: its VM's processes, the mounts under its
 * directory, the directory and the socket. Only for a shim whose process is
 * gone (see record.ts). Throws if a mount stays: the directory is then left
 * in place rather than deleted through the mount.
 */
export async function removeShimLeftovers(paths: Pick<ShimPaths, 'dir' | 'socket'>): Promise<void> {
  const survivors = await killAndWait(await processesMentioning(paths.dir));
  if (survivors.length > 0) throw new Error(`processes ${survivors.join(', ')} of ${paths.dir} did not die`);
  const left = await unmountBelow(paths.dir);
  if (left.length > 0) throw new Error(`cannot unmount ${left.join(', ')}: leaving ${paths.dir} in place`);
  await rm(paths.dir, { recursive: true, force: true });
  await rm(paths.socket, { force: true });
}
