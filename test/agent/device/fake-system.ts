// A fake guest for device tests: a temporary directory holding a sysfs tree
// (plain directories, files and symlinks shaped like the kernel's) and a
// /dev directory with REAL device nodes (mknod), so the code under test
// reads genuine st_rdev values. This machine has no hot-pluggable PCI bus;
// uevents are injected into a real UeventMonitor instead.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { DeviceContext } from '../../../src/agent/device/handler.js';
import { UeventMonitor } from '../../../src/agent/uevent/monitor.js';
import { makeUevent, type Uevent } from '../../../src/agent/uevent/uevent.js';

export interface FakeSystem {
  readonly root: string;
  readonly sysfs: string;
  readonly dev: string;
  readonly monitor: UeventMonitor;
  /** A context over this system with the given hotplug timeout. */
  ctx(hotplugTimeoutMs?: number): DeviceContext;
  /** Creates a file (and its parents) below the sysfs root. */
  sysFile(rel: string, content?: string): Promise<string>;
  /** Creates a directory (and parents) below the sysfs root. */
  sysDir(rel: string): Promise<string>;
  /** Creates a symlink below the sysfs root pointing to `target` (verbatim). */
  sysLink(rel: string, target: string): Promise<string>;
  /** Creates a real device node below the /dev root. */
  node(rel: string, type: 'b' | 'c', major: number, minor: number): Promise<string>;
  cleanup(): Promise<void>;
}

let counter = 0;

export async function makeFakeSystem(): Promise<FakeSystem> {
  const root = await mkdtemp(join(tmpdir(), `kata-ts-dev-${process.pid}-${counter++}-`));
  const sysfs = join(root, 'sys');
  const dev = join(root, 'dev');
  await mkdir(sysfs);
  await mkdir(dev);
  const monitor = new UeventMonitor({ sysfsRoot: sysfs });
  return {
    root,
    sysfs,
    dev,
    monitor,
    ctx: (hotplugTimeoutMs = 2000) => ({ sysfsRoot: sysfs, devRoot: dev, uevents: monitor, hotplugTimeoutMs }),
    async sysFile(rel, content = '') {
      const p = join(sysfs, rel);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, content);
      return p;
    },
    async sysDir(rel) {
      const p = join(sysfs, rel);
      await mkdir(p, { recursive: true });
      return p;
    },
    async sysLink(rel, target) {
      const p = join(sysfs, rel);
      await mkdir(dirname(p), { recursive: true });
      await symlink(target, p);
      return p;
    },
    async node(rel, type, major, minor) {
      const p = join(dev, rel);
      await mkdir(dirname(p), { recursive: true });
      execFileSync('mknod', [p, type, String(major), String(minor)]);
      return p;
    },
    async cleanup() {
      monitor.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

let seq = 1000;

/** An "add" event for a block device. */
export function blockAdd(devpath: string, devname: string, extra: Record<string, string> = {}): Uevent {
  return makeUevent({ ACTION: 'add', DEVPATH: devpath, SUBSYSTEM: 'block', DEVNAME: devname, SEQNUM: String(seq++), ...extra });
}

/** An event with the given fields (ACTION defaults to "add"). */
export function uevent(fields: Record<string, string>): Uevent {
  return makeUevent({ ACTION: 'add', SEQNUM: String(seq++), ...fields });
}

/**
 * Resolves once `count` waiters are registered on the monitor, yielding to
 * the event loop meanwhile. If `work` settles first (e.g. a handler failed
 * before it got to waiting), resolves too, so the test sees that outcome.
 */
export async function untilWaiting(monitor: UeventMonitor, work: Promise<unknown>, count = 1): Promise<void> {
  let settled = false;
  work.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (monitor.waiterCount < count && !settled) await nextTurn();
}
