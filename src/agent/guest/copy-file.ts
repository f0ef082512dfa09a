// CopyFile: the host copies files into the guest (when no shared filesystem
// is available) in chunks of up to 1 MiB, one request per chunk.
//
// Everything happens below a root directory (the agent's state directory,
// /run/kata-containers): the request's path must be an absolute path under
// it, without "..". The path is resolved one component at a time from the
// root without ever leaving it: a symlink met on the way is followed only if
// its target stays below the root (an absolute target must point below the
// root; a relative one may use ".." as long as it stays inside); anything
// else is refused with INVALID_ARGUMENT naming copy_file.path. Missing parent
// directories are created with dir_mode (and the request's owner). The
// resolved parent directory is then pinned: opened with O_PATH and checked,
// and every later operation goes through /proc/self/fd/N/<name>, so swapping
// a directory for a symlink after the checks cannot redirect the writes.
//
// What is created depends on the file type bits of file_mode:
//   - a regular file (no type bits, or S_IFREG): `data` is written at
//     `offset` into a temporary file next to the target (offset 0 starts it
//     afresh; a later chunk may not start past what was received). When the
//     temporary file holds file_size bytes it gets file_mode and uid/gid and
//     is renamed over the target, so the target changes in one step;
//   - S_IFDIR: a directory (an existing one is kept; a file there is
//     replaced) with file_mode and uid/gid;
//   - S_IFLNK: a symlink whose target is `data` (not checked: the link may
//     point anywhere, it is never followed here), owned by uid/gid, replacing
//     whatever was at the path.
// uid/gid -1 leave the owner unchanged.
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { lchown, lstat, mkdir, open, readlink, realpath, rename, rm, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

import { errnoCode, GuestError, GuestGrpcCode, invalidGuestField } from './errors.js';

/** The default root: the agent's state directory in the guest. */
export const DEFAULT_COPY_ROOT = '/run/kata-containers';

/** File type bits (<sys/stat.h>). */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

/** Permission bits applied to implicitly created parent directories (upstream's mask). */
const IMPLICIT_DIR_MASK = 0o777;
/** Permission bits applied to the target (with setuid/setgid/sticky). */
const FILE_MODE_MASK = 0o7777;
/** O_PATH (Linux, all architectures Node runs on); not in fs.constants. */
const O_PATH = 0o10000000;
/** How many symlinks one resolution may follow (the kernel's limit). */
const MAX_SYMLINKS = 40;
const NAME_MAX = 255;

/** CopyFileRequest's fields (protocol names in camelCase; int64 as bigint or number). */
export interface CopyFileRequestFields {
  path: string;
  fileSize: bigint | number;
  fileMode: number;
  dirMode: number;
  uid: number;
  gid: number;
  offset: bigint | number;
  data: Uint8Array;
}

export interface CopyFileOptions {
  /** Everything is created below this directory. Default "/run/kata-containers". */
  root?: string;
  /** Where procfs is mounted (for /proc/self/fd). Default "/proc". */
  procRoot?: string;
}

export type CopyFileOutcome =
  /** A chunk of a regular file; `complete` once the file is in place. */
  | { kind: 'file'; target: string; complete: boolean }
  | { kind: 'directory'; target: string }
  | { kind: 'symlink'; target: string };

const F = {
  path: 'copy_file.path',
  fileSize: 'copy_file.file_size',
  fileMode: 'copy_file.file_mode',
  dirMode: 'copy_file.dir_mode',
  uid: 'copy_file.uid',
  gid: 'copy_file.gid',
  offset: 'copy_file.offset',
  data: 'copy_file.data',
} as const;

type Kind = CopyFileOutcome['kind'];

/** A request checked and converted. */
interface Checked {
  /** The request's path, as sent. */
  path: string;
  /** Path components below the root (at least one). */
  parts: string[];
  kind: Kind;
  fileSize: number;
  offset: number;
  fileMode: number;
  dirMode: number;
  uid: number;
  gid: number;
  data: Uint8Array;
}

function toNonNegativeSafe(value: bigint | number, field: string): number {
  const n = typeof value === 'bigint' ? (value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : Number.NaN) : value;
  if (!Number.isSafeInteger(n) || n < 0) throw invalidGuestField(field, `${String(value)} is not a size in bytes (>= 0)`);
  return n;
}

function checkOwner(value: number, field: string): number {
  if (!Number.isInteger(value) || value < -1 || value > 0x7fffffff) throw invalidGuestField(field, `${value} is not an id (>= 0, or -1 to keep)`);
  return value;
}

function checkMode(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw invalidGuestField(field, `${value} is not a mode`);
  return value;
}

/** The components of `path` below `root`, lexically; throws naming copy_file.path. */
export function pathBelowRoot(path: string, root: string): string[] {
  if (typeof path !== 'string' || path === '') throw invalidGuestField(F.path, 'is empty');
  if (path.includes('\0')) throw invalidGuestField(F.path, 'contains a NUL byte');
  if (!isAbsolute(path)) throw invalidGuestField(F.path, `${JSON.stringify(path)} is not an absolute path`);
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw invalidGuestField(F.path, `${JSON.stringify(path)} contains ".."`);
  const rootParts = resolve(root).split('/').filter((p) => p !== '');
  const under = parts.length > rootParts.length && rootParts.every((p, i) => parts[i] === p);
  if (!under) throw invalidGuestField(F.path, `${JSON.stringify(path)} is not below ${resolve(root)}`);
  return parts.slice(rootParts.length);
}

function checkRequest(req: CopyFileRequestFields, root: string): Checked {
  const parts = pathBelowRoot(req.path, root);
  const fileMode = checkMode(req.fileMode, F.fileMode);
  const dirMode = checkMode(req.dirMode, F.dirMode);
  const type = fileMode & S_IFMT;
  let kind: Kind;
  if (type === 0 || type === S_IFREG) kind = 'file';
  else if (type === S_IFDIR) kind = 'directory';
  else if (type === S_IFLNK) kind = 'symlink';
  else throw invalidGuestField(F.fileMode, `file type 0o${type.toString(8)} is not a regular file, directory or symlink`);
  const fileSize = toNonNegativeSafe(req.fileSize, F.fileSize);
  const offset = toNonNegativeSafe(req.offset, F.offset);
  const data = req.data;
  if (kind === 'file' && offset + data.length > fileSize) {
    throw invalidGuestField(F.offset, `${data.length} bytes at offset ${offset} end past file_size ${fileSize}`);
  }
  if (kind === 'symlink') {
    if (data.length === 0) throw invalidGuestField(F.data, 'is empty: a symlink needs a target');
    if (data.includes(0)) throw invalidGuestField(F.data, 'contains a NUL byte: not a symlink target');
  }
  return {
    path: req.path,
    parts,
    kind,
    fileSize,
    offset,
    fileMode,
    dirMode,
    uid: checkOwner(req.uid, F.uid),
    gid: checkOwner(req.gid, F.gid),
    data,
  };
}

/** Components of an absolute path `p` relative to `base` if `p` is `base` or below it. */
function relativeIfBelow(p: string, base: string): string[] | undefined {
  const pp = p.split('/').filter((x) => x !== '' && x !== '.');
  const bp = base.split('/').filter((x) => x !== '');
  if (pp.length < bp.length || !bp.every((x, i) => pp[i] === x)) return undefined;
  return pp.slice(bp.length);
}

/**
 * Resolves `dirParts` (the target's parent, below `realRoot`) to a real
 * directory path without leaving the root, creating what is missing when
 * `create` is set. Returns the real path.
 */
async function resolveParent(
  dirParts: string[],
  roots: { real: string; given: string },
  create: { dirMode: number; uid: number; gid: number } | undefined,
  originalPath: string,
): Promise<string> {
  const escape = (why: string) => invalidGuestField(F.path, `${JSON.stringify(originalPath)} ${why}`);
  const current: string[] = [];
  const pending = [...dirParts];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (current.length === 0) throw escape('leads out of the copy root through a symlink');
      current.pop();
      continue;
    }
    const here = join(roots.real, ...current, part);
    let st;
    try {
      st = await lstat(here);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      if (create === undefined) throw invalidGuestField(F.offset, `no copy of ${JSON.stringify(originalPath)} is in progress (its directory is missing)`);
      try {
        await mkdir(here, { mode: create.dirMode & IMPLICIT_DIR_MASK });
      } catch (mkdirErr) {
        if (errnoCode(mkdirErr) !== 'EEXIST') throw mkdirErr;
        pending.unshift(part); // made meanwhile (a concurrent copy): look at it again
        continue;
      }
      const dir = await open(here, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW);
      try {
        await dir.chown(create.uid, create.gid);
        await dir.chmod(create.dirMode & IMPLICIT_DIR_MASK); // whatever the umask took away
      } finally {
        await dir.close();
      }
      current.push(part);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw escape('has too many levels of symlinks');
      const target = await readlink(here);
      if (isAbsolute(target)) {
        // Absolute targets must stay below the root (under its real or its given name).
        const below = relativeIfBelow(target, roots.real) ?? relativeIfBelow(target, roots.given);
        if (below === undefined) throw escape(`goes through the symlink ${part} -> ${target}, which leads out of the copy root`);
        current.length = 0;
        pending.unshift(...below);
      } else {
        pending.unshift(...target.split('/'));
      }
      continue;
    }
    if (!st.isDirectory()) throw escape(`goes through ${join(...current, part)}, which is not a directory`);
    current.push(part);
  }
  return join(roots.real, ...current);
}

/** The temporary file's name next to `name`: hidden, derived from the name, within NAME_MAX. */
export function tempNameFor(name: string): string {
  const plain = `.${name}.kata-copy`;
  if (Buffer.byteLength(plain) <= NAME_MAX) return plain;
  return `.kata-copy-${createHash('sha256').update(name).digest('hex').slice(0, 32)}`;
}

/** Removes whatever is at `path` (a directory with its content), if anything. */
async function removeAny(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

async function isDirectoryNoFollow(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function writeAll(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}

/** One chunk of a regular file. */
async function copyChunk(req: Checked, at: (name: string) => string, name: string): Promise<boolean> {
  const temp = at(tempNameFor(name));
  let handle: FileHandle;
  const base = fsConstants.O_WRONLY | fsConstants.O_NOFOLLOW;
  if (req.offset === 0) {
    handle = await open(temp, base | fsConstants.O_CREAT | fsConstants.O_TRUNC, 0o600);
  } else {
    try {
      handle = await open(temp, base);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw invalidGuestField(F.offset, `${req.offset}: no copy of ${JSON.stringify(req.path)} is in progress (no chunk at offset 0 came first)`);
      throw err;
    }
  }
  let finished = false;
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw invalidGuestField(F.path, 'the temporary copy is not a regular file');
    if (req.offset > st.size) {
      throw invalidGuestField(F.offset, `${req.offset} is past the ${st.size} bytes received so far`);
    }
    await writeAll(handle, req.data, req.offset);
    const size = (await handle.stat()).size;
    if (size > req.fileSize) {
      throw invalidGuestField(F.fileSize, `${req.fileSize} is less than the ${size} bytes already received: it changed between chunks`);
    }
    if (size < req.fileSize) {
      finished = true; // more chunks to come; keep the temporary file
      return false;
    }
    // chown first: it clears setuid/setgid, which chmod then sets.
    await handle.chown(req.uid, req.gid);
    await handle.chmod(req.fileMode & FILE_MODE_MASK);
    await handle.sync();
    await handle.close();
    const target = at(name);
    if (await isDirectoryNoFollow(target)) await removeAny(target); // rename cannot replace a directory
    await rename(temp, target);
    finished = true;
    return true;
  } finally {
    await handle.close().catch(() => {});
    if (!finished) await rm(temp, { force: true }); // a failed chunk leaves nothing behind
  }
}

async function makeDirectory(req: Checked, at: (name: string) => string, name: string): Promise<void> {
  const target = at(name);
  let existing;
  try {
    existing = await lstat(target);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  if (existing !== undefined && !existing.isDirectory()) await unlink(target); // a file or symlink gives way
  if (existing === undefined || !existing.isDirectory()) await mkdir(target, { mode: req.fileMode & IMPLICIT_DIR_MASK });
  const dir = await open(target, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW);
  try {
    await dir.chown(req.uid, req.gid); // before chmod, which may set setgid
    await dir.chmod(req.fileMode & FILE_MODE_MASK);
  } finally {
    await dir.close();
  }
}

async function makeSymlink(req: Checked, at: (name: string) => string, name: string): Promise<void> {
  const target = at(name);
  const temp = at(tempNameFor(name));
  await removeAny(temp);
  await symlink(Buffer.from(req.data).toString('utf8'), temp);
  try {
    await lchown(temp, req.uid, req.gid);
    if (await isDirectoryNoFollow(target)) await removeAny(target);
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/**
 * Handles one CopyFileRequest. Bad requests (path outside the root or
 * escaping it, bad modes, sizes or offsets) are INVALID_ARGUMENT GuestErrors
 * naming the field (copy_file.path, ...), and create nothing. Filesystem
 * failures are INTERNAL.
 */
export async function copyFile(request: CopyFileRequestFields, options: CopyFileOptions = {}): Promise<CopyFileOutcome> {
  const givenRoot = resolve(options.root ?? DEFAULT_COPY_ROOT);
  const procRoot = options.procRoot ?? '/proc';
  const req = checkRequest(request, givenRoot);
  const name = req.parts[req.parts.length - 1] as string;
  const outcomeTarget = join(givenRoot, ...req.parts);
  try {
    await mkdir(givenRoot, { recursive: true, mode: 0o755 });
    const realRoot = await realpath(givenRoot);
    // Parents are created for a new file (offset 0), a directory or a symlink.
    const create = req.kind !== 'file' || req.offset === 0 ? { dirMode: req.dirMode, uid: req.uid, gid: req.gid } : undefined;
    const parent = await resolveParent(req.parts.slice(0, -1), { real: realRoot, given: givenRoot }, create, request.path);

    // Pin the parent, and check that what was opened is what was resolved.
    const pinned = await open(parent, O_PATH | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW);
    try {
      const fdPath = join(procRoot, 'self', 'fd', String(pinned.fd));
      const opened = await readlink(fdPath);
      if (opened !== parent || relativeIfBelow(opened, realRoot) === undefined) {
        throw invalidGuestField(F.path, `${JSON.stringify(request.path)} changed while it was being resolved`);
      }
      const at = (entry: string) => join(fdPath, entry);
      switch (req.kind) {
        case 'file':
          return { kind: 'file', target: outcomeTarget, complete: await copyChunk(req, at, name) };
        case 'directory':
          await makeDirectory(req, at, name);
          return { kind: 'directory', target: outcomeTarget };
        case 'symlink':
          await makeSymlink(req, at, name);
          return { kind: 'symlink', target: outcomeTarget };
      }
    } finally {
      await pinned.close();
    }
  } catch (err) {
    if (err instanceof GuestError) throw err;
    throw new GuestError(GuestGrpcCode.INTERNAL, F.path, `copying to ${JSON.stringify(request.path)} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
