// Device nodes in the guest's /dev: where they are, and which device
// (block/char, major:minor) they stand for.
//
// Requests name guest nodes by their real path ("/dev/vdb"); uevents by the
// path relative to /dev ("vdb", "vfio/12"). Both are mapped below the
// context's devRoot, so tests can use a directory of their own nodes.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { splitDevT } from '../../oci/devices/dev-t.js';
import type { DeviceClass, DeviceUpdate } from '../../oci/devices/types.js';
import { DeviceSetupError, InvalidDeviceError, errText } from './errors.js';

/** The guest's device directory, as requests name it. */
export const GUEST_DEV_DIR = '/dev';

export interface DeviceNode {
  readonly type: DeviceClass;
  readonly major: number;
  readonly minor: number;
}

/** Block or char and major:minor of the node at `path` (its st_rdev). */
export async function readDeviceNode(path: string): Promise<DeviceNode> {
  if (path === '') throw new DeviceSetupError('no device node path given');
  let st;
  try {
    st = await stat(path, { bigint: true });
  } catch (err) {
    throw new DeviceSetupError(`cannot stat device node ${path}: ${errText(err)}`, { cause: err });
  }
  let type: DeviceClass;
  if (st.isBlockDevice()) type = 'b';
  else if (st.isCharacterDevice()) type = 'c';
  else throw new DeviceSetupError(`${path} is not a device node`);
  const { major, minor } = splitDevT(st.rdev);
  return { type, major, minor };
}

/**
 * The name below /dev of a guest device path: "/dev/vdb" -> "vdb". Throws
 * InvalidDeviceError (for `field`) unless the path lies below /dev without
 * "." or ".." components.
 */
export function devNameOf(guestPath: string, field = 'vm_path'): string {
  const prefix = `${GUEST_DEV_DIR}/`;
  if (!guestPath.startsWith(prefix) || guestPath.length === prefix.length) {
    throw new InvalidDeviceError(field, `${JSON.stringify(guestPath)} is not a device path below /dev`);
  }
  const name = guestPath.slice(prefix.length);
  if (name.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new InvalidDeviceError(field, `${JSON.stringify(guestPath)} is not a plain path below /dev`);
  }
  return name;
}

/** Where the node named `devname` (relative to /dev) is found under devRoot. */
export function nodePathOf(devRoot: string, devname: string): string {
  return join(devRoot, devname);
}

/** The guest path of the node named `devname`: "vfio/12" -> "/dev/vfio/12". */
export function guestPathOf(devname: string): string {
  return `${GUEST_DEV_DIR}/${devname}`;
}

/**
 * The update for the container device at `containerPath`, taken from the
 * guest node at `nodePath`; `finalPath` renames the spec entry.
 */
export async function deviceUpdateFromNode(
  containerPath: string,
  nodePath: string,
  finalPath?: string,
): Promise<DeviceUpdate> {
  const node = await readDeviceNode(nodePath);
  const update: DeviceUpdate = { containerPath, type: node.type, major: node.major, minor: node.minor };
  if (finalPath !== undefined) update.finalPath = finalPath;
  return update;
}

/** Whether something exists at `path` (a node that already appeared). */
export async function nodeExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
