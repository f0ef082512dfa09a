// Metrics about the guest system (kata_guest_*), named as the Rust agent
// names them: load, tasks, cpu_time (milliseconds), vm_stat, netdev_stat,
// diskstat and meminfo (bytes).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/logger.js';
import { parseNetDev } from '../cgroups/network.js';
import { liveGauge } from './gauge.js';
import {
  CPU_TIME_ITEMS,
  parseDiskstats,
  parseKeyValues,
  parseLoadAvg,
  parseMeminfo,
  parseProcStat,
} from './procfs.js';

export const GUEST_PREFIX = 'kata_guest_';

/** /proc/stat counts USER_HZ (1/100 s) ticks; the metric is in ms. */
const MS_PER_TICK = 10;

/** netdev_stat items, in /proc/net/dev column order. */
const NETDEV_ITEMS = [
  ['recv_bytes', 'rxBytes'],
  ['recv_packets', 'rxPackets'],
  ['recv_errs', 'rxErrors'],
  ['recv_drop', 'rxDropped'],
  ['recv_fifo', 'rxFifo'],
  ['recv_frame', 'rxFrame'],
  ['recv_compressed', 'rxCompressed'],
  ['recv_multicast', 'rxMulticast'],
  ['sent_bytes', 'txBytes'],
  ['sent_packets', 'txPackets'],
  ['sent_errs', 'txErrors'],
  ['sent_drop', 'txDropped'],
  ['sent_fifo', 'txFifo'],
  ['sent_colls', 'txColls'],
  ['sent_carrier', 'txCarrier'],
  ['sent_compressed', 'txCompressed'],
] as const;

export interface GuestMetricsOptions {
  procRoot: string;
  logger: Logger;
}

export function registerGuestMetrics(registry: Registry, o: GuestMetricsOptions): void {
  const proc = (name: string) => readFile(join(o.procRoot, name), 'utf8');
  const g = (name: string, help: string, labels: string[], fill: Parameters<typeof liveGauge>[4]) =>
    liveGauge(registry, GUEST_PREFIX + name, help, labels, fill, o.logger);

  g('load', 'Guest system load.', ['item'], async (set) => {
    const l = parseLoadAvg(await proc('loadavg'));
    set({ item: 'load1' }, l.load1);
    set({ item: 'load5' }, l.load5);
    set({ item: 'load15' }, l.load15);
  });
  g('tasks', 'Guest system tasks: runnable (cur) and total (max).', ['item'], async (set) => {
    const l = parseLoadAvg(await proc('loadavg'));
    set({ item: 'cur' }, l.running);
    set({ item: 'max' }, l.total);
  });
  g('cpu_time', 'Guest CPU time, milliseconds.', ['cpu', 'item'], async (set) => {
    for (const c of parseProcStat(await proc('stat'))) {
      for (const item of CPU_TIME_ITEMS) set({ cpu: c.cpu, item }, c.ticks[item] * MS_PER_TICK);
    }
  });
  g('vm_stat', 'Guest virtual memory statistics (/proc/vmstat).', ['item'], async (set) => {
    for (const [item, v] of parseKeyValues(await proc('vmstat'))) set({ item }, v);
  });
  g('netdev_stat', 'Guest network device statistics.', ['interface', 'item'], async (set) => {
    for (const dev of parseNetDev(await proc('net/dev'))) {
      for (const [item, key] of NETDEV_ITEMS) set({ interface: dev.name, item }, Number(dev[key]));
    }
  });
  g('diskstat', 'Guest disk statistics (/proc/diskstats).', ['disk', 'item'], async (set) => {
    for (const d of parseDiskstats(await proc('diskstats'))) {
      for (const [item, v] of Object.entries(d.values)) set({ disk: d.name, item }, v);
    }
  });
  g('meminfo', 'Guest memory statistics (/proc/meminfo; sizes in bytes).', ['item'], async (set) => {
    for (const [item, v] of parseMeminfo(await proc('meminfo'))) set({ item }, v);
  });
}
