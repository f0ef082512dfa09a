// Our ttRPC client as a benchmark load generator, the counterpart of the Go
// peer's bench-client mode (same flags, same JSON line): `--concurrency`
// callers keep grpc.Health/Check calls going on one connection for
// `--duration` ms after `--warmup` ms, each call with a 10 s deadline (as the
// Go one sends).
//
//   node --import tsx bench/ttrpc/ts-bench-client.ts --socket /tmp/x.sock --concurrency 64 --duration 3000
import { parseArgs } from 'node:util';

import { Health } from '../../src/protocols/gen/health_pb.js';
import { Client, connect, createClient } from '../../src/ttrpc/index.js';
import type { BenchResult } from '../../test/interop/go-peer.js';

const CALL_TIMEOUT_MS = 10_000;

const { values } = parseArgs({
  options: {
    socket: { type: 'string' },
    concurrency: { type: 'string', default: '1' },
    duration: { type: 'string', default: '3000' },
    warmup: { type: 'string', default: '500' },
  },
});
if (!values.socket) {
  console.error('usage: ts-bench-client.ts --socket PATH [--concurrency N] [--duration MS] [--warmup MS]');
  process.exit(2);
}
const concurrency = Number(values.concurrency);
const durationMs = Number(values.duration);
const warmupMs = Number(values.warmup);

const client = new Client(await connect(`unix://${values.socket}`, { timeoutMs: 5000 }));
const health = createClient(client, Health);

/** Runs the callers for `spanMs`; returns every call's round trip in microseconds. */
async function hammer(spanMs: number): Promise<number[]> {
  const end = process.hrtime.bigint() + BigInt(Math.round(spanMs * 1e6));
  const latencies: number[] = [];
  const caller = async (): Promise<void> => {
    while (process.hrtime.bigint() < end) {
      const began = process.hrtime.bigint();
      await health.check({}, { timeoutMs: CALL_TIMEOUT_MS });
      latencies.push(Number(process.hrtime.bigint() - began) / 1000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  return latencies;
}

/** Nearest-rank percentile of sorted values (as the Go bench-client computes it). */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

await hammer(warmupMs);
const started = process.hrtime.bigint();
const latencies = await hammer(durationMs);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
latencies.sort((a, b) => a - b);

const result: BenchResult = {
  client: 'ts-ttrpc',
  concurrency,
  calls: latencies.length,
  seconds,
  p50_us: percentile(latencies, 0.5),
  p99_us: percentile(latencies, 0.99),
  calls_per_sec: latencies.length / seconds,
};
console.log(JSON.stringify(result));
await client.close();
