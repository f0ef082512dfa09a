// cgroup v1 cpuacct: CPU time accounting.
//   cpuacct.usage          total CPU time, ns
//   cpuacct.usage_percpu   per-CPU time, ns, space-separated
//   cpuacct.stat           "user N" / "system N" in USER_HZ ticks
import { join } from 'node:path';
import { parseUintList, readFlatKeyed, readOptional, readUint } from '../fs.js';
import type { CpuUsage } from '../types.js';

/**
 * USER_HZ, the unit of cpuacct.stat. The kernel always reports these files in
 * 1/100 s whatever its internal HZ (it is what sysconf(_SC_CLK_TCK) returns).
 */
export const USER_HZ = 100n;
const NS_PER_TICK = 1_000_000_000n / USER_HZ;

export async function readCpuUsageV1(dir: string): Promise<CpuUsage> {
  const stat = await readFlatKeyed(join(dir, 'cpuacct.stat'));
  const percpu = await readOptional(join(dir, 'cpuacct.usage_percpu'));
  return {
    totalUsage: await readUint(join(dir, 'cpuacct.usage')),
    percpuUsage: percpu === null ? [] : parseUintList(percpu),
    usageInKernelmode: (stat.system ?? 0n) * NS_PER_TICK,
    usageInUsermode: (stat.user ?? 0n) * NS_PER_TICK,
  };
}
