// The mount path shared by the handlers: check the options, create the mount
// point below the root, mount (mount(8) semantics, through a pinned target),
// then apply fs_group. Plus the small option parsers the handlers need.
import { stat } from 'node:fs/promises';

import type { Storage } from '../../protocols/gen/agent_pb.js';
import { PinnedPathMismatchError, isMountPoint, mountFilesystem, unmount } from '../mount/mount.js';
import { MS, parseMountOptions, splitMountOptions, type ParsedMountOptions } from '../mount/options.js';
import { InvalidMountOptionError, InvalidStorageError, PathEscapeError, StorageError, StorageMountError } from './errors.js';
import { applyFsGroup } from './fs-group.js';
import type { StorageContext } from './handler.js';
import { ensurePathInRoot, existingPathInRoot, type PathKind } from './paths.js';

/** The virtio-fs/9p tag of the shared directory; may be mounted before the agent starts. */
export const KATA_SHARED_TAG = 'kataShared';

/** mount(2) copies at most one page of data, NUL included. */
const MAX_MOUNT_DATA = 4095;

/**
 * Splits the option list into words (commas separate words, as with
 * `mount -o`) and refuses words that could not reach the kernel intact.
 */
export function optionWords(options: readonly string[], field = 'options'): string[] {
  for (const entry of options) {
    if (/[\0\n]/.test(entry)) throw new InvalidMountOptionError(field, entry, 'contains a NUL byte or a newline');
  }
  return splitMountOptions(options);
}

/**
 * Checks a value the agent itself puts into a `key=value` mount option (a
 * resolved path, an id): a comma would start a new option, so a crafted
 * directory name could smuggle e.g. ",upperdir=/" into the mount data.
 * `extra` lists further forbidden characters (overlayfs: ":" and "\").
 */
export function checkOptionValue(value: string, option: string, field: string, extra = ''): void {
  const bad = [',', '\0', '\n', ...extra];
  const found = bad.find((c) => value.includes(c));
  if (found !== undefined) {
    throw new InvalidMountOptionError(field, `${option}=${value}`, `must not contain ${JSON.stringify(found)} in its value`);
  }
}

/** Parses an octal file mode option ("0755", "1777"). */
export function parseModeOption(value: string, field: string): number {
  if (!/^[0-7]{1,4}$/.test(value)) throw new InvalidMountOptionError(field, `mode=${value}`, 'must be an octal mode of at most 4 digits');
  return parseInt(value, 8);
}

/** Parses a numeric group id option (fsgid=). */
export function parseGidOption(value: string, field: string): number {
  if (!/^[0-9]{1,10}$/.test(value) || Number(value) > 0xfffffffe) {
    throw new InvalidMountOptionError(field, `fsgid=${value}`, 'must be a decimal group id');
  }
  return Number(value);
}

/** Removes every `key=...` word; returns the rest in order. */
export function withoutOption(words: readonly string[], key: string): string[] {
  return words.filter((w) => !w.startsWith(`${key}=`));
}

/** How handlers customise mountStorage(). */
export interface MountStorageOptions {
  /** Replaces Storage.source (e.g. the resolved device node). */
  source?: string;
  /** Replaces Storage.fstype (e.g. a driver's default type). */
  fstype?: string;
  /** Replaces Storage.options (option words, after the handler took its own). */
  options?: readonly string[];
  /**
   * What the source of a bind or move mount may be: "root" (default) an
   * existing path below the root, "device" the source as given (a device node
   * the handler checked), "forbid" no bind or move at all.
   */
  pathSource?: 'root' | 'device' | 'forbid';
  /** Keep an existing mount at the mount point instead of stacking another. */
  skipIfMounted?: boolean;
}

/**
 * Mounts `storage` at its mount point (created below the root as needed) and
 * applies its fs_group. Returns the canonical mount point. On failure nothing
 * stays mounted.
 */
export async function mountStorage(storage: Storage, ctx: StorageContext, o: MountStorageOptions = {}): Promise<string> {
  const source = o.source ?? storage.source;
  const fstype = o.fstype ?? storage.fstype;
  const parsed = parseMountOptions(optionWords(o.options ?? storage.options));
  if (Buffer.byteLength(parsed.data) > MAX_MOUNT_DATA) {
    throw new InvalidMountOptionError('options', `${parsed.data.slice(0, 40)}...`, `makes the mount data longer than ${MAX_MOUNT_DATA} bytes`);
  }
  if (source === '') throw new InvalidStorageError('source', 'must not be empty');
  if (source.includes('\0')) throw new InvalidStorageError('source', 'must not contain NUL bytes');
  if (fstype.includes('\0')) throw new InvalidStorageError('fstype', 'must not contain NUL bytes');

  let mountSource = source;
  let pinSource = false;
  let kind: PathKind = 'directory';
  if ((parsed.mountFlags & (MS.BIND | MS.MOVE)) !== 0) {
    const policy = o.pathSource ?? 'root';
    if (policy === 'forbid') {
      throw new InvalidMountOptionError('options', (parsed.mountFlags & MS.BIND) !== 0 ? 'bind' : 'move', `is not allowed for driver ${JSON.stringify(storage.driver)}`);
    }
    if (policy === 'root') {
      mountSource = await existingPathInRoot(ctx.rootDir, source, 'source');
      pinSource = true;
    }
    // A file is bind mounted onto a file, a directory onto a directory.
    if (!(await stat(mountSource)).isDirectory()) kind = 'file';
  }

  const target = await ensurePathInRoot(ctx, storage.mountPoint, 'mount_point', kind);
  if ((o.skipIfMounted === true || source === KATA_SHARED_TAG) && (await isMountPoint(target))) {
    ctx.logger.warn({ source, target }, 'already mounted; keeping the existing mount');
    return target;
  }

  ctx.logger.info({ source: mountSource, target, fstype, flags: parsed.flags, data: parsed.data }, 'mounting storage');
  performMount(ctx, { source: mountSource, target, fstype, options: parsed, pinSource });

  try {
    await applyFsGroup(target, storage.fsGroup, (parsed.mountFlags & MS.RDONLY) !== 0, ctx.logger);
  } catch (err) {
    try {
      unmount(target, { sys: ctx.syscalls });
    } catch (undoErr) {
      ctx.logger.error({ target, err: undoErr }, 'could not unmount after the fs_group change failed');
    }
    throw new StorageMountError('fs_group', `cannot apply group ${storage.fsGroup?.groupId} to ${JSON.stringify(target)}: ${(err as Error).message}`, { cause: err });
  }
  return target;
}

function performMount(
  ctx: StorageContext,
  req: { source: string; target: string; fstype: string; options: ParsedMountOptions; pinSource: boolean },
): void {
  try {
    mountFilesystem({ ...req, pinTarget: true }, ctx.syscalls);
  } catch (err) {
    if (err instanceof StorageError) throw err;
    if (err instanceof PinnedPathMismatchError) {
      throw new PathEscapeError(req.source === err.expected ? 'source' : 'mount_point', err.expected, `changed while it was being mounted (${err.message})`);
    }
    throw new StorageMountError(undefined, (err as Error).message, { cause: err });
  }
}
