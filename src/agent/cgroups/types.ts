// Plain data types of the cgroup layer.
//
// The statistics types have the shape of Kata's CgroupStats and NetworkStats
// messages (agent.proto), with the field names protobuf-es gives them
// (cpu_stats -> cpuStats, total_usage -> totalUsage, ...) and bigint for every
// uint64. A CgroupStats value can therefore be handed to
// `create(CgroupStatsSchema, stats)` as is, while this module stays free of
// protocol types.
//
// The resource types follow the OCI runtime spec's config.json
// (`linux.resources`), which is what UpdateContainer carries once the RPC
// layer has turned the protobuf LinuxResources into the OCI model.

// ---------------------------------------------------------------- statistics

export interface CpuUsage {
  /** Total CPU time consumed, nanoseconds. */
  totalUsage: bigint;
  /** CPU time per CPU, nanoseconds (cgroup v1 only; empty on v2). */
  percpuUsage: bigint[];
  /** Time spent in kernel mode, nanoseconds. */
  usageInKernelmode: bigint;
  /** Time spent in user mode, nanoseconds. */
  usageInUsermode: bigint;
}

export interface ThrottlingData {
  /** CFS enforcement periods that have elapsed. */
  periods: bigint;
  /** Periods in which the group was throttled. */
  throttledPeriods: bigint;
  /** Total time throttled, nanoseconds. */
  throttledTime: bigint;
}

export interface CpuStats {
  cpuUsage: CpuUsage;
  throttlingData: ThrottlingData;
}

/** Usage figures of one memory counter, bytes. */
export interface MemoryData {
  usage: bigint;
  maxUsage: bigint;
  failcnt: bigint;
  limit: bigint;
}

export interface MemoryStats {
  /** Page cache, bytes (v1 memory.stat `cache`, v2 memory.stat `file`). */
  cache: bigint;
  usage: MemoryData;
  swapUsage: MemoryData;
  kernelUsage: MemoryData;
  useHierarchy: boolean;
  /** Every counter of memory.stat, verbatim. */
  stats: Record<string, bigint>;
}

export interface PidsStats {
  current: bigint;
  /** 0 when unlimited. */
  limit: bigint;
}

export interface BlkioStatsEntry {
  major: bigint;
  minor: bigint;
  /** Lower-case operation ("read", "write", "sync", "async", "discard", "total"), or "" for per-device totals. */
  op: string;
  value: bigint;
}

export interface BlkioStats {
  ioServiceBytesRecursive: BlkioStatsEntry[];
  ioServicedRecursive: BlkioStatsEntry[];
  ioQueuedRecursive: BlkioStatsEntry[];
  ioServiceTimeRecursive: BlkioStatsEntry[];
  ioWaitTimeRecursive: BlkioStatsEntry[];
  ioMergedRecursive: BlkioStatsEntry[];
  ioTimeRecursive: BlkioStatsEntry[];
  sectorsRecursive: BlkioStatsEntry[];
}

export interface HugetlbStats {
  usage: bigint;
  maxUsage: bigint;
  failcnt: bigint;
}

export interface CgroupStats {
  cpuStats: CpuStats;
  memoryStats: MemoryStats;
  pidsStats: PidsStats;
  blkioStats: BlkioStats;
  /** Keyed by page size as the kernel names it ("2MB", "1GB"). */
  hugetlbStats: Record<string, HugetlbStats>;
}

export interface NetworkStats {
  name: string;
  rxBytes: bigint;
  rxPackets: bigint;
  rxErrors: bigint;
  rxDropped: bigint;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  txDropped: bigint;
}

// ----------------------------------------------------------------- resources

/** An integer from JSON (number) or from protobuf int64/uint64 (bigint). */
export type Int = number | bigint;

export interface LinuxMemory {
  /** Memory limit, bytes; -1 = unlimited. */
  limit?: Int | null;
  /** Soft limit, bytes. */
  reservation?: Int | null;
  /** Memory plus swap limit, bytes; -1 = unlimited. */
  swap?: Int | null;
  /** Kernel memory limit, bytes (cgroup v1, old kernels). */
  kernel?: Int | null;
  /** Kernel TCP buffer limit, bytes (cgroup v1). */
  kernelTCP?: Int | null;
  /** 0-100 (cgroup v1). */
  swappiness?: Int | null;
  disableOOMKiller?: boolean | null;
}

export interface LinuxCpu {
  /** Relative weight (cgroup v1 cpu.shares, 2-262144). */
  shares?: Int | null;
  /** CFS quota per period, microseconds; -1 = unlimited. */
  quota?: Int | null;
  /** CFS period, microseconds. */
  period?: Int | null;
  realtimeRuntime?: Int | null;
  realtimePeriod?: Int | null;
  /** CPU list, e.g. "0-3,6". */
  cpus?: string | null;
  /** Memory node list. */
  mems?: string | null;
}

export interface LinuxPids {
  /** Maximum number of tasks; 0 or negative = unlimited. */
  limit?: Int | null;
}

export interface LinuxWeightDevice {
  major: Int;
  minor: Int;
  weight?: Int | null;
  leafWeight?: Int | null;
}

export interface LinuxThrottleDevice {
  major: Int;
  minor: Int;
  rate: Int;
}

export interface LinuxBlockIO {
  /** 10-1000. */
  weight?: Int | null;
  leafWeight?: Int | null;
  weightDevice?: LinuxWeightDevice[] | null;
  throttleReadBpsDevice?: LinuxThrottleDevice[] | null;
  throttleWriteBpsDevice?: LinuxThrottleDevice[] | null;
  throttleReadIOPSDevice?: LinuxThrottleDevice[] | null;
  throttleWriteIOPSDevice?: LinuxThrottleDevice[] | null;
}

export interface LinuxHugepageLimit {
  /** Page size as the kernel names it: "2MB", "1GB", "64KB". */
  pageSize: string;
  /** Bytes. */
  limit: Int;
}

/** One device-cgroup rule; major/minor absent or -1 mean "any". */
export interface LinuxDeviceCgroup {
  allow: boolean;
  /** "a", "c" or "b"; absent means "a". */
  type?: string | null;
  major?: Int | null;
  minor?: Int | null;
  /** Some of "rwm"; absent means "rwm". */
  access?: string | null;
}

export interface LinuxInterfacePriority {
  name: string;
  priority: Int;
}

export interface LinuxNetwork {
  classID?: Int | null;
  priorities?: LinuxInterfacePriority[] | null;
}

/** The OCI `linux.resources` object. */
export interface CgroupResources {
  devices?: LinuxDeviceCgroup[] | null;
  memory?: LinuxMemory | null;
  cpu?: LinuxCpu | null;
  pids?: LinuxPids | null;
  blockIO?: LinuxBlockIO | null;
  hugepageLimits?: LinuxHugepageLimit[] | null;
  network?: LinuxNetwork | null;
  /** cgroup v2 files to write verbatim ("memory.high": "1G"). */
  unified?: Record<string, string> | null;
}
