// What a container manager run can leave on the host, and how to remove it:
// processes (shims, conmon, runtimes, container processes), mounts (rootfs
// overlays, podman's per-container shm), cgroup directories. The manager
// harnesses (test/helpers/containerd.ts, podman.ts) use these to tear down
// and to report what is left, and the tests assert that nothing is.
//
// Everything here is found precisely (a command line naming a harness's own
// temporary directory or socket, a cgroup subtree the harness owns, a mount
// point under its directory), never by a program's name: other tests on the
// machine run the same programs.

import { existsSync } from 'node:fs';
import { readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand } from './command.js';

// ---------------------------------------------------------------- processes

export interface ProcessInfo {
  pid: number;
  /** argv joined with spaces. */
  cmdline: string;
}

/** /proc/<pid>/stat's state letter, or undefined when the process is gone. */
async function processState(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'latin1').catch(() => undefined);
  if (stat === undefined) return undefined;
  // "pid (comm) S ppid ...": comm may hold spaces and parentheses.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/**
 * Live processes other than this one. Zombies do not count: a daemonised
 * shim or conmon is re-parented to PID 1, and it is PID 1's job (not the
 * test's) to reap it once it exits.
 */
export async function liveProcesses(): Promise<ProcessInfo[]> {
  const out: ProcessInfo[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '');
    // Kernel threads and zombies have an empty command line.
    if (cmdline === '') continue;
    const state = await processState(pid);
    if (state === undefined || state === 'Z' || state === 'X') continue;
    out.push({ pid, cmdline: cmdline.replace(/\0+$/, '').split('\0').join(' ') });
  }
  return out;
}

/** Live processes whose command line contains `needle`. */
export async function processesMentioning(needle: string): Promise<ProcessInfo[]> {
  return (await liveProcesses()).filter((p) => p.cmdline.includes(needle));
}

/** SIGKILLs `pids` and waits until each is gone (or a zombie). */
export async function killAndWait(pids: number[], timeoutMs = 10_000): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const pid of pids) {
    for (;;) {
      const state = await processState(pid);
      if (state === undefined || state === 'Z' || state === 'X') break;
      if (Date.now() > deadline) throw new Error(`process ${pid} survived SIGKILL`);
      await sleep(20);
    }
  }
}

// ------------------------------------------------------------------- mounts

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
}

/** Undoes mountinfo's octal escapes (`\040` is a space). */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** This process's mount table, from /proc/self/mountinfo. */
export async function readMounts(): Promise<MountEntry[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    const [fsType, source] = right.split(' ');
    if (mountPoint && fsType) out.push({ mountPoint: unescapeMountField(mountPoint), fsType, source: unescapeMountField(source ?? '') });
  }
  return out;
}

/** Mount points at or below `dir`. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return (await readMounts()).map((m) => m.mountPoint).filter((p) => p === dir || p.startsWith(prefix));
}

/**
 * Detaches every mount at or below `dir`, deepest first (a lazy unmount
 * succeeds even while a process still has files open there).
 */
export async function unmountUnder(dir: string): Promise<void> {
  const points = [...new Set(await mountsUnder(dir))].sort((a, b) => b.length - a.length);
  for (const p of points) await runCommand('umount', ['--lazy', p], { timeoutMs: 10_000 });
}

// ------------------------------------------------------------------ cgroups

/** Mount points of every cgroup hierarchy (each v1 controller, and cgroup2). */
export async function cgroupMountPoints(): Promise<string[]> {
  return (await readMounts()).filter((m) => m.fsType === 'cgroup' || m.fsType === 'cgroup2').map((m) => m.mountPoint);
}

/** The directories of cgroup `path` (e.g. `/kata-ts-x`) that exist, one per hierarchy. */
export async function cgroupDirs(path: string): Promise<string[]> {
  return (await cgroupMountPoints()).map((m) => join(m, path)).filter((d) => existsSync(d));
}

async function pidsBelow(dir: string, into: Set<number>): Promise<void> {
  const procs = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  for (const line of procs.split('\n')) if (line.trim() !== '') into.add(Number(line));
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await pidsBelow(join(dir, e.name), into);
}

/** Every process in cgroup `path` or below it, in any hierarchy. */
export async function cgroupPids(path: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const dir of await cgroupDirs(path)) await pidsBelow(dir, pids);
  return [...pids];
}

async function removeCgroupDir(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await removeCgroupDir(join(dir, e.name));
  await rmdir(dir).catch(() => undefined);
}

/**
 * Removes cgroup `path` and its children from every hierarchy, leaves first.
 * Best effort: a directory that still holds a process stays (and shows up
 * in cgroupDirs).
 */
export async function removeCgroupTree(path: string): Promise<void> {
  for (const dir of await cgroupDirs(path)) await removeCgroupDir(dir);
}

// ------------------------------------------------------------------ waiting

/**
 * Calls `find` until it reports nothing or `timeoutMs` passes; returns the
 * last report. Shims and conmon exit a moment after the command that
 * stopped their container returns, so a check right away could see them.
 */
export async function settled(find: () => Promise<string[]>, timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await find();
    if (found.length === 0 || Date.now() > deadline) return found;
    await sleep(50);
  }
}
