// A handle on one cgroup: where each controller's files live for it, in
// whichever hierarchy (v1 or v2) serves that controller. Plus the few
// lifecycle operations around it: create, join, list, remove.
import { promises as fsp } from 'node:fs';
import { join, relative } from 'node:path';
import { CgroupError, errnoOf, fileError } from './errors.js';
import { exists, readOptional, writeCgroupFile } from './fs.js';
import { detectCgroupLayout, type CgroupLayout } from './layout.js';
import { joinCgroupPath, parseCgroupsPath, parseProcCgroup } from './path.js';

/** Controllers the agent reads or writes, under their cgroup v1 names. */
export type ControllerName =
  | 'cpu'
  | 'cpuacct'
  | 'cpuset'
  | 'memory'
  | 'pids'
  | 'blkio'
  | 'hugetlb'
  | 'freezer'
  | 'devices'
  | 'net_cls'
  | 'net_prio';

/** Where a controller's interface files are for one cgroup. */
export interface ControllerDir {
  version: 1 | 2;
  dir: string;
}

/** cgroup v2 controller that does the job of a v1 one. */
const V2_NAME: Partial<Record<ControllerName, string>> = {
  cpu: 'cpu',
  cpuset: 'cpuset',
  memory: 'memory',
  pids: 'pids',
  blkio: 'io',
  hugetlb: 'hugetlb',
};

/**
 * Features that every cgroup2 directory has without a controller: CPU time
 * accounting (cpu.stat usage_usec) and the freezer (cgroup.freeze).
 * Device control on v2 is an eBPF program, not a file.
 */
const V2_CORE: readonly ControllerName[] = ['cpuacct', 'freezer', 'devices'];

export class Cgroup {
  constructor(
    /** The path as given (or, for cgroupOfPid, the path of the process's main hierarchy). */
    readonly path: string,
    readonly layout: CgroupLayout,
    /** v1 controller (or "name=<name>") -> this cgroup's directory in that hierarchy. */
    readonly v1Dirs: Readonly<Record<string, string>>,
    /** This cgroup's directory in the cgroup2 hierarchy, or null. */
    readonly v2Dir: string | null,
  ) {}

  /**
   * Where `controller` is served for this cgroup: by its v1 hierarchy when one
   * is mounted, else by cgroup2 when it offers the controller. Null when
   * neither does.
   */
  controllerDir(controller: ControllerName): ControllerDir | null {
    const v1 = this.v1Dirs[controller];
    if (v1 !== undefined) return { version: 1, dir: v1 };
    if (this.v2Dir === null) return null;
    if (V2_CORE.includes(controller)) return { version: 2, dir: this.v2Dir };
    const v2Name = V2_NAME[controller];
    if (v2Name !== undefined && this.layout.unifiedControllers.includes(v2Name)) {
      return { version: 2, dir: this.v2Dir };
    }
    return null;
  }

  /** Every directory of this cgroup, once each (co-mounted controllers share one). */
  allDirs(): string[] {
    const dirs = new Set(Object.values(this.v1Dirs));
    if (this.v2Dir !== null) dirs.add(this.v2Dir);
    return [...dirs];
  }

  /** True when at least one of the cgroup's directories exists. */
  async exists(): Promise<boolean> {
    for (const d of this.allDirs()) if (await exists(d)) return true;
    return false;
  }
}

export interface CgroupOptions {
  /** Where the hierarchies are mounted; default /sys/fs/cgroup. */
  root?: string;
  /** A layout found earlier (skips detection). */
  layout?: CgroupLayout;
  /** Where /proc is; default /proc. */
  procRoot?: string;
}

/** The directory that shows hierarchy path `hierPath` under a mount. */
function dirIn(layout: CgroupLayout, mountPoint: string, hierPath: string): string {
  const mountRoot = layout.mountRoots[mountPoint];
  let rel = hierPath;
  if (mountRoot !== undefined && mountRoot !== '/') {
    if (hierPath === mountRoot) rel = '/';
    else if (hierPath.startsWith(`${mountRoot}/`)) rel = hierPath.slice(mountRoot.length);
  }
  const dir = join(mountPoint, rel);
  return dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
}

async function layoutFor(options: CgroupOptions): Promise<CgroupLayout> {
  return options.layout ?? (await detectCgroupLayout(options.root));
}

/** Builds the handle for a cgroups path without checking that it exists. */
export async function resolveCgroup(cgroupsPath: string, options: CgroupOptions = {}): Promise<Cgroup> {
  const parsed = parseCgroupsPath(cgroupsPath);
  const layout = await layoutFor(options);
  let base = { v1: {} as Record<string, string>, v2: null as string | null };
  if (!parsed.absolute) {
    const self = await readOptional(join(options.procRoot ?? '/proc', 'self', 'cgroup'));
    if (self !== null) base = parseProcCgroup(self);
  }
  const v1Dirs: Record<string, string> = {};
  for (const [controller, mountPoint] of Object.entries(layout.v1)) {
    const hierPath = joinCgroupPath(base.v1[controller] ?? '/', parsed.segments);
    v1Dirs[controller] = dirIn(layout, mountPoint, hierPath);
  }
  const v2Dir =
    layout.unified === null ? null : dirIn(layout, layout.unified, joinCgroupPath(base.v2 ?? '/', parsed.segments));
  return new Cgroup(cgroupsPath, layout, v1Dirs, v2Dir);
}

/**
 * Opens an existing cgroup by its OCI cgroupsPath. Throws CgroupError
 * NOT_FOUND when no hierarchy has it.
 */
export async function openCgroup(cgroupsPath: string, options: CgroupOptions = {}): Promise<Cgroup> {
  const cg = await resolveCgroup(cgroupsPath, options);
  if (!(await cg.exists())) {
    throw new CgroupError('NOT_FOUND', `cgroup ${JSON.stringify(cgroupsPath)} does not exist`);
  }
  return cg;
}

/** Finds the cgroup a process is in, from /proc/<pid>/cgroup. */
export async function cgroupOfPid(pid: number, options: CgroupOptions = {}): Promise<Cgroup> {
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new CgroupError('INVALID_ARGUMENT', `pid must be a positive integer, got ${pid}`);
  }
  const text = await readOptional(join(options.procRoot ?? '/proc', String(pid), 'cgroup'));
  if (text === null) throw new CgroupError('NOT_FOUND', `process ${pid} does not exist`);
  const proc = parseProcCgroup(text);
  const layout = await layoutFor(options);
  const v1Dirs: Record<string, string> = {};
  for (const [controller, mountPoint] of Object.entries(layout.v1)) {
    const hierPath = proc.v1[controller];
    if (hierPath !== undefined) v1Dirs[controller] = dirIn(layout, mountPoint, hierPath);
  }
  const v2Dir = layout.unified !== null && proc.v2 !== null ? dirIn(layout, layout.unified, proc.v2) : null;
  const path = proc.v2 ?? proc.v1.memory ?? Object.values(proc.v1)[0] ?? '/';
  return new Cgroup(path, layout, v1Dirs, v2Dir);
}

async function mkdirIfMissing(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir);
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw fileError('creating', dir, err);
  }
}

/**
 * A v1 cpuset cgroup starts with empty cpuset.cpus and cpuset.mems, and a
 * process cannot join it until both are set: copy the parent's.
 */
async function inheritCpuset(parent: string, child: string): Promise<void> {
  for (const name of ['cpuset.cpus', 'cpuset.mems']) {
    const mine = await readOptional(join(child, name));
    if (mine === null || mine.trim() !== '') continue;
    const theirs = (await readOptional(join(parent, name)))?.trim() ?? '';
    if (theirs !== '') await writeCgroupFile(join(child, name), theirs);
  }
}

/**
 * cgroup v2 only lets a child use the controllers its parent lists in
 * cgroup.subtree_control: turn on every controller the parent has.
 */
async function enableSubtreeControllers(parent: string): Promise<void> {
  const available = (await readOptional(join(parent, 'cgroup.controllers')))?.split(/\s+/).filter(Boolean) ?? [];
  const enabled = new Set((await readOptional(join(parent, 'cgroup.subtree_control')))?.split(/\s+/) ?? []);
  const missing = available.filter((c) => !enabled.has(c));
  if (missing.length === 0) return;
  try {
    await writeCgroupFile(join(parent, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
  } catch (err) {
    throw new CgroupError(
      'FAILED_PRECONDITION',
      `cannot enable controllers ${missing.join(', ')} in ${parent} (a cgroup2 parent with processes of its own cannot delegate controllers)`,
      { cause: err },
    );
  }
}

/** Creates every missing level from `mountPoint` down to `dir`. */
async function createLevels(mountPoint: string, dir: string, onLevel: (parent: string, child: string) => Promise<void>) {
  const segments = relative(mountPoint, dir).split('/').filter((s) => s !== '');
  let current = mountPoint;
  for (const s of segments) {
    const child = join(current, s);
    if (!(await exists(child))) {
      await onLevel(current, child);
    }
    current = child;
  }
}

/**
 * Creates a cgroup (every missing level, in every hierarchy) and returns its
 * handle. Existing levels are left as they are.
 */
export async function createCgroup(cgroupsPath: string, options: CgroupOptions = {}): Promise<Cgroup> {
  const cg = await resolveCgroup(cgroupsPath, options);
  const { layout } = cg;
  const cpusetMount = layout.v1.cpuset;
  const done = new Set<string>();
  for (const [controller, mountPoint] of Object.entries(layout.v1)) {
    const dir = cg.v1Dirs[controller]!;
    if (done.has(dir)) continue;
    done.add(dir);
    await createLevels(mountPoint, dir, async (parent, child) => {
      await mkdirIfMissing(child);
      if (mountPoint === cpusetMount) await inheritCpuset(parent, child);
    });
  }
  if (layout.unified !== null && cg.v2Dir !== null) {
    await createLevels(layout.unified, cg.v2Dir, async (parent, child) => {
      // On a pure v2 host every controller lives here and must be passed
      // down. In hybrid mode the v1 hierarchies do that job and cgroup2 only
      // tracks processes: its root's delegation is left as the host set it.
      if (layout.mode === 'v2' && layout.unifiedControllers.length > 0) await enableSubtreeControllers(parent);
      await mkdirIfMissing(child);
    });
  }
  return cg;
}

/** Moves a process (all its threads) into the cgroup, in every hierarchy. */
export async function addProcess(cg: Cgroup, pid: number): Promise<void> {
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new CgroupError('INVALID_ARGUMENT', `pid must be a positive integer, got ${pid}`);
  }
  for (const dir of cg.allDirs()) {
    await writeCgroupFile(join(dir, 'cgroup.procs'), String(pid));
  }
}

/** The processes in the cgroup (union over its hierarchies), ascending. */
export async function cgroupPids(cg: Cgroup): Promise<number[]> {
  const pids = new Set<number>();
  for (const dir of cg.allDirs()) {
    const text = await readOptional(join(dir, 'cgroup.procs'));
    if (text === null) continue;
    for (const s of text.split('\n')) if (/^\d+$/.test(s)) pids.add(Number(s));
  }
  return [...pids].sort((a, b) => a - b);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Removes a cgroup directory and its child cgroups, waiting out EBUSY. */
async function removeTree(dir: string, deadline: number): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return;
    throw fileError('listing', dir, err);
  }
  for (const e of entries) if (e.isDirectory()) await removeTree(join(dir, e.name), deadline);
  for (;;) {
    try {
      await fsp.rmdir(dir);
      return;
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === 'ENOENT') return;
      // EBUSY: processes are still leaving (a killed task lingers until reaped).
      if (errno === 'EBUSY' && Date.now() < deadline) {
        await sleep(20);
        continue;
      }
      throw fileError('removing', dir, err);
    }
  }
}

/**
 * Removes the cgroup from every hierarchy, child cgroups first. The cgroup
 * must hold no live processes; removal waits up to `timeoutMs` for exiting
 * ones to go. A cgroup that is already gone is not an error.
 */
export async function removeCgroup(cg: Cgroup, options: { timeoutMs?: number } = {}): Promise<void> {
  const mountPoints = new Set([...Object.values(cg.layout.v1), cg.layout.unified]);
  for (const dir of cg.allDirs()) {
    if (mountPoints.has(dir)) {
      throw new CgroupError('INVALID_ARGUMENT', `refusing to remove the root cgroup ${dir}`);
    }
  }
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  for (const dir of cg.allDirs()) await removeTree(dir, deadline);
}
