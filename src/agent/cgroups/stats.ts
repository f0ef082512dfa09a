// readStats: a container's CgroupStats, read from whichever hierarchy serves
// each controller. A controller that no hierarchy offers reports zeros.
import type { Cgroup } from './cgroup.js';
import { CgroupError } from './errors.js';
import type { BlkioStats, CgroupStats, CpuUsage, HugetlbStats, MemoryData, MemoryStats, PidsStats, ThrottlingData } from './types.js';
import { readBlkioStatsV1 } from './v1/blkio.js';
import { readThrottlingV1 } from './v1/cpu.js';
import { readCpuUsageV1 } from './v1/cpuacct.js';
import { readHugetlbStatsV1 } from './v1/hugetlb.js';
import { readMemoryStatsV1 } from './v1/memory.js';
import { readPidsStatsV1 } from './v1/pids.js';
import { readCpuStatsV2 } from './v2/cpu.js';
import { readHugetlbStatsV2 } from './v2/hugetlb.js';
import { readBlkioStatsV2 } from './v2/io.js';
import { readMemoryStatsV2 } from './v2/memory.js';
import { readPidsStatsV2 } from './v2/pids.js';

const emptyMemoryData = (): MemoryData => ({ usage: 0n, maxUsage: 0n, failcnt: 0n, limit: 0n });

export function emptyCgroupStats(): CgroupStats {
  return {
    cpuStats: {
      cpuUsage: { totalUsage: 0n, percpuUsage: [], usageInKernelmode: 0n, usageInUsermode: 0n },
      throttlingData: { periods: 0n, throttledPeriods: 0n, throttledTime: 0n },
    },
    memoryStats: {
      cache: 0n,
      usage: emptyMemoryData(),
      swapUsage: emptyMemoryData(),
      kernelUsage: emptyMemoryData(),
      useHierarchy: false,
      stats: {},
    },
    pidsStats: { current: 0n, limit: 0n },
    blkioStats: {
      ioServiceBytesRecursive: [],
      ioServicedRecursive: [],
      ioQueuedRecursive: [],
      ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [],
      ioMergedRecursive: [],
      ioTimeRecursive: [],
      sectorsRecursive: [],
    },
    hugetlbStats: {},
  };
}

async function cpuUsage(cg: Cgroup): Promise<CpuUsage | undefined> {
  const d = cg.controllerDir('cpuacct');
  if (!d) return undefined;
  return d.version === 1 ? readCpuUsageV1(d.dir) : (await readCpuStatsV2(d.dir)).cpuUsage;
}

async function throttling(cg: Cgroup): Promise<ThrottlingData | undefined> {
  const d = cg.controllerDir('cpu');
  if (!d) return undefined;
  return d.version === 1 ? readThrottlingV1(d.dir) : (await readCpuStatsV2(d.dir)).throttlingData;
}

async function memory(cg: Cgroup): Promise<MemoryStats | undefined> {
  const d = cg.controllerDir('memory');
  if (!d) return undefined;
  return d.version === 1 ? readMemoryStatsV1(d.dir) : readMemoryStatsV2(d.dir);
}

async function pids(cg: Cgroup): Promise<PidsStats | undefined> {
  const d = cg.controllerDir('pids');
  if (!d) return undefined;
  return d.version === 1 ? readPidsStatsV1(d.dir) : readPidsStatsV2(d.dir);
}

async function blkio(cg: Cgroup): Promise<BlkioStats | undefined> {
  const d = cg.controllerDir('blkio');
  if (!d) return undefined;
  return d.version === 1 ? readBlkioStatsV1(d.dir) : readBlkioStatsV2(d.dir);
}

async function hugetlb(cg: Cgroup): Promise<Record<string, HugetlbStats> | undefined> {
  const d = cg.controllerDir('hugetlb');
  if (!d) return undefined;
  return d.version === 1 ? readHugetlbStatsV1(d.dir) : readHugetlbStatsV2(d.dir);
}

/**
 * Reads the cgroup's statistics. Throws CgroupError NOT_FOUND when the
 * cgroup no longer exists. All times are nanoseconds, all sizes bytes.
 */
export async function readStats(cg: Cgroup): Promise<CgroupStats> {
  if (!(await cg.exists())) {
    throw new CgroupError('NOT_FOUND', `cgroup ${JSON.stringify(cg.path)} does not exist`);
  }
  const out = emptyCgroupStats();
  out.cpuStats.cpuUsage = (await cpuUsage(cg)) ?? out.cpuStats.cpuUsage;
  out.cpuStats.throttlingData = (await throttling(cg)) ?? out.cpuStats.throttlingData;
  out.memoryStats = (await memory(cg)) ?? out.memoryStats;
  out.pidsStats = (await pids(cg)) ?? out.pidsStats;
  out.blkioStats = (await blkio(cg)) ?? out.blkioStats;
  out.hugetlbStats = (await hugetlb(cg)) ?? out.hugetlbStats;
  return out;
}
