// Writes a cpio archive in the "newc" format (SVR4 portable, no CRC), the
// format the Linux kernel unpacks into its initramfs.
//
// Each member: a 110-byte ASCII header ("070701" then 13 fields of 8 hex
// digits), the NUL-terminated name, padding to a multiple of 4, the data
// (file contents or symlink target), padding to a multiple of 4. The archive
// ends with a member named "TRAILER!!!".
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { ImageBuildError } from './errors.js';

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;

export interface CpioEntry {
  /** Member name, relative ("usr/bin/node"), as the kernel expects. */
  name: string;
  /** File type and permission bits (st_mode). */
  mode: number;
  uid?: number;
  gid?: number;
  /** Data: file contents or symlink target; a string names a host file read at write time. */
  body?: Buffer | { path: string };
  /** For device nodes. */
  rdevMajor?: number;
  rdevMinor?: number;
}

export interface CpioResult {
  bytes: number;
  members: number;
  sha256: string;
}

const MAGIC = '070701';
const TRAILER = 'TRAILER!!!';
/** Buffered output is flushed to the file past this size. */
const FLUSH_AT = 4 << 20;

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new ImageBuildError(`cpio header field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): Buffer {
  return Buffer.alloc((4 - (n % 4)) % 4);
}

/** Header + name + padding for one member. */
export function encodeHeader(fields: {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  filesize: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
}): Buffer {
  const name = Buffer.from(`${fields.name}\0`, 'utf8');
  const header = Buffer.from(
    MAGIC +
      [
        fields.ino,
        fields.mode,
        fields.uid,
        fields.gid,
        fields.nlink,
        fields.mtime,
        fields.filesize,
        0, // devmajor: the archive's own device, unused
        0, // devminor
        fields.rdevMajor,
        fields.rdevMinor,
        name.length,
        0, // check: only for the "070702" CRC variant
      ]
        .map(hex8)
        .join(''),
    'latin1',
  );
  return Buffer.concat([header, name, pad4(header.length + name.length)]);
}

/**
 * Writes `entries` as a newc archive to `outPath` (replacing it). All members
 * get `mtime` (default 0) so that equal inputs give equal archives.
 * Returns the size and SHA-256 of what was written.
 */
export async function writeNewcCpio(entries: Iterable<CpioEntry>, outPath: string, options: { mtime?: number } = {}): Promise<CpioResult> {
  const mtime = options.mtime ?? 0;
  const file = await open(outPath, 'w');
  const hash = createHash('sha256');
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let bytes = 0;
  let members = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const chunk = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    await file.write(chunk);
  };
  const emit = async (buf: Buffer) => {
    hash.update(buf);
    bytes += buf.length;
    if (buf.length >= FLUSH_AT) {
      // A big file goes straight out rather than through a copy.
      await flush();
      await file.write(buf);
      return;
    }
    pending.push(buf);
    pendingBytes += buf.length;
    if (pendingBytes >= FLUSH_AT) await flush();
  };
  try {
    const seen = new Set<string>();
    let ino = 0;
    for (const entry of entries) {
      if (entry.name === '' || entry.name.startsWith('/') || entry.name === TRAILER) {
        throw new ImageBuildError(`cpio member name ${JSON.stringify(entry.name)} is not a relative path`);
      }
      if (seen.has(entry.name)) throw new ImageBuildError(`cpio member ${entry.name} appears twice`);
      seen.add(entry.name);
      const data = entry.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(entry.body) ? entry.body : await readFile(entry.body.path);
      const isDir = (entry.mode & 0o170000) === S_IFDIR;
      await emit(
        encodeHeader({
          ino: ++ino,
          mode: entry.mode,
          uid: entry.uid ?? 0,
          gid: entry.gid ?? 0,
          nlink: isDir ? 2 : 1,
          mtime,
          filesize: data.length,
          rdevMajor: entry.rdevMajor ?? 0,
          rdevMinor: entry.rdevMinor ?? 0,
          name: entry.name,
        }),
      );
      if (data.length > 0) {
        await emit(data);
        await emit(pad4(data.length));
      }
      members++;
    }
    await emit(encodeHeader({ ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, filesize: 0, rdevMajor: 0, rdevMinor: 0, name: TRAILER }));
    await flush();
  } finally {
    await file.close();
  }
  return { bytes, members, sha256: hash.digest('hex') };
}
