// Shared helpers for the cgroup tests: real cgroups on this machine (created
// under the test process's own cgroup, removed afterwards), child processes
// placed in them, and fake cgroup trees for what the machine cannot offer.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  addProcess,
  cgroupPids,
  createCgroup,
  detectCgroupLayout,
  removeCgroup,
  type Cgroup,
  type CgroupLayout,
} from '../../../src/agent/cgroups/index.js';

export const isRoot = process.getuid?.() === 0;

/** The machine's layout, or null when cgroups cannot be used here (not root, none mounted). */
export async function machineLayout(): Promise<CgroupLayout | null> {
  if (!isRoot) return null;
  try {
    return await detectCgroupLayout();
  } catch {
    return null;
  }
}

/** Why the real-v1 tests cannot run here, or undefined when they can. */
export function v1SkipReason(layout: CgroupLayout | null, ...controllers: string[]): string | undefined {
  if (!layout) return 'needs root and mounted cgroups';
  const missing = controllers.filter((c) => layout.v1[c] === undefined);
  return missing.length > 0 ? `no cgroup v1 ${missing.join(', ')} here` : undefined;
}

/**
 * A cgroup2-only view of the machine's cgroup2 mount with no controllers:
 * enough for the core features (freezer, CPU time), and createCgroup then
 * leaves the host's controller delegation alone.
 */
export function coreV2Layout(layout: CgroupLayout | null): CgroupLayout | null {
  if (!layout?.unified) return null;
  return { mode: 'v2', root: layout.unified, v1: {}, unified: layout.unified, unifiedControllers: [], mountRoots: {} };
}

export function testCgroupName(tag: string): string {
  return `kata-ts-test-${tag}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Creates a cgroup under the test process's own cgroup in every hierarchy. */
export async function makeTestCgroup(tag: string, layout: CgroupLayout): Promise<Cgroup> {
  return createCgroup(testCgroupName(tag), { layout });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined. */
export async function waitFor<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Thaws, kills everything in, and removes a test cgroup. */
export async function destroyTestCgroup(cg: Cgroup): Promise<void> {
  const freezer = cg.controllerDir('freezer');
  if (freezer?.version === 1) {
    await fsp.writeFile(join(freezer.dir, 'freezer.state'), 'THAWED').catch(() => undefined);
  } else if (freezer?.version === 2) {
    await fsp.writeFile(join(freezer.dir, 'cgroup.freeze'), '0').catch(() => undefined);
  }
  for (let i = 0; i < 250; i++) {
    const pids = await cgroupPids(cg);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await sleep(20);
  }
  await removeCgroup(cg);
}

export interface CgroupChild {
  child: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `command` inside `cg` from its first instruction: a shell is started,
 * moved into the cgroup while it waits on stdin, then released to exec the
 * command.
 */
export async function spawnInCgroup(cg: Cgroup, command: string[]): Promise<CgroupChild> {
  const child = spawn('sh', ['-c', 'read _go; exec "$@"', 'sh', ...command], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', reject);
  });
  try {
    await addProcess(cg, pid);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  child.stdin!.end('\n');
  return { child, pid, exited };
}

/** Kills a child if it still runs and waits for it. */
export async function killChild(c: CgroupChild | undefined): Promise<void> {
  if (!c) return;
  if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  await c.exited;
}

/**
 * Writes a fake cgroup tree: keys are paths relative to a new temp dir,
 * values the file contents (a key ending in "/" makes an empty directory).
 */
export async function makeFakeTree(files: Record<string, string>): Promise<string> {
  const root = await fsp.mkdtemp(join(tmpdir(), 'kata-ts-cgfake-'));
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    if (path.endsWith('/')) {
      await fsp.mkdir(full, { recursive: true });
    } else {
      await fsp.mkdir(dirname(full), { recursive: true });
      await fsp.writeFile(full, content);
    }
  }
  return root;
}

export async function removeFakeTree(root: string | undefined): Promise<void> {
  if (root) await fsp.rm(root, { recursive: true, force: true });
}

export async function readTrimmed(file: string): Promise<string> {
  return (await fsp.readFile(file, 'utf8')).trim();
}
