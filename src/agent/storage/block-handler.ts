// Block devices with a filesystem: the container rootfs of block-based
// snapshotters and block volumes. Storage.source says which device:
//   blk      a PCI path ("02/03") of a virtio-blk device, or a /dev node
//   mmioblk  a /dev/vdX node of a virtio-mmio device
//   scsi     a SCSI address "target:lun"
//   nvdimm   a /dev/pmemN node
// Sources that already are block device nodes below devRoot are used as they
// are. Anything else goes to the device layer's resolver (injected), which
// waits for the device to appear and returns its node. The node must be a
// block device (S_IFBLK); then it is mounted with Storage.fstype and options
// (a "bind" fstype with the "bind" option bind-mounts the node itself).
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';

import type { Storage } from '../../protocols/gen/agent_pb.js';
import { errnoCode } from '../mount/mount.js';
import { mountStorage } from './common.js';
import { InvalidStorageError, StorageError } from './errors.js';
import type { StorageContext, StorageHandler } from './handler.js';

/** Whether `p` is strictly below `dir` (both absolute). */
function isBelow(dir: string, p: string): boolean {
  const rel = relative(dir, p);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** Finds the device node for a block storage (see the file comment). */
export async function blockDeviceFor(storage: Storage, ctx: StorageContext): Promise<string> {
  const source = storage.source;
  if (source === '') throw new InvalidStorageError('source', 'must not be empty');
  if (source.includes('\0')) throw new InvalidStorageError('source', 'must not contain NUL bytes');
  const devRoot = resolve(ctx.devRoot);
  if (isAbsolute(source) && isBelow(devRoot, resolve(source))) return checkBlockDevice(source);
  if (ctx.resolveBlockDevice === undefined) {
    throw new InvalidStorageError(
      'source',
      `${JSON.stringify(source)} is not a device node below ${devRoot} and no device resolver is configured for driver ${JSON.stringify(storage.driver)}`,
    );
  }
  let device: string;
  try {
    device = await ctx.resolveBlockDevice(storage);
  } catch (err) {
    if (err instanceof StorageError) throw err;
    // The device layer's own error (e.g. a timeout) stays available as the cause.
    throw new StorageError('NOT_FOUND', 'source', `no ${storage.driver} device for ${JSON.stringify(source)}: ${(err as Error).message}`, { cause: err });
  }
  return checkBlockDevice(device);
}

/** Returns the canonical node if `device` is a block device (following symlinks such as /dev/disk/by-path/...). */
async function checkBlockDevice(device: string): Promise<string> {
  let node: string;
  try {
    node = await realpath(device);
    if ((await stat(node)).isBlockDevice()) return node;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new InvalidStorageError('source', `${JSON.stringify(device)} does not exist`, 'NOT_FOUND');
    throw err;
  }
  throw new InvalidStorageError('source', `${JSON.stringify(device)} is not a block device`);
}

export class BlockHandler implements StorageHandler {
  readonly driverTypes = ['blk', 'mmioblk', 'scsi', 'nvdimm'] as const;

  async mount(storage: Storage, ctx: StorageContext): Promise<string> {
    const device = await blockDeviceFor(storage, ctx);
    if (storage.fstype === '') throw new InvalidStorageError('fstype', `must name the filesystem on ${device}`);
    return mountStorage(storage, ctx, { source: device, pathSource: 'device' });
  }
}
