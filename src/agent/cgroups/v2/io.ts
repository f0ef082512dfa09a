// cgroup v2 io (the v1 blkio controller's successor).
//   io.stat     "8:0 rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N"
//   io.weight   "default N" or "MAJ:MIN N", 1-10000   (io.bfq.weight with BFQ)
//   io.max      "MAJ:MIN rbps=N wbps=N riops=N wiops=N", "max" = unlimited
import { join } from 'node:path';
import { exists, readOptional, type ResourceWriter } from '../fs.js';
import type { NormalizedBlockIO, NormalizedThrottleDevice } from '../normalize.js';
import type { BlkioStats, BlkioStatsEntry } from '../types.js';

export interface IoStatLine {
  major: bigint;
  minor: bigint;
  values: Record<string, bigint>;
}

export function parseIoStat(text: string): IoStatLine[] {
  const out: IoStatLine[] = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    const dev = /^(\d+):(\d+)$/.exec(parts[0] ?? '');
    if (!dev) continue;
    const values: Record<string, bigint> = {};
    for (const kv of parts.slice(1)) {
      const m = /^([a-z_]+)=(\d+)$/.exec(kv);
      if (m) values[m[1]!] = BigInt(m[2]!);
    }
    out.push({ major: BigInt(dev[1]!), minor: BigInt(dev[2]!), values });
  }
  return out;
}

/**
 * Bytes go to ioServiceBytesRecursive and operation counts to
 * ioServicedRecursive, with the v1 operation names (read, write, discard).
 * io.stat is hierarchical, like v1's *_recursive files.
 */
export async function readBlkioStatsV2(dir: string): Promise<BlkioStats> {
  const bytes: BlkioStatsEntry[] = [];
  const ios: BlkioStatsEntry[] = [];
  const text = await readOptional(join(dir, 'io.stat'));
  for (const { major, minor, values } of parseIoStat(text ?? '')) {
    const add = (list: BlkioStatsEntry[], op: string, key: string) => {
      const value = values[key];
      if (value !== undefined) list.push({ major, minor, op, value });
    };
    add(bytes, 'read', 'rbytes');
    add(bytes, 'write', 'wbytes');
    add(bytes, 'discard', 'dbytes');
    add(ios, 'read', 'rios');
    add(ios, 'write', 'wios');
    add(ios, 'discard', 'dios');
  }
  return {
    ioServiceBytesRecursive: bytes,
    ioServicedRecursive: ios,
    ioQueuedRecursive: [],
    ioServiceTimeRecursive: [],
    ioWaitTimeRecursive: [],
    ioMergedRecursive: [],
    ioTimeRecursive: [],
    sectorsRecursive: [],
  };
}

/** Maps a v1 blkio weight (10-1000) onto a v2 io weight (1-10000), as runc does. */
export function blkioWeightToIoWeight(weight: bigint): bigint {
  return 1n + ((weight - 10n) * 9999n) / 990n;
}

async function writeMax(dir: string, key: string, list: NormalizedThrottleDevice[], w: ResourceWriter) {
  for (const d of list) await w.write(dir, 'io.max', `${d.major}:${d.minor} ${key}=${d.rate === 0n ? 'max' : d.rate}`);
}

export async function applyIoV2(dir: string, b: NormalizedBlockIO, w: ResourceWriter): Promise<void> {
  // BFQ takes the v1 range (1-1000) as is; io.weight wants 1-10000.
  const bfq = await exists(join(dir, 'io.bfq.weight'));
  const hasWeight = bfq || (await exists(join(dir, 'io.weight')));
  if (b.weight !== undefined) {
    if (!hasWeight) w.skip('io.weight: no proportional-weight I/O control in this kernel');
    else if (bfq) await w.write(dir, 'io.bfq.weight', b.weight);
    else await w.write(dir, 'io.weight', `default ${blkioWeightToIoWeight(b.weight)}`);
  }
  if (b.leafWeight !== undefined) w.skip('blkio.leaf_weight: cgroup v2 has no leaf weight');
  for (const d of b.weightDevice) {
    if (d.weight !== undefined) {
      if (!hasWeight) w.skip('io.weight: no proportional-weight I/O control in this kernel');
      else if (bfq) await w.write(dir, 'io.bfq.weight', `${d.major}:${d.minor} ${d.weight}`);
      else await w.write(dir, 'io.weight', `${d.major}:${d.minor} ${blkioWeightToIoWeight(d.weight)}`);
    }
    if (d.leafWeight !== undefined) w.skip('blkio.leaf_weight_device: cgroup v2 has no leaf weight');
  }
  await writeMax(dir, 'rbps', b.throttleReadBpsDevice, w);
  await writeMax(dir, 'wbps', b.throttleWriteBpsDevice, w);
  await writeMax(dir, 'riops', b.throttleReadIOPSDevice, w);
  await writeMax(dir, 'wiops', b.throttleWriteIOPSDevice, w);
}
