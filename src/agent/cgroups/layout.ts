// Which cgroup hierarchies are mounted where.
//
// Three shapes exist in the wild:
// - v2 ("unified"): one cgroup2 mount at the root (/sys/fs/cgroup). This is
//   what the agent mounts inside the guest VM.
// - v1 ("legacy"): a cgroup v1 mount per controller (or per group of
//   controllers, "cpu,cpuacct") in directories under the root.
// - hybrid: v1 controller mounts plus a cgroup2 mount (usually at
//   <root>/unified) that holds processes but few or no controllers.
//
// The layout is read from /proc/self/mountinfo when the root holds real
// mounts. A root that holds none (a fake tree built by a test) is recognised
// by its files: cgroup2 directories have `cgroup.controllers`, v1 hierarchy
// roots have `cgroup.procs` and are named after their controllers.
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { CgroupError } from './errors.js';
import { exists, readOptional } from './fs.js';

export type CgroupMode = 'v1' | 'v2' | 'hybrid';

export interface CgroupLayout {
  mode: CgroupMode;
  /** The directory the hierarchies were looked for in. */
  root: string;
  /**
   * cgroup v1 controller -> mount point. Co-mounted controllers share a
   * directory. Named hierarchies appear as "name=<name>" (e.g. name=systemd).
   */
  v1: Record<string, string>;
  /** Mount point of the cgroup2 hierarchy, or null. */
  unified: string | null;
  /** Controllers the cgroup2 hierarchy offers (its root's cgroup.controllers). */
  unifiedControllers: string[];
  /**
   * Mount point -> the path inside the hierarchy that is mounted there, for
   * mounts that do not show the hierarchy's root (bind mounts, cgroup
   * namespaces). Mounts of "/" are not listed.
   */
  mountRoots: Record<string, string>;
}

/** cgroup v1 controller names the kernel may show as mount options. */
export const V1_CONTROLLERS: readonly string[] = [
  'cpu',
  'cpuacct',
  'cpuset',
  'memory',
  'devices',
  'freezer',
  'blkio',
  'pids',
  'hugetlb',
  'net_cls',
  'net_prio',
  'perf_event',
  'rdma',
  'misc',
];

export interface MountInfoEntry {
  /** Path inside the mounted filesystem that is shown at the mount point. */
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

/** Undoes mountinfo's octal escapes (\040 for a space, ...). */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses /proc/<pid>/mountinfo (see proc(5)). */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    if (pre.length < 5 || post.length < 3) continue;
    out.push({
      root: unescapeMountPath(pre[3]!),
      mountPoint: unescapeMountPath(pre[4]!),
      fsType: post[0]!,
      superOptions: post[2]!.split(','),
    });
  }
  return out;
}

/** The controller names found in a v1 mount's options or directory name. */
function v1ControllersOf(names: string[]): string[] {
  const out: string[] = [];
  for (const n of names) {
    if (V1_CONTROLLERS.includes(n) || n.startsWith('name=')) out.push(n);
  }
  return out;
}

async function readUnifiedControllers(mountPoint: string): Promise<string[]> {
  const text = await readOptional(join(mountPoint, 'cgroup.controllers'));
  return text === null ? [] : text.split(/\s+/).filter((s) => s !== '');
}

function modeOf(v1: Record<string, string>, unified: string | null): CgroupMode {
  const hasV1 = Object.keys(v1).length > 0;
  if (hasV1 && unified !== null) return 'hybrid';
  if (hasV1) return 'v1';
  return 'v2';
}

function isAtOrUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/** Builds the layout from the cgroup mounts listed in mountinfo. */
async function layoutFromMounts(root: string, mounts: MountInfoEntry[]): Promise<CgroupLayout | null> {
  const v1: Record<string, string> = {};
  const mountRoots: Record<string, string> = {};
  let unified: string | null = null;
  let found = false;
  for (const m of mounts) {
    if (m.fsType !== 'cgroup' && m.fsType !== 'cgroup2') continue;
    if (!isAtOrUnder(m.mountPoint, root)) continue;
    found = true;
    if (m.root !== '/') mountRoots[m.mountPoint] = m.root;
    if (m.fsType === 'cgroup2') {
      unified = m.mountPoint;
    } else {
      for (const c of v1ControllersOf(m.superOptions)) v1[c] ??= m.mountPoint;
    }
  }
  if (!found) return null;
  const unifiedControllers = unified === null ? [] : await readUnifiedControllers(unified);
  return { mode: modeOf(v1, unified), root, v1, unified, unifiedControllers, mountRoots };
}

/** Builds the layout by looking at the files of a tree that holds no mounts. */
async function layoutFromFiles(root: string): Promise<CgroupLayout | null> {
  if (await exists(join(root, 'cgroup.controllers'))) {
    return {
      mode: 'v2',
      root,
      v1: {},
      unified: root,
      unifiedControllers: await readUnifiedControllers(root),
      mountRoots: {},
    };
  }
  let names: string[];
  try {
    names = (await fsp.readdir(root)).sort();
  } catch {
    return null;
  }
  const v1: Record<string, string> = {};
  let unified: string | null = null;
  for (const name of names) {
    const dir = join(root, name);
    // Symlinks such as cpu -> cpu,cpuacct resolve to the directory they name.
    let real: string;
    try {
      real = await fsp.realpath(dir);
      if (!(await fsp.stat(real)).isDirectory()) continue;
    } catch {
      continue;
    }
    if (await exists(join(real, 'cgroup.controllers'))) {
      unified ??= real;
    } else if (await exists(join(real, 'cgroup.procs'))) {
      const controllers = v1ControllersOf(name.split(',').map((n) => (n === 'systemd' ? 'name=systemd' : n)));
      for (const c of controllers) v1[c] ??= real;
    }
  }
  if (Object.keys(v1).length === 0 && unified === null) return null;
  const unifiedControllers = unified === null ? [] : await readUnifiedControllers(unified);
  return { mode: modeOf(v1, unified), root, v1, unified, unifiedControllers, mountRoots: {} };
}

export interface DetectOptions {
  /** mountinfo file to read; defaults to /proc/self/mountinfo. */
  mountInfoFile?: string;
}

/**
 * Finds the cgroup hierarchies under `root`. Throws CgroupError
 * (FAILED_PRECONDITION) when there are none.
 */
export async function detectCgroupLayout(
  root = '/sys/fs/cgroup',
  options: DetectOptions = {},
): Promise<CgroupLayout> {
  const absRoot = resolve(root);
  const mountInfo = await readOptional(options.mountInfoFile ?? '/proc/self/mountinfo');
  const layout =
    (mountInfo === null ? null : await layoutFromMounts(absRoot, parseMountInfo(mountInfo))) ??
    (await layoutFromFiles(absRoot));
  if (layout === null) {
    throw new CgroupError('FAILED_PRECONDITION', `no cgroup hierarchy found under ${absRoot}`);
  }
  return layout;
}
