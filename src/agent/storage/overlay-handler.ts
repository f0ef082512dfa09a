// Overlay filesystems assembled in the guest (driver "overlayfs"):
// - the option io.katacontainers.fs-opt.overlay-rw (a marker, not passed to
//   the kernel) asks for a writable layer: <root>/<container id>/upper and
//   .../work are created and added as upperdir= and workdir=;
// - each driver option io.katacontainers.volume.overlayfs.create_directory=<dir>
//   creates <dir> first (e.g. upper and work on a tmpfs another storage
//   mounted);
// - every directory in lowerdir= (":"-separated), upperdir=, workdir=,
//   lowerdir+= and datadir+= must exist below the root; it is replaced by its
//   canonical path, which may not contain ",", ":" or "\" (they would split or
//   escape the option).
import { join } from 'node:path';

import type { Storage } from '../../protocols/gen/agent_pb.js';
import { checkOptionValue, mountStorage, optionWords } from './common.js';
import { InvalidMountOptionError, InvalidStorageError } from './errors.js';
import type { StorageContext, StorageHandler } from './handler.js';
import { ensurePathInRoot, existingPathInRoot } from './paths.js';

export const OVERLAY_RW_OPTION = 'io.katacontainers.fs-opt.overlay-rw';
export const OVERLAY_CREATE_DIR_OPTION = 'io.katacontainers.volume.overlayfs.create_directory';

/** Overlay options whose values are directories (lowerdir may list several). */
const DIRECTORY_OPTIONS = ['lowerdir', 'upperdir', 'workdir', 'lowerdir+', 'datadir+'];

/** Container ids as the agent accepts them elsewhere (no "/", "," or ":"). */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export class OverlayfsHandler implements StorageHandler {
  readonly driverTypes = ['overlayfs'] as const;

  async mount(storage: Storage, ctx: StorageContext): Promise<string> {
    const fstype = storage.fstype === '' ? 'overlay' : storage.fstype;
    if (fstype !== 'overlay') throw new InvalidStorageError('fstype', `${JSON.stringify(fstype)} is not "overlay"`);

    for (const option of storage.driverOptions) {
      const prefix = `${OVERLAY_CREATE_DIR_OPTION}=`;
      if (!option.startsWith(prefix)) {
        ctx.logger.debug({ option }, 'ignoring unknown overlayfs driver option');
        continue;
      }
      await ensurePathInRoot(ctx, option.slice(prefix.length), 'driver_options');
    }

    let words = optionWords(storage.options);
    if (words.includes(OVERLAY_RW_OPTION)) {
      words = words.filter((w) => w !== OVERLAY_RW_OPTION);
      const cid = ctx.containerId;
      if (cid === undefined) throw new InvalidStorageError('options', `${OVERLAY_RW_OPTION} needs a container (it was given for the sandbox)`);
      if (!CONTAINER_ID.test(cid)) throw new InvalidStorageError('options', `container id ${JSON.stringify(cid)} cannot name an overlay directory`);
      const upper = await ensurePathInRoot(ctx, join(ctx.rootDir, cid, 'upper'), 'options');
      const work = await ensurePathInRoot(ctx, join(ctx.rootDir, cid, 'work'), 'options');
      words.push(`upperdir=${upper}`, `workdir=${work}`);
    }

    const checked: string[] = [];
    for (const word of words) checked.push(await this.checkWord(word, ctx));

    return mountStorage(storage, ctx, {
      fstype,
      source: storage.source === '' ? 'overlay' : storage.source,
      options: checked,
      pathSource: 'forbid',
    });
  }

  /** Resolves the directories in one option word below the root. */
  private async checkWord(word: string, ctx: StorageContext): Promise<string> {
    const eq = word.indexOf('=');
    const key = eq < 0 ? word : word.slice(0, eq);
    if (!DIRECTORY_OPTIONS.includes(key)) return word;
    if (eq < 0) throw new InvalidMountOptionError('options', word, 'needs a directory');
    const value = word.slice(eq + 1);
    if (value.includes('\\')) throw new InvalidMountOptionError('options', word, 'must not use "\\" escapes');
    const dirs = key === 'lowerdir' ? value.split(':') : [value];
    const resolved: string[] = [];
    for (const dir of dirs) {
      if (dir === '') throw new InvalidMountOptionError('options', word, 'has an empty directory');
      const path = await existingPathInRoot(ctx.rootDir, dir, 'options');
      checkOptionValue(path, key, 'options', ':\\');
      resolved.push(path);
    }
    return `${key}=${resolved.join(':')}`;
  }
}
