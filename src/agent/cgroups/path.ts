// Cgroup path handling: the OCI spec's `linux.cgroupsPath` and the
// /proc/<pid>/cgroup file.
import { CgroupError } from './errors.js';

export interface ParsedCgroupsPath {
  /** True for "/a/b": placed under the hierarchy roots. False for "a/b": under the agent's own cgroup. */
  absolute: boolean;
  /** The path's components, never empty strings, "." or "..". */
  segments: string[];
}

/**
 * Expands a systemd slice name into its directory path, the way systemd
 * nests slices: "a-b-c.slice" lives in "a.slice/a-b.slice/a-b-c.slice".
 */
export function expandSlice(slice: string): string[] {
  if (slice === '' || slice === '-.slice') return [];
  if (!slice.endsWith('.slice') || slice.includes('/')) {
    throw new CgroupError('INVALID_ARGUMENT', `invalid systemd slice name ${JSON.stringify(slice)}`);
  }
  const stem = slice.slice(0, -'.slice'.length);
  if (stem === '' || stem.startsWith('-') || stem.endsWith('-') || stem.includes('--')) {
    throw new CgroupError('INVALID_ARGUMENT', `invalid systemd slice name ${JSON.stringify(slice)}`);
  }
  const parts = stem.split('-');
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) out.push(`${parts.slice(0, i).join('-')}.slice`);
  return out;
}

/**
 * Parses an OCI cgroupsPath.
 *
 * - "/kata/abc" is absolute: the same path under every hierarchy root.
 * - "kata/abc" is relative: runc and crun place it under the runtime's own
 *   cgroup; inside the guest the agent runs in the root cgroup, so both
 *   readings agree there.
 * - "slice:prefix:name" is the systemd driver's form; it names the scope
 *   "<slice path>/<prefix>-<name>.scope" (an absolute path).
 */
export function parseCgroupsPath(path: string): ParsedCgroupsPath {
  if (typeof path !== 'string' || path === '') {
    throw new CgroupError('INVALID_ARGUMENT', 'cgroups path is empty');
  }
  if (path.includes('\0')) {
    throw new CgroupError('INVALID_ARGUMENT', `cgroups path ${JSON.stringify(path)} contains a NUL byte`);
  }
  if (!path.includes('/') && path.split(':').length === 3) {
    const [slice, prefix, name] = path.split(':') as [string, string, string];
    if (name === '') {
      throw new CgroupError('INVALID_ARGUMENT', `systemd cgroups path ${JSON.stringify(path)} has no unit name`);
    }
    const segments = expandSlice(slice === '' ? 'system.slice' : slice);
    if (name.endsWith('.slice')) segments.push(...expandSlice(name));
    else segments.push(prefix === '' ? `${name}.scope` : `${prefix}-${name}.scope`);
    return { absolute: true, segments: dedupeSliceSegments(segments) };
  }
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new CgroupError('INVALID_ARGUMENT', `cgroups path ${JSON.stringify(path)} must not contain ".."`);
  }
  return { absolute: path.startsWith('/'), segments };
}

/** A slice named inside a slice repeats the parent's prefix; keep each level once. */
function dedupeSliceSegments(segments: string[]): string[] {
  const out: string[] = [];
  for (const s of segments) if (!out.includes(s)) out.push(s);
  return out;
}

/** What /proc/<pid>/cgroup says about one process. */
export interface ProcCgroups {
  /** v1 controller (or "name=<name>") -> path inside that hierarchy. */
  v1: Record<string, string>;
  /** Path inside the cgroup2 hierarchy (the "0::" line), or null. */
  v2: string | null;
}

/** Parses /proc/<pid>/cgroup ("hierarchy-id:controllers:path" lines). */
export function parseProcCgroup(text: string): ProcCgroups {
  const out: ProcCgroups = { v1: {}, v2: null };
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const id = line.slice(0, first);
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (id === '0' && controllers === '') {
      out.v2 = path;
      continue;
    }
    for (const c of controllers.split(',')) if (c !== '') out.v1[c] = path;
  }
  return out;
}

/** Joins hierarchy-relative path pieces into one absolute path ("/a/b"). */
export function joinCgroupPath(base: string, segments: string[]): string {
  const all = [...base.split('/').filter((s) => s !== ''), ...segments];
  return `/${all.join('/')}`;
}
