// Splitting a Linux dev_t into major and minor numbers.
//
// glibc's 64-bit dev_t layout (sys/sysmacros.h):
//   major: low 12 bits in dev bits 8..19, high 20 bits in dev bits 44..63
//   minor: low 8 bits in dev bits 0..7, high 24 bits in dev bits 20..43
// i.e. the old 8:8 layout is kept in the low 16 bits and the extra bits are
// spread above it. Node's fs.stat reports dev/rdev as this raw number; use
// { bigint: true } so large values are exact.
import { stat } from 'node:fs/promises';

export interface MajorMinor {
  readonly major: number;
  readonly minor: number;
}

/** Splits a dev_t (as fs.stat returns it) into major and minor. */
export function splitDevT(dev: bigint | number): MajorMinor {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & 0xfffff000n);
  const minor = (d & 0xffn) | ((d >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}

/** Joins major and minor into a dev_t (the inverse of splitDevT). */
export function makeDevT(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & 0xfffff000n) << 32n) | (mi & 0xffn) | ((mi & 0xffffff00n) << 12n);
}

/** Major and minor of the device holding the file system `path` is on (st_dev). */
export async function readFileSystemDevice(path: string): Promise<MajorMinor> {
  return splitDevT((await stat(path, { bigint: true })).dev);
}
