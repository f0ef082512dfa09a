// `events [--stats] [--interval DURATION] ID`: the container's resource
// usage as runc prints it ({"type":"stats","id":...,"data":{...}}, one JSON
// object per line): once with --stats, else every interval until the
// container stops, with {"type":"oom","id":...} for each out-of-memory kill.
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlkIOEntry, Metrics } from '../../../protocols/gen/containerd/cgroups/stats/v1/metrics_pb.js';
import { metricsFromAny } from '../../task/task-service.js';
import { loadContainer, withMonitor } from '../containers.js';
import { CliError, type Context } from '../context.js';
import type { CommandRunner } from './types.js';

// Counters stay exact (a memory limit of "none" is 2^64 - 1): bigints, written as JSON numbers.
const n = (v: bigint | undefined): bigint => v ?? 0n;

/** JSON.stringify that writes bigints as plain numbers, as Go does for uint64. */
export function jsonWithBigInts(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `\u0000${v}` : v)).replace(/"\\u0000([0-9]+)"/g, '$1');
}

function blkio(entries: readonly BlkIOEntry[]) {
  return entries.map((e) => ({ major: n(e.major), minor: n(e.minor), op: e.op, value: n(e.value) }));
}

/** cgroups v1 Metrics in the shape of runc's stats (its types.Stats JSON). */
export function runcStats(m: Metrics): Record<string, unknown> {
  const mem = m.memory;
  const entry = (e: { limit: bigint; usage: bigint; max: bigint; failcnt: bigint } | undefined) => ({
    limit: n(e?.limit),
    usage: n(e?.usage),
    max: n(e?.max),
    failcnt: n(e?.failcnt),
  });
  const raw: Record<string, bigint> = mem
    ? {
        cache: n(mem.cache),
        rss: n(mem.rss),
        rss_huge: n(mem.rssHuge),
        mapped_file: n(mem.mappedFile),
        dirty: n(mem.dirty),
        writeback: n(mem.writeback),
        pgpgin: n(mem.pgPgIn),
        pgpgout: n(mem.pgPgOut),
        pgfault: n(mem.pgFault),
        pgmajfault: n(mem.pgMajFault),
        inactive_anon: n(mem.inactiveAnon),
        active_anon: n(mem.activeAnon),
        inactive_file: n(mem.inactiveFile),
        active_file: n(mem.activeFile),
        unevictable: n(mem.unevictable),
        hierarchical_memory_limit: n(mem.hierarchicalMemoryLimit),
        total_cache: n(mem.totalCache),
        total_rss: n(mem.totalRss),
      }
    : {};
  return {
    cpu: {
      usage: {
        total: n(m.cpu?.usage?.total),
        percpu: (m.cpu?.usage?.perCpu ?? []).map(n),
        kernel: n(m.cpu?.usage?.kernel),
        user: n(m.cpu?.usage?.user),
      },
      throttling: {
        periods: n(m.cpu?.throttling?.periods),
        throttledPeriods: n(m.cpu?.throttling?.throttledPeriods),
        throttledTime: n(m.cpu?.throttling?.throttledTime),
      },
    },
    memory: {
      cache: n(mem?.cache),
      usage: entry(mem?.usage),
      swap: entry(mem?.swap),
      kernel: entry(mem?.kernel),
      kernelTCP: entry(mem?.kernelTcp),
      raw,
    },
    pids: { current: n(m.pids?.current), limit: n(m.pids?.limit) },
    blkio: {
      ioServiceBytesRecursive: blkio(m.blkio?.ioServiceBytesRecursive ?? []),
      ioServicedRecursive: blkio(m.blkio?.ioServicedRecursive ?? []),
      ioQueueRecursive: blkio(m.blkio?.ioQueuedRecursive ?? []),
      ioServiceTimeRecursive: blkio(m.blkio?.ioServiceTimeRecursive ?? []),
      ioWaitTimeRecursive: blkio(m.blkio?.ioWaitTimeRecursive ?? []),
      ioMergedRecursive: blkio(m.blkio?.ioMergedRecursive ?? []),
      ioTimeRecursive: blkio(m.blkio?.ioTimeRecursive ?? []),
      sectorsRecursive: blkio(m.blkio?.sectorsRecursive ?? []),
    },
    hugetlb: Object.fromEntries(m.hugetlb.map((h) => [h.pagesize, { usage: n(h.usage), max: n(h.max), failcnt: n(h.failcnt) }])),
    network_interfaces: m.network.map((i) => ({
      name: i.name,
      rx_bytes: n(i.rxBytes),
      rx_packets: n(i.rxPackets),
      rx_errors: n(i.rxErrors),
      rx_dropped: n(i.rxDropped),
      tx_bytes: n(i.txBytes),
      tx_packets: n(i.txPackets),
      tx_errors: n(i.txErrors),
      tx_dropped: n(i.txDropped),
    })),
  };
}

/** "5s", "500ms", "1m", or plain seconds. */
export function parseDuration(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new CliError(`invalid duration ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!;
  const ms = Number(m[1]) * unit;
  if (ms <= 0) throw new CliError('duration must be greater than 0');
  return ms;
}

async function statsLine(ctx: Context, id: string): Promise<string | null> {
  const c = await loadContainer(ctx, id);
  if (c.state.status === 'stopped') return null;
  const { stats } = await withMonitor(c, (task) => task.stats({ id }));
  return `${jsonWithBigInts({ type: 'stats', id, data: runcStats(metricsFromAny(stats)) })}\n`;
}

/** One {"type":"oom"} line per out-of-memory kill recorded since `seen`. */
async function oomLines(ctx: Context, id: string, seen: number): Promise<{ lines: string; seen: number }> {
  const kills = (await loadContainer(ctx, id)).state.oomKills ?? 0;
  return { lines: `${JSON.stringify({ type: 'oom', id })}\n`.repeat(Math.max(0, kills - seen)), seen: Math.max(seen, kills) };
}

export function register(program: Command, run: CommandRunner): void {
  program
    .command('events')
    .description('print the container\'s resource usage (JSON lines)')
    .argument('<id>', 'container id')
    .option('--stats', 'print the usage once and exit')
    .option('--interval <duration>', 'time between two reports', '5s')
    .action((id: string, o: { stats?: boolean; interval: string }) =>
      run(async (ctx) => {
        const interval = parseDuration(o.interval);
        const first = await statsLine(ctx, id);
        if (first === null) throw new CliError(`container "${id}" is stopped`);
        process.stdout.write(first);
        if (o.stats) return;
        // OOM kills from now on are reported as they are seen (checked every second).
        let seen = (await loadContainer(ctx, id)).state.oomKills ?? 0;
        let next = Date.now() + interval;
        for (;;) {
          await sleep(Math.min(1000, Math.max(0, next - Date.now())));
          const oom = await oomLines(ctx, id, seen).catch(() => null);
          if (oom === null) return;
          seen = oom.seen;
          if (oom.lines) process.stdout.write(oom.lines);
          if (Date.now() < next) continue;
          next += interval;
          const line = await statsLine(ctx, id).catch(() => null);
          if (line === null) return;
          process.stdout.write(line);
        }
      }),
    );
}
