// ttRPC unary round trip: our TypeScript server against containerd's Go ttrpc
// server (the interop peer in interop/go), side by side in one run.
//
// Both servers run in their own process on a unix socket and answer
// grpc.Health/Check. Each load generator, the Go peer's bench-client and our
// own client (ts-bench-client.ts), runs against both servers with 1 and with
// 64 callers in flight on one connection; the table gives p50/p99 latency and
// throughput, and the ratio ours / Go for each. Rounds alternate the server
// order and the table shows each figure's median over the rounds.
//
//   node --import tsx bench/ttrpc/run.ts [--duration 2000] [--warmup 500] [--rounds 3] [--concurrency 1,64] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
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

  // results[client][concurrency][server] = one result per round
  const results = new Map<string, BenchResult[]>();
  const key = (c: ClientName, n: number, s: ServerName): string => `${c}/${n}/${s}`;
  for (let round = 0; round < rounds; round++) {
    const order: ServerName[] = round % 2 === 0 ? ['go', 'ours'] : ['ours', 'go'];
    for (const clientName of CLIENTS) {
      for (const concurrency of concurrencies) {
        for (const serverName of order) {
          const socket = servers[serverName]!.socket;
          const result = await runClient(clientName, socket, concurrency);
          const list = results.get(key(clientName, concurrency, serverName)) ?? [];
          list.push(result);
          results.set(key(clientName, concurrency, serverName), list);
          process.stderr.write(
            `round ${round + 1}/${rounds}: ${clientName} client, ${concurrency} callers, ${serverName} server: ` +
              `p50 ${result.p50_us.toFixed(0)} us, ${result.calls_per_sec.toFixed(0)} calls/s\n`,
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
  results: Map<string, BenchResult[]>,
  key: (c: ClientName, n: number, s: ServerName) => string,
): void {
  const clientLabel: Record<ClientName, string> = { go: 'Go ttrpc client', ours: 'our TS client' };
  const header = ['client', 'callers', 'server', 'p50 us', 'p99 us', 'calls/s'];
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
        };
      };
      const go = figures('go');
      const ours = figures('ours');
      const label = clientLabel[clientName];
      rows.push([label, String(concurrency), 'Go ttrpc', go.p50.toFixed(0), go.p99.toFixed(0), go.rate.toFixed(0)]);
      rows.push(['', '', 'ours', ours.p50.toFixed(0), ours.p99.toFixed(0), ours.rate.toFixed(0)]);
      const p50Ratio = ours.p50 / go.p50;
      rows.push([
        '', '', 'ours / Go',
        `${p50Ratio.toFixed(2)}x`, `${(ours.p99 / go.p99).toFixed(2)}x`, `${(ours.rate / go.rate).toFixed(2)}x`,
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
      `after ${warmupMs} ms warm-up; latency: lower is better; calls/s: higher is better\n`,
  );
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  console.log('');
  for (const verdict of verdicts) console.log(verdict);
}
