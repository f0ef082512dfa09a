// Metrics about the agent process itself: the Rust agent's kata_agent_*
// gauges, read from /proc/self, plus Node's standard process and runtime
// metrics under the same prefix (kata_agent_process_cpu_seconds_total,
// kata_agent_nodejs_heap_size_used_bytes, ...).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import type { Logger } from '../../common/logger.js';
import { liveGauge } from './gauge.js';
import { parseKeyValues, parsePidStat, parseProcStatus } from './procfs.js';

export const AGENT_PREFIX = 'kata_agent_';

/** USER_HZ: /proc/<pid>/stat times are in 1/100 s. */
const TICKS_PER_SECOND = 100;

/** /proc/self/status lines exported as kata_agent_proc_status items (sizes in kB, as the file shows them). */
const STATUS_ITEMS = [
  'vmpeak',
  'vmsize',
  'vmlck',
  'vmpin',
  'vmhwm',
  'vmrss',
  'rssanon',
  'rssfile',
  'rssshmem',
  'vmdata',
  'vmstk',
  'vmexe',
  'vmlib',
  'vmpte',
  'vmswap',
  'hugetlbpages',
  'voluntary_ctxt_switches',
  'nonvoluntary_ctxt_switches',
];

const IO_ITEMS = ['rchar', 'wchar', 'syscr', 'syscw', 'read_bytes', 'write_bytes', 'cancelled_write_bytes'];

export interface AgentMetricsOptions {
  procRoot: string;
  defaultMetrics: boolean;
  logger: Logger;
}

export function registerAgentMetrics(registry: Registry, o: AgentMetricsOptions): void {
  const self = (name: string) => readFile(join(o.procRoot, 'self', name), 'utf8');
  const g = (name: string, help: string, labels: string[], fill: Parameters<typeof liveGauge>[4]) =>
    liveGauge(registry, AGENT_PREFIX + name, help, labels, fill, o.logger);

  g('threads', 'Agent process threads.', [], async (set) => {
    set({}, parsePidStat(await self('stat')).numThreads);
  });
  g('total_time', 'Agent process total CPU time, seconds.', [], async (set) => {
    const s = parsePidStat(await self('stat'));
    set({}, (s.utime + s.stime) / TICKS_PER_SECOND);
  });
  g('total_vm', 'Agent process total virtual memory size, bytes.', [], async (set) => {
    set({}, parsePidStat(await self('stat')).vsize);
  });
  g('total_rss', 'Agent process total resident set size, bytes.', [], async (set) => {
    set({}, (parseProcStatus(await self('status')).get('vmrss') ?? 0) * 1024);
  });
  g('proc_status', 'Agent process status (/proc/self/status; sizes in kB).', ['item'], async (set) => {
    const status = parseProcStatus(await self('status'));
    for (const item of STATUS_ITEMS) set({ item }, status.get(item) ?? 0);
  });
  g('io_stat', 'Agent process I/O statistics (/proc/self/io).', ['item'], async (set) => {
    const io = parseKeyValues(await self('io'));
    for (const item of IO_ITEMS) set({ item }, io.get(item) ?? 0);
  });
  g('proc_stat', 'Agent process CPU times in clock ticks (/proc/self/stat).', ['item'], async (set) => {
    const s = parsePidStat(await self('stat'));
    set({ item: 'utime' }, s.utime);
    set({ item: 'stime' }, s.stime);
    set({ item: 'cutime' }, s.cutime);
    set({ item: 'cstime' }, s.cstime);
  });

  if (o.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: AGENT_PREFIX });
}
