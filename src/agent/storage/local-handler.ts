// Kubernetes emptyDir volumes on the default medium, kept in the guest: no
// mount, just a directory below the sandbox rootfs. Options:
//   mode=<octal>  permissions of the directory (the runtime sends mode=0777)
//   fsgid=<gid>   group of the directory; with mode= the setgid bit is added
// Other words are ignored (there is nothing to mount them with).
import { chmod, chown } from 'node:fs/promises';

import type { Storage } from '../../protocols/gen/agent_pb.js';
import { optionValue } from '../mount/options.js';
import { optionWords, parseGidOption, parseModeOption } from './common.js';
import { StorageMountError } from './errors.js';
import type { StorageContext, StorageHandler } from './handler.js';
import { ensurePathInRoot } from './paths.js';

const SETGID = 0o2000;

export class LocalHandler implements StorageHandler {
  readonly driverTypes = ['local'] as const;

  async mount(storage: Storage, ctx: StorageContext): Promise<string> {
    const words = optionWords(storage.options);
    const modeValue = optionValue(words, 'mode');
    const gidValue = optionValue(words, 'fsgid');
    const mode = modeValue === undefined ? undefined : parseModeOption(modeValue, 'options');
    const gid = gidValue === undefined ? undefined : parseGidOption(gidValue, 'options');

    const path = await ensurePathInRoot(ctx, storage.mountPoint, 'mount_point');
    try {
      if (gid !== undefined) await chown(path, -1, gid);
      if (mode !== undefined) await chmod(path, gid === undefined ? mode : mode | SETGID);
    } catch (err) {
      throw new StorageMountError('options', `cannot set up ${JSON.stringify(path)}: ${(err as Error).message}`, { cause: err });
    }
    ctx.logger.info({ path, mode: modeValue, fsgid: gid }, 'local storage ready');
    return path;
  }
}
