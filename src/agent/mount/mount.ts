// Mounting and unmounting through the native addon (native/src/mount.c):
// Node has no mount(2) or umount2(2).
//
// mountFilesystem() performs what mount(8) does for one request: the mount
// itself, then each propagation change as its own call, then, for a
// read-only bind mount, the remount that makes it read-only (the kernel
// ignores MS_RDONLY on the bind call). If a later step fails, the mount made
// by the first step is detached again, so a request either fully happens or
// leaves nothing.
//
// With `pinTarget`, every call goes through /proc/self/fd/N of an O_PATH
// descriptor opened on the target without following a final symlink, after
// checking that the descriptor really is the expected canonical path. A
// directory swapped for a symlink between the caller's checks and the mount
// is then refused instead of followed.
import { closeSync, constants as fsConstants, fstatSync, openSync, readlinkSync } from 'node:fs';
import { realpath } from 'node:fs/promises';

import { loadAddon } from '../../native/addon.js';
import { readMountInfo } from './mountinfo.js';
import { MS, PER_MOUNT_FLAGS, type ParsedMountOptions } from './options.js';

/** umount2(2) flags (linux/fs.h, sys/mount.h). */
export const MNT = {
  FORCE: 0x1,
  DETACH: 0x2,
  EXPIRE: 0x4,
  UMOUNT_NOFOLLOW: 0x8,
} as const;

/** The two system calls, as the addon exports them; injectable for unit tests. */
export interface MountSyscalls {
  /** mount(2). null arguments are passed as NULL. Throws an Error with `code` ("ENOENT", ...). */
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  /** umount2(2). Throws an Error with `code`. */
  umount2(target: string, flags: number): void;
}

let cached: MountSyscalls | undefined;

/** The addon's mount(2)/umount2(2) (loaded on first use). */
export function nativeMountSyscalls(): MountSyscalls {
  cached ??= loadAddon() as unknown as MountSyscalls;
  return cached;
}

/** A failed mount(2) or umount2(2), with what was asked. */
export class MountSyscallError extends Error {
  override name = 'MountSyscallError';
  constructor(
    /** "mount" or "umount2". */
    readonly syscall: string,
    /** errno name, e.g. "EBUSY" ("EUNKNOWN" if the cause had none). */
    readonly code: string,
    /** What the call was for, e.g. `mount "tmpfs" on "/x" (tmpfs)`. */
    readonly what: string,
    options?: { cause?: unknown },
  ) {
    super(`${what} failed: ${code}${causeText(options?.cause)}`, options);
  }
}

function causeText(cause: unknown): string {
  if (!(cause instanceof Error)) return '';
  // The addon's message reads "mount failed: No such file or directory (ENOENT)".
  const m = /failed: (.*) \([A-Z0-9]+\)$/.exec(cause.message);
  return m ? ` (${m[1]})` : ` (${cause.message})`;
}

/** The errno name of an error thrown by the addon or by node:fs. */
export function errnoCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}

/** The pinned path does not lead where the caller said (it changed, or was a symlink). */
export class PinnedPathMismatchError extends Error {
  override name = 'PinnedPathMismatchError';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${JSON.stringify(expected)} resolves to ${JSON.stringify(actual)} now`);
  }
}

/** O_PATH (the same value on every architecture the guest runs on). Node does not export it. */
const O_PATH = 0o10000000;

/**
 * Calls `fn` with "/proc/self/fd/N" for an O_PATH descriptor of `path`, which
 * must be canonical (absolute, no symlinks, no "." or ".."). Refuses a path
 * whose final component is a symlink or which resolves elsewhere.
 */
export function withPinnedPath<T>(path: string, fn: (pinned: string) => T): T {
  const fd = openSync(path, O_PATH | fsConstants.O_NOFOLLOW);
  try {
    const procPath = `/proc/self/fd/${fd}`;
    const actual = readlinkSync(procPath);
    if (actual !== path) throw new PinnedPathMismatchError(path, actual);
    if (fstatSync(fd).isSymbolicLink()) throw new PinnedPathMismatchError(path, `${actual} (a symlink)`);
    return fn(procPath);
  } finally {
    closeSync(fd);
  }
}

/** One mount to perform. */
export interface MountRequest {
  /** Device, path (bind), tag (virtio-fs, 9p) or a name (tmpfs). */
  source: string;
  /** Where to mount it; canonical when pinTarget is set. */
  target: string;
  /** Filesystem type; ignored by the kernel for bind and move. */
  fstype: string;
  options: ParsedMountOptions;
  /** Mount through an O_PATH descriptor of the target (see withPinnedPath). */
  pinTarget?: boolean;
  /** For bind and move: pin the source too (it must then be canonical). */
  pinSource?: boolean;
}

function describe(req: MountRequest): string {
  const type = req.fstype === '' ? '' : ` (${req.fstype})`;
  return `mount ${JSON.stringify(req.source)} on ${JSON.stringify(req.target)}${type}`;
}

/** Performs a mount like mount(8): mount, propagation changes, read-only bind remount. */
export function mountFilesystem(req: MountRequest, sys: MountSyscalls = nativeMountSyscalls()): void {
  const { mountFlags, propagation, data } = req.options;
  const atTarget = (call: (target: string) => void, what: string): void => {
    try {
      if (req.pinTarget === true) withPinnedPath(req.target, call);
      else call(req.target);
    } catch (err) {
      if (err instanceof PinnedPathMismatchError) throw err;
      throw new MountSyscallError('mount', errnoCode(err), what, { cause: err });
    }
  };

  const pathSource = (mountFlags & (MS.BIND | MS.MOVE)) !== 0 && req.pinSource === true;
  atTarget((target) => {
    const fstype = req.fstype === '' ? null : req.fstype;
    const dataArg = data === '' ? null : data;
    if (pathSource) withPinnedPath(req.source, (source) => sys.mount(source, target, fstype, mountFlags, dataArg));
    else sys.mount(req.source, target, fstype, mountFlags, dataArg);
  }, describe(req));

  try {
    for (const change of propagation) {
      atTarget((target) => sys.mount(null, target, null, change, null), `change propagation of ${JSON.stringify(req.target)} (flags 0x${change.toString(16)})`);
    }
    const readOnlyBind = MS.BIND | MS.RDONLY;
    if ((mountFlags & readOnlyBind) === readOnlyBind && (mountFlags & MS.REMOUNT) === 0) {
      const flags = MS.BIND | MS.REMOUNT | (mountFlags & PER_MOUNT_FLAGS);
      atTarget((target) => sys.mount(null, target, null, flags, null), `remount ${JSON.stringify(req.target)} read-only`);
    }
  } catch (err) {
    // Leave nothing half-configured behind: undo the mount the first step made.
    try {
      sys.umount2(req.target, MNT.DETACH | MNT.UMOUNT_NOFOLLOW);
    } catch {
      // the original error matters more
    }
    throw err;
  }
}

/** How an unmount ended. */
export type UnmountResult = 'unmounted' | 'detached';

/**
 * Unmounts `target` (never following a final symlink). A busy mount is
 * detached lazily (MNT_DETACH) when `detachIfBusy` (the default): it goes
 * away from the namespace now and is freed once its last user is gone.
 */
export function unmount(
  target: string,
  opts: { sys?: MountSyscalls; detachIfBusy?: boolean } = {},
): UnmountResult {
  const sys = opts.sys ?? nativeMountSyscalls();
  try {
    sys.umount2(target, MNT.UMOUNT_NOFOLLOW);
    return 'unmounted';
  } catch (err) {
    if (errnoCode(err) !== 'EBUSY' || opts.detachIfBusy === false) {
      throw new MountSyscallError('umount2', errnoCode(err), `unmount ${JSON.stringify(target)}`, { cause: err });
    }
  }
  try {
    sys.umount2(target, MNT.DETACH | MNT.UMOUNT_NOFOLLOW);
    return 'detached';
  } catch (err) {
    throw new MountSyscallError('umount2', errnoCode(err), `detach busy mount ${JSON.stringify(target)}`, { cause: err });
  }
}

/**
 * Whether something is mounted exactly at `path` (per /proc/self/mountinfo).
 * The path is canonicalised first; a path that does not exist is no mount point.
 */
export async function isMountPoint(path: string): Promise<boolean> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
    throw err;
  }
  return (await readMountInfo()).some((e) => e.mountPoint === real);
}
