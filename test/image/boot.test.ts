// The image as the runtime uses it: built (or found up to date) in the
// default image directory, booted with QEMU under TCG, the agent reached
// over virtio-serial (a plain unix socket on the host side) with our ttRPC
// client. Also: when the agent exits, the VM powers off and QEMU exits.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildImage } from '../../src/image/build.js';
import { imagePaths } from '../../src/image/paths.js';
import { sha256 } from '../../src/image/hashing.js';
import { defaultImageConfig } from '../../src/image/image-config.js';
import { Client, connect, createClient } from '../../src/ttrpc/index.js';
import { Health, HealthCheckResponse_ServingStatus } from '../../src/protocols/gen/health_pb.js';
import { AgentService } from '../../src/protocols/gen/agent_pb.js';

const QEMU = 'qemu-system-x86_64';
const HAVE_QEMU = spawnSync(QEMU, ['--version']).status === 0;
/** How long the agent may take to answer after QEMU starts (TCG on a busy 2-core host). */
const READY_DEADLINE_MS = 60_000;
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface Vm {
  qemu: ChildProcess;
  socket: string;
  log: () => string;
  stderr: () => string;
  started: number;
}

function bootVm(dir: string, append: string, cpu = 'max'): Vm {
  const image = imagePaths(buildDir);
  const socket = join(dir, 'agent.sock');
  const logFile = join(dir, 'console.log');
  const args = [
    ...['-M', 'q35', '-accel', 'tcg', '-cpu', cpu, '-m', '512'],
    ...['-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot'],
    ...['-kernel', image.kernel, '-initrd', image.initrd],
    ...['-append', `console=ttyS0 quiet panic=-1 cryptomgr.notests ${append}`],
    ...['-serial', `file:${logFile}`],
    ...['-device', 'virtio-serial-pci'],
    ...['-chardev', `socket,path=${socket},server=on,wait=off,id=ch0`],
    ...['-device', 'virtserialport,chardev=ch0,name=agent.channel.0'],
  ];
  const qemu = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  qemu.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return {
    qemu,
    socket,
    started: performance.now(),
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    stderr: () => stderr,
  };
}

async function shutDown(vm: Vm): Promise<void> {
  if (vm.qemu.exitCode !== null || vm.qemu.signalCode !== null) return;
  const exited = once(vm.qemu, 'exit');
  vm.qemu.kill('SIGTERM');
  const killer = setTimeout(() => vm.qemu.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(killer);
}

/** Connects and calls Health.Check until it answers SERVING; returns the connected client. */
async function waitForAgent(vm: Vm): Promise<Client> {
  const deadline = vm.started + READY_DEADLINE_MS;
  let lastError: unknown;
  while (performance.now() < deadline) {
    if (vm.qemu.exitCode !== null) throw new Error(`QEMU exited (${vm.qemu.exitCode}): ${vm.stderr()}\n${vm.log()}`);
    let client: Client | undefined;
    try {
      client = new Client(await connect(`unix://${vm.socket}`, { timeoutMs: Math.max(1, deadline - performance.now()) }));
      const reply = await createClient(client, Health).check({}, { timeoutMs: 5000 });
      if (reply.status === HealthCheckResponse_ServingStatus.SERVING) return client;
      lastError = new Error(`Health.Check answered status ${reply.status}`);
    } catch (err) {
      lastError = err;
    }
    await client?.close();
    await sleep(200);
  }
  throw new Error(`the agent did not answer within ${READY_DEADLINE_MS} ms (last error: ${(lastError as Error)?.message})\n${vm.log()}`);
}

let buildDir = '';
let snapshotBuilt = false;

async function ensureImage(t: TestContext): Promise<void> {
  const started = performance.now();
  const result = await buildImage();
  buildDir = result.outDir;
  const m = result.manifest;
  snapshotBuilt = m.startupSnapshot?.built === true;
  t.diagnostic(
    `image ${result.upToDate ? 'up to date' : 'built'} in ${((performance.now() - started) / 1000).toFixed(1)} s: ` +
      `initrd ${(m.outputs['initrd.img']!.bytes / 2 ** 20).toFixed(1)} MiB, vmlinux ${(m.outputs.vmlinux!.bytes / 2 ** 20).toFixed(1)} MiB`,
  );
}

describe('booting the image under QEMU (TCG)', { skip: HAVE_QEMU ? false : `${QEMU} is not installed` }, () => {
  test('the default image carries the startup snapshot the manifest describes, made under TCG by this QEMU', { timeout: 600_000 }, async (t) => {
    await ensureImage(t);
    const paths = imagePaths(buildDir);
    const { manifest: m } = await buildImage();
    const record = m.startupSnapshot;
    assert.ok(record?.built === true, JSON.stringify(record));
    assert.equal(record.accel, 'tcg');
    assert.equal(record.cpu, 'max');
    assert.match(record.qemu, /^QEMU emulator version /);
    const blob = spawnSync('cpio', ['-i', '--quiet', '--to-stdout', '-F', paths.initrd, 'opt/kata-ts/agent.blob'], { maxBuffer: 1 << 26 });
    assert.equal(blob.status, 0);
    assert.equal(blob.stdout.length, record.bytes);
    assert.equal(sha256(blob.stdout), record.sha256);
    assert.ok(m.inputs.files.some((f) => f.path === defaultImageConfig().qemu), 'QEMU is an input: another QEMU may give TCG guests another CPU');
  });

  test('the agent answers Health and GetGuestDetails over virtio-serial', { timeout: 600_000 }, async (t) => {
    await ensureImage(t);
    const dir = mkdtempSync(join(tmpdir(), 'kata-boot-'));
    const vm = bootVm(dir, 'agent.server_addr=serial:///dev/virtio-ports/agent.channel.0');
    let client: Client | undefined;
    try {
      client = await waitForAgent(vm);
      t.diagnostic(`agent ready ${((performance.now() - vm.started) / 1000).toFixed(1)} s after QEMU started`);
      const health = createClient(client, Health);
      const version = await health.version({});
      assert.equal(version.agentVersion, VERSION, 'the bundle reports the checkout version');

      const details = await createClient(client, AgentService).getGuestDetails({ memBlockSize: true, memHotplugProbe: true }, { timeoutMs: 10_000 });
      assert.equal(details.agentDetails?.version, VERSION);
      assert.ok(details.memBlockSizeBytes > 0n, 'memory block size read from the guest sysfs');
      assert.ok((details.agentDetails?.storageHandlers.length ?? 0) > 0, 'storage handlers listed');

      const log = vm.log();
      assert.doesNotMatch(log, /kata-ts-init: (insmod .* failed|cannot mount cgroup2|cannot bring up lo|virtio-serial port)/, log);
      // The image was built with QEMU here, so with the startup snapshot, and the agent started from it.
      assert.ok(snapshotBuilt, 'the default image has the startup snapshot');
      assert.match(log, /kata-ts-init: starting the agent from its startup snapshot/);
      assert.doesNotMatch(log, /node refused the startup snapshot/);
      assert.match(log, /"msg":"agent listening"/);
      // The modules the agent loads once listening (GetGuestDetails above waited for them).
      assert.doesNotMatch(log, /late kernel modules failed|cannot load the late kernel modules/, log);
    } finally {
      await client?.close();
      await shutDown(vm);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('on another CPU model node refuses the snapshot; /init says so and starts the agent from its script', { timeout: 600_000 }, async (t) => {
    await ensureImage(t);
    const dir = mkdtempSync(join(tmpdir(), 'kata-boot-'));
    // qemu64 lacks features of "max" (AVX, BMI...), as a KVM host's CPU differs from TCG's.
    const vm = bootVm(dir, 'agent.server_addr=serial:///dev/virtio-ports/agent.channel.0', 'qemu64');
    let client: Client | undefined;
    try {
      client = await waitForAgent(vm);
      assert.equal((await createClient(client, Health).version({})).agentVersion, VERSION);
      const log = vm.log();
      assert.match(log, /kata-ts-init: node refused the startup snapshot \(made for another CPU or node\); starting the agent from its script/, log);
      assert.match(log, /"msg":"agent listening"/);
    } finally {
      await client?.close();
      await shutDown(vm);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('when the agent exits, the VM powers off and QEMU exits by itself', { timeout: 300_000 }, async (t) => {
    await ensureImage(t);
    const dir = mkdtempSync(join(tmpdir(), 'kata-boot-'));
    // The agent cannot listen there, logs why and exits 1.
    const vm = bootVm(dir, 'agent.server_addr=unix:///nonexistent-dir/agent.sock');
    try {
      const exited = once(vm.qemu, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      const timeout = sleep(READY_DEADLINE_MS).then(() => 'timeout' as const);
      const result = await Promise.race([exited, timeout]);
      assert.notEqual(result, 'timeout', `QEMU still running after ${READY_DEADLINE_MS} ms:\n${vm.log()}`);
      assert.deepEqual(result, [0, null], vm.stderr());
      const log = vm.log();
      assert.match(log, /cannot listen/);
      assert.match(log, /kata-ts-init: agent exited with status 1; powering off/);
    } finally {
      await shutDown(vm);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
