// The shim binary's command protocol, run as containerd runs it but
// without containerd and without a VM (no task is ever created): `start`
// (daemon, address, pod grouping, runtime options, failures), the daemon's
// task API and log, `delete` for a live shim and after a killed one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync } from 'node:child_process';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { AnySchema, timestampDate } from '@bufbuild/protobuf/wkt';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { DeleteResponseSchema, Task } from '../../../src/protocols/gen/containerd/runtime/v2/task/shim_pb.js';
import { shimPaths, shimSocketAddress } from '../../../src/runtime/shim/layout.js';
import { readShimRecord, shimAlive } from '../../../src/runtime/shim/record.js';
import { Client, Code, connect, createClient, isTtrpcError } from '../../../src/ttrpc/index.js';
import { killAndWait, mountsUnder, processesMentioning } from '../../managers/leftovers.js';
import { binPath, run } from '../../helpers/processes.js';

const SHIM = binPath('containerd-shim-kata-ts-v2');

function runtimeOptions(configPath: string): Buffer {
  const options = new BinaryWriter().tag(2, 2).string(configPath).finish();
  return Buffer.from(toBinary(AnySchema, create(AnySchema, { typeUrl: 'runtimeoptions.v1.Options', value: options })));
}

describe('containerd-shim-kata-ts-v2 without containerd', { skip: process.getuid?.() !== 0 ? 'needs root' : undefined }, () => {
  let dir: string;
  let grpcAddress: string;
  let runRoot: string;
  let env: NodeJS.ProcessEnv;
  const namespace = `shimtest-${process.pid}`;
  const sockets: string[] = [];

  /** A bundle as containerd lays them out: <state>/<namespace>/<id>/config.json. */
  function bundle(id: string, annotations: Record<string, string> = {}): string {
    const b = join(dir, 'state', namespace, id);
    mkdirSync(join(b, 'rootfs'), { recursive: true });
    writeFileSync(join(b, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', hostname: id, annotations, process: { args: ['true'], cwd: '/' }, root: { path: 'rootfs' } }));
    sockets.push(shimPaths(shimSocketAddress(grpcAddress, namespace, id), runRoot).socket);
    return b;
  }

  /** Runs the shim as containerd does: flags, an action, the bundle as working directory, options on stdin. */
  function shim(cwd: string, id: string, action: string[], stdin: Buffer = Buffer.alloc(0)): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
    const args = ['-namespace', namespace, '-address', grpcAddress, '-publish-binary', '/usr/bin/containerd', '-id', id, ...action];
    return new Promise((resolve, reject) => {
      const child = spawn(SHIM, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
      child.stdin.end(stdin);
    });
  }

  async function taskClient(address: string) {
    const client = new Client(await connect(address, { timeoutMs: 5_000 }));
    return { client, task: createClient(client, Task) };
  }

  async function waitGone(pid: number): Promise<void> {
    for (let i = 0; i < 500; i++) {
      const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'latin1') : '';
      if (stat === '' || / [ZX] /.test(stat.slice(stat.lastIndexOf(')')))) return;
      await sleep(20);
    }
    throw new Error(`process ${pid} still alive`);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-shim-bin-'));
    grpcAddress = join(dir, 'containerd.sock');
    runRoot = join(dir, 'run');
    env = { ...process.env, KATA_TS_SHIM_RUN_ROOT: runRoot, TTRPC_ADDRESS: '' };
  });

  after(async () => {
    // Whatever a failed test left: daemons of this test, their sockets and mounts.
    await killAndWait((await processesMentioning(grpcAddress)).map((p) => p.pid));
    for (const m of (await mountsUnder(dir)).reverse()) execFileSync('umount', ['--lazy', m]);
    for (const s of sockets) await rm(s, { force: true });
    await rm(dir, { recursive: true, force: true });
  });

  test('start: a daemon serving the task API; its address printed and in the bundle; the log in containerd\'s fifo', async () => {
    const b = bundle('sb1');
    // containerd holds the log fifo open read-write before it runs `start`.
    execFileSync('mkfifo', [join(b, 'log')]);
    const logFd = openSync(join(b, 'log'), constants.O_RDWR | constants.O_NONBLOCK);
    try {
      const r = await shim(b, 'sb1', ['start']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '', 'nothing but the address: containerd reads stdout and stderr together');
      const address = r.stdout.toString();
      assert.equal(address, shimSocketAddress(grpcAddress, namespace, 'sb1'));
      assert.equal(readFileSync(join(b, 'address'), 'utf8'), address);
      const paths = shimPaths(address, runRoot);
      assert.equal(statSync(paths.socket).mode & 0o777, 0o600);
      const record = readShimRecord(paths.recordFile)!;
      assert.ok(shimAlive(record));
      const cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0');
      assert.deepEqual(cmdline.slice(cmdline.indexOf('-namespace'), cmdline.indexOf('-namespace') + 6), ['-namespace', namespace, '-id', 'sb1', '-address', grpcAddress]);

      const { client, task } = await taskClient(address);
      try {
        const c = await task.connect({ id: 'sb1' });
        assert.equal(c.shimPid, record.pid);
        assert.equal(c.taskPid, 0, 'no VM yet');
        await assert.rejects(task.state({ id: 'nope' }), (e: unknown) => isTtrpcError(e) && e.code === Code.NOT_FOUND);
        await assert.rejects(task.checkpoint({ id: 'sb1', path: '/x' }), (e: unknown) => isTtrpcError(e) && e.code === Code.UNIMPLEMENTED);
        await assert.rejects(task.create({ id: 'sb1', bundle: '' }), (e: unknown) => isTtrpcError(e) && e.code === Code.INVALID_ARGUMENT && /bundle/.test(e.message));
      } finally {
        await client.close();
      }

      // Asked again (containerd retrying): the same shim.
      const again = await shim(b, 'sb1', ['start']);
      assert.equal(again.stdout.toString(), address);
      assert.equal(readShimRecord(paths.recordFile)!.pid, record.pid);

      // A container of the pod: the sandbox's shim, no new daemon.
      const m = bundle('app1', { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'sb1' });
      const member = await shim(m, 'app1', ['start']);
      assert.equal(member.code, 0, member.stderr);
      assert.equal(member.stdout.toString(), address);
      assert.equal(readFileSync(join(m, 'address'), 'utf8'), address);
      assert.equal((await processesMentioning(`-address ${grpcAddress}`)).length, 1);

      const log = Buffer.alloc(65536);
      const n = (await import('node:fs')).readSync(logFd, log);
      const lines = log.subarray(0, n).toString().trim().split('\n').map((l) => JSON.parse(l) as { msg: string; address?: string });
      assert.ok(lines.some((l) => l.msg === 'shim serving' && l.address === address), 'the daemon logs into the fifo');

      // `delete` for the member while the shim lives: through the shim, which
      // had no task at all and so shuts down.
      const del = await shim(m, 'app1', ['-bundle', m, 'delete']);
      assert.equal(del.code, 0, del.stderr);
      const resp = fromBinary(DeleteResponseSchema, del.stdout);
      assert.equal(resp.exitStatus, 137);
      assert.ok(Math.abs(timestampDate(resp.exitedAt!).getTime() - Date.now()) < 60_000);
      await waitGone(record.pid);
      assert.equal(existsSync(paths.socket), false, 'socket removed');
      assert.equal(existsSync(paths.dir), false, 'shim directory removed');
    } finally {
      closeSync(logFd);
    }
  });

  test('start: a pod container whose sandbox has no shim is refused', async () => {
    const m = bundle('app2', { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'sb-none' });
    const r = await shim(m, 'app2', ['start']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout.length, 0);
    assert.match(r.stderr, /the shim of pod sandbox sb-none is not running/);
    assert.equal(existsSync(join(m, 'address')), false);
  });

  test('start: the configuration named by the runtime options is used, and a bad one fails start', async () => {
    const b = bundle('sb3');
    const missing = join(dir, 'missing.toml');
    let r = await shim(b, 'sb3', ['start'], runtimeOptions(missing));
    assert.equal(r.code, 1);
    assert.equal(r.stdout.length, 0);
    assert.match(r.stderr, new RegExp(`cannot read configuration file ${missing}`));
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, '[hypervisor.qemu]\ndefault_memroy = 256\n');
    r = await shim(b, 'sb3', ['start'], runtimeOptions(bad));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /hypervisor\.qemu\.default_memroy: unknown key/);
    assert.equal(existsSync(join(b, 'address')), false);
    assert.deepEqual(await processesMentioning(`-id sb3 `), [], 'no daemon left');
  });

  test('delete after the shim was killed: what it left is removed', async () => {
    const b = bundle('sb4');
    const r = await shim(b, 'sb4', ['start']);
    assert.equal(r.code, 0, r.stderr);
    const paths = shimPaths(r.stdout.toString(), runRoot);
    const record = readShimRecord(paths.recordFile)!;
    // What a dead shim leaves: a mount under its VM directory, a process of
    // its VM (a stand-in naming the directory, as QEMU's command line does),
    // the container's rootfs mount on the bundle.
    mkdirSync(join(paths.dir, 'vm', 'shared'), { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', join(paths.dir, 'vm', 'shared')]);
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', join(b, 'rootfs')]);
    const standIn = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', join(paths.dir, 'vm', 'qmp.sock')], { detached: true, stdio: 'ignore' });
    standIn.unref();
    process.kill(record.pid, 'SIGKILL');
    await waitGone(record.pid);
    assert.ok(existsSync(paths.socket), 'a killed shim leaves its socket');

    const del = await shim(b, 'sb4', ['-bundle', b, 'delete']);
    assert.equal(del.code, 0, del.stderr);
    const resp = fromBinary(DeleteResponseSchema, del.stdout);
    assert.deepEqual([resp.pid, resp.exitStatus], [0, 137]);
    await waitGone(standIn.pid!);
    assert.deepEqual(await mountsUnder(dir), []);
    assert.equal(existsSync(paths.dir), false);
    assert.equal(existsSync(paths.socket), false);
    // Nothing left to do: a second delete (containerd may run one per container of a pod) succeeds too.
    const again = await shim(b, 'sb4', ['-bundle', b, 'delete']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await readdir(runRoot), []);
  });

  test('SIGTERM ends the daemon cleanly', async () => {
    const b = bundle('sb5');
    const r = await shim(b, 'sb5', ['start']);
    assert.equal(r.code, 0, r.stderr);
    const paths = shimPaths(r.stdout.toString(), runRoot);
    const record = readShimRecord(paths.recordFile)!;
    process.kill(record.pid, 'SIGTERM');
    await waitGone(record.pid);
    assert.equal(existsSync(paths.socket), false);
    assert.equal(existsSync(paths.dir), false);
  });

  test('flags: version, unknown flags, missing namespace, unknown action', async () => {
    let r = await run(SHIM, ['-v']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^containerd-shim-kata-ts-v2:\n {2}Version: +\d+\.\d+\.\d+/);
    r = await run(SHIM, ['-namespace', 'x', '-bogus', 'start']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /flag provided but not defined: -bogus/);
    r = await run(SHIM, ['-id', 'x', 'start']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /namespace cannot be empty/);
    r = await run(SHIM, ['-namespace', 'x', '-id', 'x', 'frobnicate']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown action "frobnicate"/);
  });
});
