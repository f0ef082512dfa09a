// Finds the whole-disk device (major:minor) that holds a directory, for
// block I/O throttling tests (throttle rules only take whole disks).
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';

export interface BlockDevice {
  major: number;
  minor: number;
}

export async function diskOf(path: string): Promise<BlockDevice | null> {
  const dev = (await fsp.stat(path, { bigint: true })).dev;
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  if (major === 0) return null; // tmpfs, overlay and friends: no block device
  let sys: string;
  try {
    sys = await fsp.realpath(`/sys/dev/block/${major}:${minor}`);
  } catch {
    return null;
  }
  try {
    await fsp.access(join(sys, 'partition'));
    sys = dirname(sys); // a partition: throttle its disk
  } catch {
    /* already a whole disk */
  }
  const [maj, min] = (await fsp.readFile(join(sys, 'dev'), 'utf8')).trim().split(':');
  return { major: Number(maj), minor: Number(min) };
}
