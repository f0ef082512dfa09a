// Parsers for the /proc files the metrics come from. Each takes the file's
// text and returns plain numbers; reading is left to the callers.

/** /proc/loadavg: "0.20 0.18 0.12 1/80 11206". */
export interface LoadAvg {
  load1: number;
  load5: number;
  load15: number;
  /** Runnable scheduling entities. */
  running: number;
  /** All scheduling entities (threads). */
  total: number;
}

export function parseLoadAvg(text: string): LoadAvg {
  const [l1, l5, l15, tasks] = text.trim().split(/\s+/);
  const [running, total] = (tasks ?? '0/0').split('/');
  return {
    load1: Number(l1),
    load5: Number(l5),
    load15: Number(l15),
    running: Number(running),
    total: Number(total),
  };
}

const MEMINFO_NAMES: Record<string, string> = {
  Percpu: 'per_cpu',
  DirectMap4k: 'direct_map_4k',
  DirectMap4M: 'direct_map_4M',
  DirectMap2M: 'direct_map_2M',
  DirectMap1G: 'direct_map_1G',
};

/**
 * The metric item name of a /proc/meminfo key: snake case, as the Rust
 * agent's names ("MemTotal" -> "mem_total", "Active(anon)" -> "active_anon",
 * "SReclaimable" -> "s_reclaimable", "HugePages_Total" -> "hugepages_total").
 */
export function meminfoItemName(key: string): string {
  const fixed = MEMINFO_NAMES[key];
  if (fixed !== undefined) return fixed;
  return key
    .replace(/\(([^)]*)\)/g, '_$1')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/_+/g, '_')
    .replace(/huge_pages/g, 'hugepages');
}

/** /proc/meminfo as item -> value; "kB" values are converted to bytes, the rest (page counts) are kept. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s+(\d+)(\s+kB)?\s*$/.exec(line);
    if (!m) continue;
    out.set(meminfoItemName(m[1]!), Number(m[2]) * (m[3] ? 1024 : 1));
  }
  return out;
}

export const CPU_TIME_ITEMS = [
  'user',
  'nice',
  'system',
  'idle',
  'iowait',
  'irq',
  'softirq',
  'steal',
  'guest',
  'guest_nice',
] as const;

export interface CpuTimes {
  /** "total" for the aggregate line, else the CPU number. */
  cpu: string;
  /** USER_HZ ticks per item of CPU_TIME_ITEMS (missing columns read 0). */
  ticks: Record<(typeof CPU_TIME_ITEMS)[number], number>;
}

/** The "cpu" and "cpuN" lines of /proc/stat. */
export function parseProcStat(text: string): CpuTimes[] {
  const out: CpuTimes[] = [];
  for (const line of text.split('\n')) {
    const m = /^cpu(\d*)\s+(.*)$/.exec(line);
    if (!m) continue;
    const values = m[2]!.trim().split(/\s+/).map(Number);
    const ticks = {} as CpuTimes['ticks'];
    CPU_TIME_ITEMS.forEach((item, i) => {
      ticks[item] = values[i] ?? 0;
    });
    out.push({ cpu: m[1] === '' ? 'total' : m[1]!, ticks });
  }
  return out;
}

export const DISKSTAT_ITEMS = [
  'reads',
  'merged',
  'sectors_read',
  'time_reading',
  'writes',
  'writes_merged',
  'sectors_written',
  'time_writing',
  'in_progress',
  'time_in_progress',
  'weighted_time_in_progress',
  'discards',
  'discards_merged',
  'sectors_discarded',
  'time_discarding',
  'flushes',
  'time_flushing',
] as const;

export interface DiskStat {
  name: string;
  /** Item -> value; kernels older than 4.18/5.5 lack the discard/flush columns. */
  values: Partial<Record<(typeof DISKSTAT_ITEMS)[number], number>>;
}

/** /proc/diskstats: "major minor name" and 11, 15 or 17 counters. */
export function parseDiskstats(text: string): DiskStat[] {
  const out: DiskStat[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const values: DiskStat['values'] = {};
    DISKSTAT_ITEMS.forEach((item, i) => {
      const v = f[3 + i];
      if (v !== undefined) values[item] = Number(v);
    });
    out.push({ name: f[2]!, values });
  }
  return out;
}

/** "key value" lines (/proc/vmstat) or "key: value" lines (/proc/self/io). */
export function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_]+):?\s+(\d+)\s*$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** /proc/<pid>/status "Key:\tvalue [kB]" lines, keys lower-cased, numbers as shown (sizes in kB). */
export function parseProcStatus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_]+):\s+(\d+)(\s+kB)?\s*$/.exec(line);
    if (m) out.set(m[1]!.toLowerCase(), Number(m[2]));
  }
  return out;
}

/** The fields of /proc/<pid>/stat the metrics use. */
export interface PidStat {
  /** Clock ticks. */
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
  numThreads: number;
  /** Bytes. */
  vsize: number;
}

/** /proc/<pid>/stat. The command name may contain spaces and parentheses, so fields are counted from the last ')'. */
export function parsePidStat(text: string): PidStat {
  const rest = text.slice(text.lastIndexOf(')') + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const field = (n: number) => Number(rest[n - 3] ?? 0);
  return {
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
    numThreads: field(20),
    vsize: field(23),
  };
}
