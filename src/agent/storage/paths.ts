// Keeping request paths inside the storage root (the fix for CVE-2020-2026:
// a path sent by the host must not lead the agent to mount over, or expose,
// anything outside /run/kata-containers).
//
// A path is resolved one component at a time with lstat(), never letting the
// kernel follow a symlink for us: ".." pops a component (and may not pop the
// root), a symlink's target is spliced into the walk (an absolute target must
// itself lie below the root), and the first missing component ends the
// checks, since what does not exist yet cannot be a symlink. The result is a
// canonical path (no symlinks, no "." or "..") below the real root.
//
// The mount itself is then made through an O_PATH descriptor of that
// canonical path (mount.ts withPinnedPath), so a component swapped for a
// symlink after these checks is refused rather than followed.
import { lstat, mkdir, open, readlink, realpath } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';

import { errnoCode } from '../mount/mount.js';
import { InvalidStorageError, PathEscapeError, StorageMountError } from './errors.js';
import type { StorageContext } from './handler.js';

/** Most symlinks followed in one path, as the kernel's limit (ELOOP). */
const MAX_SYMLINKS = 40;

/** A path resolved below the root. */
export interface ResolvedPath {
  /** The canonical absolute path. */
  path: string;
  /** How many trailing components of `path` do not exist yet (0: all exist). */
  missing: number;
}

function components(p: string): string[] {
  return p.split('/').filter((c) => c !== '');
}

/** If `comps` starts with `prefix`, the remaining components; otherwise undefined. */
function stripPrefix(comps: readonly string[], prefix: readonly string[]): string[] | undefined {
  if (comps.length < prefix.length) return undefined;
  for (let i = 0; i < prefix.length; i++) if (comps[i] !== prefix[i]) return undefined;
  return comps.slice(prefix.length);
}

/** Checks that a path field is a non-empty absolute path without NUL bytes. */
export function checkAbsolutePath(value: string, field: string): void {
  if (value === '') throw new InvalidStorageError(field, 'must not be empty');
  if (value.includes('\0')) throw new InvalidStorageError(field, 'must not contain NUL bytes');
  if (!isAbsolute(value)) throw new InvalidStorageError(field, `${JSON.stringify(value)} must be an absolute path`);
}

/**
 * Resolves `requested` (an absolute path spelled below `rootDir`) to a
 * canonical path below the real root without following any symlink out of
 * it. Throws PathEscapeError naming `field` otherwise.
 */
export async function resolveInRoot(rootDir: string, requested: string, field: string): Promise<ResolvedPath> {
  checkAbsolutePath(requested, field);
  const rootAbs = resolve(rootDir);
  const realRoot = await realpath(rootAbs);
  const rootSpellings = [components(rootAbs), components(realRoot)];
  const belowRoot = (comps: string[]): string[] | undefined => {
    for (const prefix of rootSpellings) {
      const rest = stripPrefix(comps, prefix);
      if (rest !== undefined) return rest;
    }
    return undefined;
  };

  const todo = belowRoot(components(requested));
  if (todo === undefined) throw new PathEscapeError(field, requested, `is not below ${rootAbs}`);

  const done: string[] = [];
  // Index in `done` of the first component that does not exist, or -1.
  let missingAt = -1;
  let symlinks = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '.') continue;
    if (c === '..') {
      if (done.length === 0) throw new PathEscapeError(field, requested, `leaves ${rootAbs} through ".."`);
      done.pop();
      if (missingAt >= done.length) missingAt = -1;
      continue;
    }
    if (missingAt >= 0) {
      done.push(c);
      continue;
    }
    const here = join(realRoot, ...done, c);
    let st;
    try {
      st = await lstat(here);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw new StorageMountError(field, `cannot inspect ${JSON.stringify(here)}: ${(err as Error).message}`, { cause: err });
      missingAt = done.length;
      done.push(c);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++symlinks > MAX_SYMLINKS) throw new PathEscapeError(field, requested, 'has too many levels of symbolic links');
      const target = await readlink(here);
      if (isAbsolute(target)) {
        const rest = belowRoot(components(target));
        if (rest === undefined) {
          throw new PathEscapeError(field, requested, `leaves ${rootAbs} through the symlink ${here} -> ${target}`);
        }
        done.length = 0;
        todo.unshift(...rest);
      } else {
        todo.unshift(...components(target));
      }
      continue;
    }
    if (todo.some((t) => t !== '.' && t !== '..') && !st.isDirectory()) {
      throw new InvalidStorageError(field, `${JSON.stringify(requested)}: ${here} is not a directory`);
    }
    done.push(c);
  }
  if (done.length === 0) throw new PathEscapeError(field, requested, `is the root ${rootAbs} itself, not a path below it`);
  return { path: join(realRoot, ...done), missing: missingAt < 0 ? 0 : done.length - missingAt };
}

/** What ensurePathInRoot() creates at the end of the path. */
export type PathKind = 'directory' | 'file';

/**
 * Resolves `requested` below the root and creates what is missing:
 * directories (mode 0755 before umask) and, for kind "file", an empty file at
 * the end (a bind mount target for a file source). Records every created path
 * in ctx.createdPaths. Returns the canonical path.
 */
export async function ensurePathInRoot(
  ctx: Pick<StorageContext, 'rootDir' | 'createdPaths'>,
  requested: string,
  field: string,
  kind: PathKind = 'directory',
): Promise<string> {
  const { path, missing } = await resolveInRoot(ctx.rootDir, requested, field);
  const comps = path.split(sep);
  const firstMissing = comps.length - missing;
  for (let i = firstMissing; i < comps.length; i++) {
    const p = comps.slice(0, i + 1).join(sep);
    const last = i === comps.length - 1;
    try {
      if (last && kind === 'file') {
        const handle = await open(p, 'wx', 0o644);
        await handle.close();
      } else {
        await mkdir(p, { mode: 0o755 });
      }
      ctx.createdPaths.push(p);
    } catch (err) {
      // Someone else created it meanwhile: the checks below decide whether it is usable.
      if (errnoCode(err) !== 'EEXIST') {
        throw new StorageMountError(field, `cannot create ${JSON.stringify(p)}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  // Walk again: nothing may have turned into a symlink while we created.
  const again = await resolveInRoot(ctx.rootDir, requested, field);
  if (again.path !== path || again.missing !== 0) {
    throw new PathEscapeError(field, requested, 'changed while it was being created');
  }
  const st = await lstat(path);
  if (kind === 'directory' && !st.isDirectory()) {
    throw new InvalidStorageError(field, `${JSON.stringify(requested)} exists and is not a directory`);
  }
  if (kind === 'file' && !st.isFile()) {
    throw new InvalidStorageError(field, `${JSON.stringify(requested)} exists and is not a regular file`);
  }
  return path;
}

/** Resolves a path that must already exist below the root (e.g. a bind source). */
export async function existingPathInRoot(rootDir: string, requested: string, field: string): Promise<string> {
  const { path, missing } = await resolveInRoot(rootDir, requested, field);
  if (missing !== 0) throw new InvalidStorageError(field, `${JSON.stringify(requested)} does not exist`, 'NOT_FOUND');
  return path;
}
