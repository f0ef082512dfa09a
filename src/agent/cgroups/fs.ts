// Small helpers to read and write cgroup interface files. Cgroup files are
// tiny text files; every value the kernel hands out is an unsigned 64-bit
// integer, so numbers are parsed as bigint.
import { constants, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { errnoOf, fileError } from './errors.js';

/** The largest uint64, which cgroup v2 "max" maps to in statistics. */
export const UINT64_MAX = (1n << 64n) - 1n;

/** Reads a whole file, or returns null when it does not exist. */
export async function readOptional(file: string): Promise<string | null> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENODEV') return null;
    throw fileError('reading', file, err);
  }
}

/** Parses one unsigned integer; "max" becomes `max`; anything else is 0. */
export function parseUint(text: string, max: bigint = UINT64_MAX): bigint {
  const t = text.trim();
  if (t === 'max') return max;
  if (/^\d+$/.test(t)) return BigInt(t);
  return 0n;
}

/** Reads a single-number file; a missing file reads as 0. */
export async function readUint(file: string, max: bigint = UINT64_MAX): Promise<bigint> {
  const text = await readOptional(file);
  return text === null ? 0n : parseUint(text, max);
}

/** Parses a space-separated list of numbers ("123 456 789"). */
export function parseUintList(text: string): bigint[] {
  return text
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map((s) => BigInt(s));
}

/**
 * Parses a "flat keyed" file: one `key value` pair a line (memory.stat,
 * cpu.stat, memory.events, cpuacct.stat, ...). Lines whose value is not an
 * unsigned integer are skipped.
 */
export function parseFlatKeyed(text: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 2) continue;
    const [key, value] = parts as [string, string];
    if (/^\d+$/.test(value)) out[key] = BigInt(value);
  }
  return out;
}

/** Reads and parses a flat keyed file; a missing file reads as empty. */
export async function readFlatKeyed(file: string): Promise<Record<string, bigint>> {
  const text = await readOptional(file);
  return text === null ? {} : parseFlatKeyed(text);
}

/**
 * The huge page sizes ("2MB", "1GB") for which `dir` has a hugetlb file
 * named hugetlb.<size>.<suffix>.
 */
export async function hugePageSizes(dir: string, suffix: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const sizes: string[] = [];
  for (const n of names) {
    const m = /^hugetlb\.([^.]+)\.(.+)$/.exec(n);
    if (m && m[2] === suffix) sizes.push(m[1]!);
  }
  return sizes.sort();
}

/** True when the path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await fsp.access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes a value to a cgroup file with a single write(2), without creating
 * the file (a missing file means the controller lacks that knob, and a fake
 * test tree must behave the same way).
 */
export async function writeCgroupFile(file: string, value: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(file, constants.O_WRONLY | constants.O_TRUNC);
    const buf = Buffer.from(value);
    const { bytesWritten } = await handle.write(buf, 0, buf.length);
    if (bytesWritten !== buf.length) {
      throw new Error(`short write (${bytesWritten} of ${buf.length} bytes)`);
    }
  } catch (err) {
    throw fileError(`writing ${JSON.stringify(value)} to`, file, err);
  } finally {
    await handle?.close();
  }
}

/** One file write done by applyResources (for logging and tests). */
export interface FileWrite {
  file: string;
  value: string;
}

/**
 * Collects the writes of one applyResources call, and the settings that
 * were skipped because this cgroup version has no such knob.
 */
export class ResourceWriter {
  readonly writes: FileWrite[] = [];
  readonly skipped: string[] = [];

  async write(dir: string, name: string, value: string | bigint | number): Promise<void> {
    const file = join(dir, name);
    const text = String(value);
    await writeCgroupFile(file, text);
    this.writes.push({ file, value: text });
  }

  /**
   * Writes a knob that some kernels lack or refuse outright (kernel memory
   * limits are gone from recent kernels): a missing file or EOPNOTSUPP is
   * recorded as skipped instead of failing. Returns whether it was written.
   */
  async writeIfSupported(dir: string, name: string, value: string | bigint | number): Promise<boolean> {
    try {
      await this.write(dir, name, value);
      return true;
    } catch (err) {
      const errno = err instanceof Error ? errnoOf(err.cause) : undefined;
      if (errno === 'ENOENT' || errno === 'EOPNOTSUPP' || errno === 'ENOTSUP') {
        this.skip(`${name}: not supported by this kernel (${errno})`);
        return false;
      }
      throw err;
    }
  }

  skip(reason: string): void {
    this.skipped.push(reason);
  }
}
