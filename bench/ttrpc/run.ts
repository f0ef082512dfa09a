// ttRPC unary round trip: our TypeScript server against containerd's Go ttrpc
// server (the interop peer in interop/go), side by side in one run.
//
// Both servers run in their own process on a unix socket and answer
// grpc.Health/Check. Each load generator, the Go peer's bench-client and our
// own client (ts-bench-client.ts), runs against both servers with 1 and with
// 64 callers in flight on one connection; the table gives p50/p99 latency,
// throughput and the server's CPU time per call, and the ratio ours / Go for
// each. Rounds alternate the server order and the table shows each figure's
// median over the rounds.
//
//   node --import tsx bench/ttrpc/run.ts [--duration 2000] [--warmup 500] [--rounds 3] [--concurrency 1,64] [--json]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import {
  buildGoPeer,
  goInstalled,
  runGoBenchClient,
  runProcess,
  startGoServer,
  startServerProcess,
  type BenchResult,
  type ServerProcess,
} from '../../test/interop/go-peer.js';

/** The latency target for our implementation, as a multiple of Go's. */
const TARGET_RATIO = 1.5;

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1,64' },
    json: { type: 'boolean', default: false },
  },
});
const durationMs = Number(values.duration);
const warmupMs = Number(values.warmup);
const rounds = Number(values.rounds);
const concurrencies = values.concurrency.split(',').map(Number);

type ClientName = 'go' | 'ours';
type ServerName = 'go' | 'ours';
const CLIENTS: ClientName[] = ['go', 'ours'];

if (!goInstalled()) {
  console.error('bench/ttrpc: "go" is not installed; install golang-go golang-github-containerd-ttrpc-dev ' +
    'golang-github-gogo-protobuf-dev gogoprotobuf protobuf-compiler (scripts/install-deps.sh does)');
  process.exit(1);
}

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const node = (script: string, args: string[]): [string, string[]] => [
  process.execPath,
  ['--import', 'tsx', here(script), ...args],
];

const binary = buildGoPeer();
const dir = mkdtempSync(join(tmpdir(), 'kata-ttrpc-bench-'));
const servers: Partial<Record<ServerName, ServerProcess>> = {};
try {
  servers.go = await startGoServer(binary, join(dir, 'go.sock'));
  const [cmd, args] = node('./ts-server.ts', ['--socket', join(dir, 'ours.sock')]);
  servers.ours = await startServerProcess(cmd, args, join(dir, 'ours.sock'));

  const pids: Record<ServerName, number | undefined> = {
    go: serverPid(servers.go.socket),
    ours: serverPid(servers.ours.socket),
  };

  // results[client][concurrency][server] = one result per round
  const results = new Map<string, RunResult[]>();
  const key = (c: ClientName, n: number, s: ServerName): string => `${c}/${n}/${s}`;
  for (let round = 0; round < rounds; round++) {
    const order: ServerName[] = round % 2 === 0 ? ['go', 'ours'] : ['ours', 'go'];
    for (const clientName of CLIENTS) {
      for (const concurrency of concurrencies) {
        for (const serverName of order) {
          const socket = servers[serverName]!.socket;
          const cpuBefore = cpuMs(pids[serverName]);
          const bench = await runClient(clientName, socket, concurrency);
          const result = { ...bench, server_cpu_us: serverCpuPerCall(cpuBefore, cpuMs(pids[serverName]), bench) };
          const list = results.get(key(clientName, concurrency, serverName)) ?? [];
          list.push(result);
          results.set(key(clientName, concurrency, serverName), list);
          process.stderr.write(
            `round ${round + 1}/${rounds}: ${clientName} client, ${concurrency} callers, ${serverName} server: ` +
              `p50 ${result.p50_us.toFixed(0)} us, ${result.calls_per_sec.toFixed(0)} calls/s, ` +
              `server CPU ${result.server_cpu_us.toFixed(1)} us/call\n`,
          );
        }
      }
    }
  }

  if (values.json) {
    console.log(JSON.stringify(Object.fromEntries(results), null, 2));
  }
  printTable(results, key);
} finally {
  await Promise.allSettled(Object.values(servers).map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
}

/** One run's figures, and the server's CPU time per call (NaN where /proc cannot tell). */
type RunResult = BenchResult & { server_cpu_us: number };

/** The pid of the server process started with `--socket <socket>`, found through /proc (Linux). */
function serverPid(socket: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(socket)) return Number(entry);
    } catch {
      // The process went away meanwhile, or is not ours to read.
    }
  }
  return undefined;
}

/** CPU time (user + system) a process has used so far, in ms; undefined if unknown. */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (name) ": state is the 3rd field; utime and stime are
    // the 14th and 15th, in clock ticks of 1/100 s (USER_HZ on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * The server's CPU time per call during one client run, in us. The CPU time
 * covers the whole run (warm-up included) while `calls` counts the measured
 * part only, so the calls of the warm-up are estimated at the measured rate.
 */
function serverCpuPerCall(before: number | undefined, after: number | undefined, result: BenchResult): number {
  if (before === undefined || after === undefined || result.calls === 0) return NaN;
  const allCalls = result.calls * ((durationMs + warmupMs) / durationMs);
  return ((after - before) * 1000) / allCalls;
}

async function runClient(clientName: ClientName, socket: string, concurrency: number): Promise<BenchResult> {
  const opts = { concurrency, durationMs, warmupMs };
  if (clientName === 'go') return runGoBenchClient(binary, socket, opts);
  const [cmd, args] = node('./ts-bench-client.ts', [
    '--socket', socket,
    '--concurrency', String(concurrency),
    '--duration', String(durationMs),
    '--warmup', String(warmupMs),
  ]);
  const out = await runProcess(cmd, args, durationMs + warmupMs + 60_000);
  if (out.code !== 0) throw new Error(`ts-bench-client failed (${out.code}): ${out.stderr}`);
  return JSON.parse(out.stdout) as BenchResult;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function printTable(
  results: Map<string, RunResult[]>,
  key: (c: ClientName, n: number, s: ServerName) => string,
): void {
  const clientLabel: Record<ClientName, string> = { go: 'Go ttrpc client', ours: 'our TS client' };
  const header = ['client', 'callers', 'server', 'p50 us', 'p99 us', 'calls/s', 'server CPU us/call'];
  const rows: string[][] = [];
  const verdicts: string[] = [];
  for (const clientName of CLIENTS) {
    for (const concurrency of concurrencies) {
      const figures = (s: ServerName) => {
        const list = results.get(key(clientName, concurrency, s))!;
        return {
          p50: median(list.map((r) => r.p50_us)),
          p99: median(list.map((r) => r.p99_us)),
          rate: median(list.map((r) => r.calls_per_sec)),
          cpu: median(list.map((r) => r.server_cpu_us)),
        };
      };
      const go = figures('go');
      const ours = figures('ours');
      const label = clientLabel[clientName];
      const row = (f: typeof go): string[] =>
        [f.p50.toFixed(0), f.p99.toFixed(0), f.rate.toFixed(0), f.cpu.toFixed(1)];
      rows.push([label, String(concurrency), 'Go ttrpc', ...row(go)]);
      rows.push(['', '', 'ours', ...row(ours)]);
      const p50Ratio = ours.p50 / go.p50;
      const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;
      rows.push([
        '', '', 'ours / Go',
        ratio(ours.p50, go.p50), ratio(ours.p99, go.p99), ratio(ours.rate, go.rate), ratio(ours.cpu, go.cpu),
      ]);
      verdicts.push(
        `${label}, ${concurrency} caller(s): p50 latency ${p50Ratio.toFixed(2)}x Go's ` +
          (p50Ratio <= TARGET_RATIO ? `(within the ${TARGET_RATIO}x target)` : `(MISSES the ${TARGET_RATIO}x target)`),
      );
    }
  }

  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(
    `\nttRPC unary round trip (grpc.Health/Check, unix socket): median of ${rounds} round(s) of ${durationMs} ms ` +
      `after ${warmupMs} ms warm-up; latency and CPU: lower is better; calls/s: higher is better\n`,
  );
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  console.log('');
  for (const verdict of verdicts) console.log(verdict);
}
