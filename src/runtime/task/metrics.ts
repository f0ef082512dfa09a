// The agent's container statistics (its CgroupStats, cgroup v1 shaped) as
// the cgroups v1 Metrics message containerd's `ctr task metrics` and the CRI
// decode, the same shape containerd's runc shim reports.
import { create } from '@bufbuild/protobuf';
import type { BlkioStatsEntry, StatsContainerResponse } from '../../protocols/gen/agent_pb.js';
import {
  BlkIOEntrySchema,
  MetricsSchema,
  type BlkIOEntry,
  type Metrics,
} from '../../protocols/gen/containerd/cgroups/stats/v1/metrics_pb.js';

/** memory.stat counters by name, as cgroup v1 names them. */
function stat(stats: Record<string, bigint> | undefined, name: string): bigint {
  return stats?.[name] ?? 0n;
}

function blkio(entries: readonly BlkioStatsEntry[]): BlkIOEntry[] {
  return entries.map((e) => create(BlkIOEntrySchema, { op: e.op, major: e.major, minor: e.minor, value: e.value }));
}

export function statsToMetrics(res: StatsContainerResponse): Metrics {
  const cg = res.cgroupStats;
  const mem = cg?.memoryStats;
  const raw = mem?.stats;
  const entry = (d: { usage: bigint; maxUsage: bigint; failcnt: bigint; limit: bigint } | undefined) =>
    d ? { usage: d.usage, max: d.maxUsage, failcnt: d.failcnt, limit: d.limit } : undefined;
  const blk = cg?.blkioStats;
  return create(MetricsSchema, {
    hugetlb: Object.entries(cg?.hugetlbStats ?? {}).map(([pagesize, h]) => ({ pagesize, usage: h.usage, max: h.maxUsage, failcnt: h.failcnt })),
    ...(cg?.pidsStats ? { pids: { current: cg.pidsStats.current, limit: cg.pidsStats.limit } } : {}),
    ...(cg?.cpuStats
      ? {
          cpu: {
            usage: {
              total: cg.cpuStats.cpuUsage?.totalUsage ?? 0n,
              kernel: cg.cpuStats.cpuUsage?.usageInKernelmode ?? 0n,
              user: cg.cpuStats.cpuUsage?.usageInUsermode ?? 0n,
              perCpu: cg.cpuStats.cpuUsage?.percpuUsage ?? [],
            },
            throttling: {
              periods: cg.cpuStats.throttlingData?.periods ?? 0n,
              throttledPeriods: cg.cpuStats.throttlingData?.throttledPeriods ?? 0n,
              throttledTime: cg.cpuStats.throttlingData?.throttledTime ?? 0n,
            },
          },
        }
      : {}),
    ...(mem
      ? {
          memory: {
            cache: mem.cache,
            rss: stat(raw, 'rss'),
            rssHuge: stat(raw, 'rss_huge'),
            mappedFile: stat(raw, 'mapped_file'),
            dirty: stat(raw, 'dirty'),
            writeback: stat(raw, 'writeback'),
            pgPgIn: stat(raw, 'pgpgin'),
            pgPgOut: stat(raw, 'pgpgout'),
            pgFault: stat(raw, 'pgfault'),
            pgMajFault: stat(raw, 'pgmajfault'),
            inactiveAnon: stat(raw, 'inactive_anon'),
            activeAnon: stat(raw, 'active_anon'),
            inactiveFile: stat(raw, 'inactive_file'),
            activeFile: stat(raw, 'active_file'),
            unevictable: stat(raw, 'unevictable'),
            hierarchicalMemoryLimit: stat(raw, 'hierarchical_memory_limit'),
            hierarchicalSwapLimit: stat(raw, 'hierarchical_memsw_limit'),
            totalCache: stat(raw, 'total_cache'),
            totalRss: stat(raw, 'total_rss'),
            totalRssHuge: stat(raw, 'total_rss_huge'),
            totalMappedFile: stat(raw, 'total_mapped_file'),
            totalDirty: stat(raw, 'total_dirty'),
            totalWriteback: stat(raw, 'total_writeback'),
            totalPgPgIn: stat(raw, 'total_pgpgin'),
            totalPgPgOut: stat(raw, 'total_pgpgout'),
            totalPgFault: stat(raw, 'total_pgfault'),
            totalPgMajFault: stat(raw, 'total_pgmajfault'),
            totalInactiveAnon: stat(raw, 'total_inactive_anon'),
            totalActiveAnon: stat(raw, 'total_active_anon'),
            totalInactiveFile: stat(raw, 'total_inactive_file'),
            totalActiveFile: stat(raw, 'total_active_file'),
            totalUnevictable: stat(raw, 'total_unevictable'),
            // ctr's metrics table reads memory.usage without checking it is there.
            usage: entry(mem.usage) ?? {},
            ...(entry(mem.swapUsage) ? { swap: entry(mem.swapUsage) } : {}),
            ...(entry(mem.kernelUsage) ? { kernel: entry(mem.kernelUsage) } : {}),
          },
        }
      : {}),
    ...(blk
      ? {
          blkio: {
            ioServiceBytesRecursive: blkio(blk.ioServiceBytesRecursive),
            ioServicedRecursive: blkio(blk.ioServicedRecursive),
            ioQueuedRecursive: blkio(blk.ioQueuedRecursive),
            ioServiceTimeRecursive: blkio(blk.ioServiceTimeRecursive),
            ioWaitTimeRecursive: blkio(blk.ioWaitTimeRecursive),
            ioMergedRecursive: blkio(blk.ioMergedRecursive),
            ioTimeRecursive: blkio(blk.ioTimeRecursive),
            sectorsRecursive: blkio(blk.sectorsRecursive),
          },
        }
      : {}),
    network: res.networkStats.map((n) => ({
      name: n.name,
      rxBytes: n.rxBytes,
      rxPackets: n.rxPackets,
      rxErrors: n.rxErrors,
      rxDropped: n.rxDropped,
      txBytes: n.txBytes,
      txPackets: n.txPackets,
      txErrors: n.txErrors,
      txDropped: n.txDropped,
    })),
  });
}
