// Writing sysfs attributes ("echo 1 > /sys/.../online").
//
// Attributes are opened without O_CREAT: a missing attribute is an error
// (ENOENT), never a new regular file. That is what real sysfs does anyway,
// and it keeps fake sysfs trees in tests honest.
import { constants } from 'node:fs';
import { writeFile } from 'node:fs/promises';

const WRITE_EXISTING = constants.O_WRONLY | constants.O_TRUNC;

/** Writes `value` to the existing attribute file at `path`. */
export async function writeSysfsAttribute(path: string, value: string): Promise<void> {
  await writeFile(path, value, { flag: WRITE_EXISTING });
}

/** Brings a hot-added device (e.g. a memory block) online: writes "1" to its `online` file. */
export async function onlineDevice(onlinePath: string): Promise<void> {
  await writeSysfsAttribute(onlinePath, '1');
}
