// Device remapping benchmark: our plan-then-apply remapping against the
// naive one-at-a-time algorithm, for 10 to 100k devices.
//
//   node --expose-gc --import tsx bench/device-remap/run.ts [--sizes 10,1000,10000,100000] [--naive-max 10000] [--samples 7]
//
// Workload per size N: N devices (/dev/d0 ...), N cgroup rules (one per
// device, in reverse order), every device updated, updates in shuffled order.
// Guest numbers are the host numbers of the NEXT device, so the updates form
// one big cycle: every guest value collides with another device's host value,
// the worst case for a collision-unaware algorithm (whose output is wrong
// here anyway; it is timed only to show its growth).
//
// Reported per size: median time per call of ours, per device, and beside
// it three reference runs on the same data, with ratios:
// - "path Map": build a Map of the updates by container path and look up
//   every device's path in it. Any path-keyed algorithm does at least this.
//   Hash tables slow down per operation once they outgrow the CPU caches
//   (from about 10k entries here), so even this bare floor grows faster
//   than N on real hardware; ours/Map staying flat shows ours grows like it.
// - "JSON copy": a JSON round trip of the spec, a linear, cache-friendly
//   yardstick of this machine's speed.
// - the naive algorithm (naive/ours grows with N).
// Then the growth exponent k of time ~ N^k from a least-squares fit of
// log(time) on log(N), for each.
import { remapSpecDevices } from '../../src/oci/devices/remap.js';
import type { DeviceCgroupRule, DeviceUpdate, SpecDeviceEntry } from '../../src/oci/devices/types.js';
import { naiveRemapSpecDevices } from './naive-remap.js';

interface BenchSpec {
  ociVersion: string;
  linux: { devices: SpecDeviceEntry[]; resources: { devices: DeviceCgroupRule[] } };
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const SIZES = option('sizes', '10,1000,10000,100000').split(',').map(Number);
const NAIVE_MAX = Number(option('naive-max', '10000'));
const SAMPLES = Number(option('samples', '7'));
/** A sample repeats the call until it has run at least this long. */
const MIN_SAMPLE_MS = 40;

/** Small deterministic PRNG (mulberry32), so every run times the same workload. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hostNumbers(i: number): { major: number; minor: number } {
  return { major: 10 + (i >> 12), minor: i & 0xfff };
}

function workload(n: number): { spec: BenchSpec; updates: DeviceUpdate[] } {
  const devices: SpecDeviceEntry[] = [];
  const rules: DeviceCgroupRule[] = [];
  for (let i = 0; i < n; i++) {
    const { major, minor } = hostNumbers(i);
    devices.push({ path: `/dev/d${i}`, type: 'c', major, minor });
    rules.push({ allow: true, type: 'c', major, minor, access: i % 3 === 0 ? 'r' : 'rwm' });
  }
  rules.reverse();
  const updates: DeviceUpdate[] = devices.map((d, i) => ({ containerPath: d.path, type: 'c', ...hostNumbers((i + 1) % n) }));
  const rand = prng(n);
  for (let i = updates.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [updates[i], updates[j]] = [updates[j]!, updates[i]!];
  }
  return { spec: { ociVersion: '1.0.2', linux: { devices, resources: { devices: rules } } }, updates };
}

let sink = 0; // keeps results alive so no work is optimised away
const gc = (globalThis as { gc?: () => void }).gc; // present with --expose-gc

/** How many calls of `fn` make one sample last at least MIN_SAMPLE_MS. */
function calibrate(fn: () => unknown): number {
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) sink += fn() === undefined ? 1 : 0;
    const ms = performance.now() - t0;
    if (ms >= MIN_SAMPLE_MS || reps >= 1 << 20) return reps;
    reps *= Math.max(2, Math.ceil(MIN_SAMPLE_MS / Math.max(ms, 0.01)));
  }
}

/**
 * Median milliseconds per call of each function. Samples of the different
 * functions are interleaved (a, b, c, a, b, c, ...), so that a burst of load
 * from elsewhere on the machine hits all of them alike and the ratios stay
 * meaningful; with --expose-gc a full collection runs before each sample.
 */
function timeInterleaved(fns: Record<string, () => unknown>): Record<string, number> {
  const names = Object.keys(fns);
  const reps = Object.fromEntries(names.map((n) => [n, calibrate(fns[n]!)]));
  const perCall: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let s = 0; s < SAMPLES; s++) {
    for (const name of names) {
      gc?.();
      const fn = fns[name]!;
      const t0 = performance.now();
      for (let r = 0; r < reps[name]!; r++) sink += fn() === undefined ? 1 : 0;
      perCall[name]!.push((performance.now() - t0) / reps[name]!);
    }
  }
  return Object.fromEntries(
    names.map((n) => {
      const xs = perCall[n]!.sort((a, b) => a - b);
      return [n, xs[Math.floor(xs.length / 2)]!];
    }),
  );
}

/** Least-squares slope of log(y) against log(x). */
function growthExponent(points: readonly [number, number][]): number {
  const xs = points.map(([x]) => Math.log(x));
  const ys = points.map(([, y]) => Math.log(y));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i]! - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

function fmtMs(ms: number): string {
  if (ms < 0.01) return `${(ms * 1000).toFixed(2)} us`;
  if (ms < 1) return `${(ms * 1000).toFixed(0)} us`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

interface Row {
  n: number;
  ours: number;
  map: number;
  copy: number;
  naive?: number;
}

/** The "path Map" reference: the hash work any path-keyed remapping must do. */
function pathMapOnly(spec: BenchSpec, updates: readonly DeviceUpdate[]): number {
  const byPath = new Map<string, DeviceUpdate>();
  for (const u of updates) byPath.set(u.containerPath, u);
  let hits = 0;
  for (const d of spec.linux.devices) if (byPath.get(d.path) !== undefined) hits++;
  return hits;
}

function main(): void {
  console.log(`device-remap: N devices + N rules, all updated, guest numbers = next device's host numbers (one N-cycle)`);
  console.log(
    `node ${process.version}, ${SAMPLES} interleaved samples per point (median), naive run up to N=${NAIVE_MAX}, ` +
      `${gc ? 'full GC before each sample' : 'run with --expose-gc for a GC before each sample'}\n`,
  );
  const rows: Row[] = [];
  for (const n of SIZES) {
    const { spec, updates } = workload(n);
    // Check once that ours does the job at this size (every device at its guest numbers).
    const out = remapSpecDevices(spec, updates);
    const want = new Map(updates.map((u) => [u.containerPath, u]));
    for (const d of out.linux.devices) {
      const u = want.get(d.path)!;
      if (d.major !== u.major || d.minor !== u.minor) throw new Error(`wrong result for ${d.path} at N=${n}`);
    }
    const fns: Record<string, () => unknown> = {
      ours: () => remapSpecDevices(spec, updates),
      map: () => pathMapOnly(spec, updates),
      copy: () => JSON.parse(JSON.stringify(spec)),
    };
    if (n <= NAIVE_MAX) fns.naive = () => naiveRemapSpecDevices(spec, updates);
    const t = timeInterleaved(fns);
    const row: Row = { n, ours: t.ours!, map: t.map!, copy: t.copy! };
    if (t.naive !== undefined) row.naive = t.naive;
    rows.push(row);
    process.stderr.write(`  measured N=${n}\n`);
  }

  const header = ['N', 'ours (median)', 'per device', 'path Map', 'ours/Map', 'JSON copy', 'ours/copy', 'naive (median)', 'naive/ours'];
  const table = rows.map((r) => [
    String(r.n),
    fmtMs(r.ours),
    `${((r.ours * 1e6) / r.n).toFixed(0)} ns`,
    fmtMs(r.map),
    (r.ours / r.map).toFixed(1),
    fmtMs(r.copy),
    (r.ours / r.copy).toFixed(2),
    r.naive === undefined ? 'skipped' : fmtMs(r.naive),
    r.naive === undefined ? '-' : `${(r.naive / r.ours).toFixed(1)}x`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...table.map((t) => t[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padStart(widths[c]!)).join('  ');
  console.log(line(header));
  for (const t of table) console.log(line(t));

  const big = rows.filter((r) => r.n >= 1000);
  const naiveRows = rows.filter((r) => r.naive !== undefined && r.n >= 1000);
  console.log('');
  const exp = (pick: (r: Row) => number, from: Row[]) => growthExponent(from.map((r) => [r.n, pick(r)])).toFixed(2);
  if (big.length >= 2) {
    console.log(`growth exponent (log-log fit, N >= 1000; 1 = linear, 2 = quadratic):`);
    console.log(`  ours              ${exp((r) => r.ours, big)}   (all sizes: ${exp((r) => r.ours, rows)}; N=10 is mostly fixed cost)`);
    console.log(`  path Map (floor)  ${exp((r) => r.map, big)}   ours/Map: ${exp((r) => r.ours / r.map, big)} (0 = ours grows exactly like the bare Map)`);
    console.log(`  JSON copy         ${exp((r) => r.copy, big)}`);
  }
  if (naiveRows.length >= 2) {
    const k = growthExponent(naiveRows.map((r) => [r.n, r.naive!]));
    console.log(`  naive             ${k.toFixed(2)}   (N = ${naiveRows.map((r) => r.n).join(', ')})`);
    const last = naiveRows.at(-1)!;
    for (const r of rows.filter((x) => x.naive === undefined)) {
      const estimate = last.naive! * (r.n / last.n) ** k;
      console.log(`naive at N=${r.n} skipped (--naive-max ${NAIVE_MAX}): its fit predicts about ${fmtMs(estimate)} per call`);
    }
  }
  if (sink === -1) console.log(sink);
}

main();
