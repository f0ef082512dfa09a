// cgroup v1 cpu: CFS bandwidth, shares and real-time budget.
//   cpu.shares, cpu.cfs_period_us, cpu.cfs_quota_us (-1 = unlimited),
//   cpu.rt_period_us, cpu.rt_runtime_us; cpu.stat for throttling counters.
import { join } from 'node:path';
import { CgroupError } from '../errors.js';
import { readFlatKeyed, type ResourceWriter } from '../fs.js';
import type { NormalizedCpu } from '../normalize.js';
import type { ThrottlingData } from '../types.js';

export async function readThrottlingV1(dir: string): Promise<ThrottlingData> {
  const stat = await readFlatKeyed(join(dir, 'cpu.stat'));
  return {
    periods: stat.nr_periods ?? 0n,
    throttledPeriods: stat.nr_throttled ?? 0n,
    throttledTime: stat.throttled_time ?? 0n,
  };
}

function isInvalidArgument(err: unknown): boolean {
  return err instanceof CgroupError && err.code === 'INVALID_ARGUMENT';
}

/**
 * Writes a period/limit pair. The kernel checks each write against the
 * other value already in place, so when the period goes first and is
 * refused, the limit is written first instead.
 */
async function writePair(
  w: ResourceWriter,
  dir: string,
  periodFile: string,
  period: bigint | undefined,
  limitFile: string,
  limit: bigint | undefined,
): Promise<void> {
  if (period === undefined) {
    if (limit !== undefined) await w.write(dir, limitFile, limit);
    return;
  }
  try {
    await w.write(dir, periodFile, period);
  } catch (err) {
    if (limit === undefined || !isInvalidArgument(err)) throw err;
    await w.write(dir, limitFile, limit);
    await w.write(dir, periodFile, period);
    return;
  }
  if (limit !== undefined) await w.write(dir, limitFile, limit);
}

export async function applyCpuV1(dir: string, cpu: NormalizedCpu, w: ResourceWriter): Promise<void> {
  if (cpu.shares !== undefined) await w.write(dir, 'cpu.shares', cpu.shares);
  await writePair(w, dir, 'cpu.cfs_period_us', cpu.period, 'cpu.cfs_quota_us', cpu.quota);
  // The real-time budget must be set on a parent before a child, and the
  // runtime can only shrink below the period: same ordering rule.
  await writePair(w, dir, 'cpu.rt_period_us', cpu.realtimePeriod, 'cpu.rt_runtime_us', cpu.realtimeRuntime);
}
