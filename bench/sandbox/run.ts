// How long our VM takes to boot, stage by stage, and how long a hot-plugged
// disk takes to show up in the guest, beside a bare reference boot.
//
//   node --import tsx bench/sandbox/run.ts [--rounds 3] [--image DIR] [--baseline DIR] [--json]
//
// Needs QEMU and the guest image (bin/kata-ts-image build; --image boots the
// vmlinux and initrd.img of another image directory), and busybox-static for
// the reference initrd. --baseline boots a second image the same way in every
// round (e.g. one built before a change) and shows it beside ours.
//
// Per round, in alternating order:
//   ours       Vm.start with the guest image (kernel messages on, so the boot
//              timeline has its console stages), then one raw disk image
//              hot-plugged and unplugged, then the VM stopped.
//   reference  the same QEMU binary, accelerator, machine, CPU count, memory
//              and kernel, with no devices but the serial console and an
//              initrd holding only busybox, whose /init powers the VM off at
//              once. Its console is followed the same way as ours, so its
//              "kernel start" and "init start" stages are measured alike;
//              "powered off" is QEMU's exit.
//
// Stages (host clock, from QEMU's spawn; see src/runtime/qemu/boot-timeline.ts):
//   QEMU start     QMP answered (reference: no QMP, not measured)
//   kernel start   "Linux version" on the console
//   init start     "Run /init as init process" on the console
//   agent port     the guest opened the agent's port
//   first Check    Health.Check answered (reference: QEMU exited after poweroff)
// and the differences: kernel->init and init->ready (reference: init->exit).
// The ratio ours/reference on the end-to-end time shows what our initrd and
// agent add to a bare kernel boot.
//
// Hot-plug: blockdev-add + device_add of a 16 MiB raw image into a free PCIe
// root port (the QMP part), then until the guest's virtio-blk driver has
// probed it (its memory BARs enabled in query-pci, polled every 20 ms: the
// runtime's own hot-plug wait, DiskHotplugger.plug). It does not include the
// agent's lookup by PCI path (CreateContainer), which starts from that point.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG, writeNewcCpio } from '../../src/image/initrd-cpio.js';
import { imagePaths } from '../../src/image/paths.js';
import { resolveConfig } from '../../src/runtime/config/load.js';
import { chooseAccelerator, CPU_MODEL, type Accelerator } from '../../src/runtime/qemu/accel.js';
import { ConsoleMarkers, type BootTimeline } from '../../src/runtime/qemu/boot-timeline.js';
import { DiskHotplugger } from '../../src/runtime/qemu/hotplug.js';
import { Vm } from '../../src/runtime/qemu/vm.js';
import type { RuntimeConfig } from '../../src/runtime/config/schema.js';
import { findBusybox } from '../../test/helpers/busybox-rootfs.js';
import { writeRawDisk } from '../../test/runtime/helpers.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    image: { type: 'string' },
    baseline: { type: 'string' },
  },
});
const rounds = Number(flags.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: a positive integer, got ${flags.rounds}`);

interface OursSample {
  timeline: BootTimeline;
  /** blockdev-add + device_add answered. */
  plugQmpMs: number;
  /** From blockdev-add until the guest driver took the disk. */
  plugVisibleMs: number;
}

interface ReferenceSample {
  kernelStartMs?: number;
  initStartMs?: number;
  exitMs: number;
}

/** An initrd with busybox whose /init powers the VM off at once. */
async function writePoweroffInitrd(path: string): Promise<void> {
  const busybox = findBusybox();
  if (!busybox) throw new Error('busybox not found (package busybox-static)');
  const init = ['#!/bin/busybox sh', '/bin/busybox poweroff -f', ''].join('\n');
  await writeNewcCpio(
    [
      { name: 'bin', mode: S_IFDIR | 0o755 },
      { name: 'bin/busybox', mode: S_IFREG | 0o755, body: { path: busybox } },
      { name: 'bin/sh', mode: S_IFLNK | 0o777, body: Buffer.from('busybox') },
      { name: 'dev', mode: S_IFDIR | 0o755 },
      { name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
      { name: 'init', mode: S_IFREG | 0o755, body: Buffer.from(init) },
    ],
    path,
  );
}

async function bootOurs(config: RuntimeConfig, dir: string, round: number, disk: string): Promise<OursSample> {
  const runDir = await mkdtemp(join(dir, `ours-${round}-`));
  const vm = await Vm.start({ id: `bench-${round}`, runDir, config });
  try {
    const hotplug = new DiskHotplugger(vm.qmp, config.qemu.pcieRootPorts, 10_000, 0);
    const t0 = performance.now();
    const plugged = await hotplug.plug({ path: disk, kind: 'file' });
    const plugQmpMs = performance.now() - t0;
    const seen = await hotplug.waitForGuestDriver(plugged, 10_000);
    const plugVisibleMs = performance.now() - t0;
    if (!seen) throw new Error('the guest did not take the hot-plugged disk within 10 s');
    await hotplug.unplug(plugged);
    return { timeline: { ...vm.timeline }, plugQmpMs, plugVisibleMs };
  } finally {
    await vm.stop();
    await rm(runDir, { recursive: true, force: true });
  }
}

async function bootReference(config: RuntimeConfig, accel: Accelerator, dir: string, round: number, initrd: string): Promise<ReferenceSample> {
  const consoleLog = join(dir, `reference-${round}.log`);
  const q = config.qemu;
  const args = [
    '-machine', `q35,accel=${accel}`,
    '-cpu', CPU_MODEL[accel],
    '-smp', String(q.vcpus),
    '-m', `${q.memoryMiB}M`,
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-serial', `file:${consoleLog}`,
    '-kernel', q.kernel,
    '-initrd', initrd,
    '-append', 'console=ttyS0 panic=-1 cryptomgr.notests printk.time=1',
  ];
  const timeline: BootTimeline = { checkAttempts: 0 };
  const start = performance.now();
  const child = spawn(q.path, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const markers = new ConsoleMarkers(consoleLog, timeline, () => Math.round(performance.now() - start));
  // Polls until QEMU has created the file, then follows it.
  markers.start();
  const [code] = (await once(child, 'exit')) as [number | null];
  const exitMs = Math.round(performance.now() - start);
  await markers.stop();
  await rm(consoleLog, { force: true });
  if (code !== 0) throw new Error(`reference QEMU exited with ${code}`);
  return {
    ...(timeline.kernelStartMs !== undefined ? { kernelStartMs: timeline.kernelStartMs } : {}),
    ...(timeline.initStartMs !== undefined ? { initStartMs: timeline.initStartMs } : {}),
    exitMs,
  };
}

interface Stats {
  median: number;
  min: number;
  max: number;
}

function stats(values: (number | undefined)[]): Stats | undefined {
  const v = values.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]! };
}

function diff(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a - b;
}

function fmt(s: Stats | undefined): string {
  if (!s) return '-';
  return `${s.median.toFixed(0)} (${s.min.toFixed(0)}-${s.max.toFixed(0)})`;
}

/** The runtime configuration booting the image in `imageDir` (default: the built-in image directory). */
function configFor(imageDir: string | undefined): RuntimeConfig {
  const image = imageDir !== undefined ? imagePaths(imageDir) : undefined;
  return resolveConfig({
    hypervisor: { qemu: { shared_fs: 'virtio-9p', debug: true, ...(image ? { kernel: image.kernel, initrd: image.initrd } : {}) } },
  });
}

/** Rows of the boot table: a name and the value of one sample. */
const STAGES: [string, (t: BootTimeline) => number | undefined, (r: ReferenceSample) => number | undefined][] = [
  ['QEMU start (QMP up)', (t) => t.qemuStartMs, () => undefined],
  ['kernel start', (t) => t.kernelStartMs, (r) => r.kernelStartMs],
  ['init start', (t) => t.initStartMs, (r) => r.initStartMs],
  ['agent port open', (t) => t.agentPortOpenMs, () => undefined],
  ['first Check / ref. exit', (t) => t.agentReadyMs, (r) => r.exitMs],
  ['  kernel -> init', (t) => diff(t.initStartMs, t.kernelStartMs), (r) => diff(r.initStartMs, r.kernelStartMs)],
  ['  init -> agent port', (t) => diff(t.agentPortOpenMs, t.initStartMs), () => undefined],
  ['  init -> ready / exit', (t) => diff(t.agentReadyMs, t.initStartMs), (r) => diff(r.exitMs, r.initStartMs)],
];

function ratio(a: Stats | undefined, b: Stats | undefined): string {
  return a && b && b.median > 0 ? (a.median / b.median).toFixed(2) : '-';
}

async function main(): Promise<void> {
  const config = configFor(flags.image);
  const baselineConfig = flags.baseline !== undefined ? configFor(flags.baseline) : undefined;
  const { accel } = await chooseAccelerator(config.qemu.path, config.qemu.accel);
  const dir = await mkdtemp(join(tmpdir(), 'kata-ts-bench-sandbox-'));
  const ours: OursSample[] = [];
  const baseline: OursSample[] = [];
  const ref: ReferenceSample[] = [];
  try {
    const initrd = join(dir, 'poweroff-initrd.img');
    await writePoweroffInitrd(initrd);
    const disk = join(dir, 'disk.img');
    await writeRawDisk(disk, 16, 'BENCHDSK');
    const boots: (() => Promise<void>)[] = [
      async () => void ours.push(await bootOurs(config, dir, ours.length, disk)),
      async () => void ref.push(await bootReference(config, accel, dir, ref.length, initrd)),
    ];
    if (baselineConfig) boots.push(async () => void baseline.push(await bootOurs(baselineConfig, dir, 100 + baseline.length, disk)));
    for (let r = 0; r < rounds; r++) {
      // Rotate which goes first, so that none always gets a warm cache.
      for (let i = 0; i < boots.length; i++) await boots[(r + i) % boots.length]!();
      process.stderr.write(`round ${r + 1}/${rounds} done\n`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  if (flags.json) {
    process.stdout.write(JSON.stringify({ accel, rounds, ours, ...(baselineConfig ? { baseline } : {}), reference: ref }, null, 2) + '\n');
    return;
  }
  const t = ours.map((s) => s.timeline);
  const b = baseline.map((s) => s.timeline);
  console.log(`VM boot, ${rounds} rounds, accel ${accel}, ${config.qemu.vcpus} vCPU, ${config.qemu.memoryMiB} MiB; ms since QEMU spawn: median (min-max)`);
  if (baselineConfig) console.log(`ours: ${config.qemu.initrd}; baseline: ${baselineConfig.qemu.initrd}`);
  const head = `${'stage'.padEnd(28)}${'ours'.padStart(20)}${baselineConfig ? 'baseline'.padStart(20) : ''}${'reference'.padStart(20)}`;
  console.log(`${head}${baselineConfig ? 'ours/base'.padStart(11) : ''}${'ours/ref'.padStart(10)}`);
  for (const [name, ofOurs, ofRef] of STAGES) {
    const o = stats(t.map(ofOurs));
    const bs = stats(b.map(ofOurs));
    const r = stats(ref.map(ofRef));
    const cells = `${fmt(o).padStart(20)}${baselineConfig ? fmt(bs).padStart(20) : ''}${fmt(r).padStart(20)}`;
    console.log(`${name.padEnd(28)}${cells}${baselineConfig ? ratio(o, bs).padStart(11) : ''}${ratio(o, r).padStart(10)}`);
  }
  console.log(`Health.Check attempts: ${t.map((x) => x.checkAttempts).join(', ')}${baselineConfig ? ` (baseline: ${b.map((x) => x.checkAttempts).join(', ')})` : ''}`);
  console.log('');
  const plugRows: [string, (s: OursSample) => number][] = [
    ['hot-plug: QMP (blockdev-add + device_add)', (s) => s.plugQmpMs],
    ['hot-plug: until the guest driver has it', (s) => s.plugVisibleMs],
  ];
  for (const [name, of] of plugRows) {
    console.log(`${name.padEnd(44)}${fmt(stats(ours.map(of))).padStart(20)} ms${baselineConfig ? `   baseline ${fmt(stats(baseline.map(of)))} ms` : ''}`);
  }
}

await main();
