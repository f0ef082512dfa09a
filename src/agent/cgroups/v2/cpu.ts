// cgroup v2 cpu.
//   cpu.stat     usage_usec, user_usec, system_usec (always present, even
//                without the cpu controller) and, with it, nr_periods,
//                nr_throttled, throttled_usec
//   cpu.weight   1-10000 (replaces v1 cpu.shares)
//   cpu.max      "$QUOTA $PERIOD" in microseconds, "max" = unlimited
import { join } from 'node:path';
import { readFlatKeyed, readOptional, type ResourceWriter } from '../fs.js';
import type { NormalizedCpu } from '../normalize.js';
import type { CpuStats } from '../types.js';

const NS_PER_US = 1000n;

/** Reads cpu.stat; times are converted from microseconds to the nanoseconds CgroupStats uses. */
export async function readCpuStatsV2(dir: string): Promise<CpuStats> {
  const stat = await readFlatKeyed(join(dir, 'cpu.stat'));
  return {
    cpuUsage: {
      totalUsage: (stat.usage_usec ?? 0n) * NS_PER_US,
      percpuUsage: [],
      usageInKernelmode: (stat.system_usec ?? 0n) * NS_PER_US,
      usageInUsermode: (stat.user_usec ?? 0n) * NS_PER_US,
    },
    throttlingData: {
      periods: stat.nr_periods ?? 0n,
      throttledPeriods: stat.nr_throttled ?? 0n,
      throttledTime: (stat.throttled_usec ?? 0n) * NS_PER_US,
    },
  };
}

/**
 * Maps v1 cpu.shares (2-262144, default 1024) onto v2 cpu.weight
 * (1-10000, default 100) linearly, the conversion runc and crun use.
 */
export function sharesToWeight(shares: bigint): bigint {
  const s = shares < 2n ? 2n : shares > 262144n ? 262144n : shares;
  return 1n + ((s - 2n) * 9999n) / 262142n;
}

export async function applyCpuV2(dir: string, cpu: NormalizedCpu, w: ResourceWriter): Promise<void> {
  if (cpu.shares !== undefined) await w.write(dir, 'cpu.weight', sharesToWeight(cpu.shares));
  if (cpu.quota !== undefined || cpu.period !== undefined) {
    // cpu.max holds both values; keep the one that is not being changed.
    const [curQuota, curPeriod] = ((await readOptional(join(dir, 'cpu.max'))) ?? 'max 100000').trim().split(/\s+/);
    const quota = cpu.quota === undefined ? (curQuota ?? 'max') : cpu.quota === -1n ? 'max' : String(cpu.quota);
    const period = cpu.period === undefined ? (curPeriod ?? '100000') : String(cpu.period);
    await w.write(dir, 'cpu.max', `${quota} ${period}`);
  }
  if (cpu.realtimeRuntime !== undefined || cpu.realtimePeriod !== undefined) {
    w.skip('cpu.rt_runtime_us/cpu.rt_period_us: cgroup v2 has no real-time CPU budget');
  }
}
