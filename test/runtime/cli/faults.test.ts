// What `kata-ts-runtime` does when things die under it: the create command
// killed half-way, the monitor killed, QEMU killed, the state directory's
// disk full. In each case `state` tells the truth and `delete` (--force
// where needed) leaves no process, mount or file behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mountsBelow } from '../../../src/runtime/monitor/cleanup.js';
import { busyboxSpec, createBusyboxRootfs, type BusyboxRootfs } from '../../helpers/busybox-rootfs.js';
import { binPath } from '../../helpers/processes.js';
import { alive, entries, imageMissing, waitNoProcessesMentioning } from '../helpers.js';

const RUNTIME = binPath('kata-ts-runtime');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('kata-ts-runtime under faults', { skip: imageMissing() }, () => {
  let dir: string;
  let rootfs: BusyboxRootfs;
  let bundle: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-faults-'));
    rootfs = await createBusyboxRootfs();
    bundle = join(dir, 'bundle');
    await mkdir(bundle);
    await writeFile(join(bundle, 'config.json'), JSON.stringify(busyboxSpec({ rootfs: rootfs.rootfs, args: ['sleep', '1000'] })));
  });
  after(async () => {
    for (const m of await mountsBelow(dir)) execFileSync('umount', ['-l', m]);
    await rootfs?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Runs the runtime with its output in files: a detached container keeps
   * (duplicates of) our stdio, so pipes would not reach their end.
   */
  async function rt(root: string, args: string[]): Promise<Result> {
    const out = join(dir, 'out.txt');
    const err = join(dir, 'err.txt');
    const [o, e] = [openSync(out, 'w'), openSync(err, 'w')];
    const child = spawn(RUNTIME, ['--root', root, ...args], { stdio: ['ignore', o, e] });
    closeSync(o);
    closeSync(e);
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
  }

  async function stateOf(root: string, id: string): Promise<{ status: string; pid: number }> {
    const r = await rt(root, ['state', id]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { status: string; pid: number };
  }

  async function waitStatus(root: string, id: string, status: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await stateOf(root, id);
      if (s.status === status) return;
      assert.ok(Date.now() < deadline, `state stayed ${s.status}, wanted ${status}`);
      await sleep(200);
    }
  }

  async function assertNothingLeft(root: string): Promise<void> {
    assert.deepEqual(await waitNoProcessesMentioning(root, 10_000), [], 'no monitor, QEMU or virtiofsd left');
    assert.deepEqual(await mountsBelow(root), [], 'no mounts left');
    assert.deepEqual(await entries(root), [], 'no state left');
  }

  function qemuPid(root: string): number {
    const out = execFileSync('pgrep', ['-f', `qemu-system.*${root}`], { encoding: 'utf8' }).trim().split('\n');
    assert.equal(out.length, 1, `one QEMU: ${out.join(' ')}`);
    return Number(out[0]);
  }

  test('the create command killed while the VM boots: the monitor gives up, state says stopped, delete --force cleans', async () => {
    const root = join(dir, 'root-cli');
    const child = spawn(RUNTIME, ['--root', root, 'create', '--bundle', bundle, 'c1'], { stdio: 'ignore' });
    // Wait until the monitor exists (the state file names it), then kill the command.
    const stateFile = join(root, 'c1', 'state.json');
    const deadline = Date.now() + 30_000;
    let monitorPid = 0;
    while (monitorPid === 0) {
      assert.ok(Date.now() < deadline, 'no state file');
      monitorPid = await readFile(stateFile, 'utf8').then((t) => (JSON.parse(t) as { monitorPid: number }).monitorPid, () => 0);
      await sleep(20);
    }
    child.kill('SIGKILL');
    await once(child, 'exit');
    const s = await stateOf(root, 'c1');
    assert.ok(['creating', 'stopped'].includes(s.status), s.status);
    // The monitor notices its creator is gone and ends, VM included.
    await waitStatus(root, 'c1', 'stopped');
    for (let i = 0; alive(monitorPid) && i < 600; i++) await sleep(50);
    assert.equal(alive(monitorPid), false, 'the monitor ended');
    const del = await rt(root, ['delete', '--force', 'c1']);
    assert.equal(del.code, 0, del.stderr);
    await assertNothingLeft(root);
  });

  test('the monitor killed: QEMU dies with it, the container is stopped, kill fails, delete cleans the mounts it left', async () => {
    const root = join(dir, 'root-monitor');
    const run = await rt(root, ['run', '--detach', '--bundle', bundle, 'c2']);
    assert.equal(run.code, 0, run.stderr);
    const { pid, status } = await stateOf(root, 'c2');
    assert.equal(status, 'running');
    const qemu = qemuPid(root);
    assert.ok((await mountsBelow(root)).length > 0, 'the running container has its shared mounts');
    process.kill(pid, 'SIGKILL');
    await waitStatus(root, 'c2', 'stopped');
    assert.equal((await stateOf(root, 'c2')).pid, 0);
    for (let i = 0; alive(qemu) && i < 100; i++) await sleep(50);
    assert.equal(alive(qemu), false, 'QEMU died with its monitor');
    const kill = await rt(root, ['kill', 'c2', 'KILL']);
    assert.equal(kill.code, 1);
    assert.match(kill.stderr, /not running/);
    const del = await rt(root, ['delete', 'c2']);
    assert.equal(del.code, 0, del.stderr);
    await assertNothingLeft(root);
  });

  test('QEMU killed: the container stops with the VM error recorded; the monitor exits; delete cleans', async () => {
    const root = join(dir, 'root-qemu');
    const run = await rt(root, ['run', '--detach', '--bundle', bundle, 'c3']);
    assert.equal(run.code, 0, run.stderr);
    const { pid: monitor } = await stateOf(root, 'c3');
    process.kill(qemuPid(root), 'SIGKILL');
    await waitStatus(root, 'c3', 'stopped');
    const recorded = JSON.parse(await readFile(join(root, 'c3', 'state.json'), 'utf8')) as { exitStatus: number; error?: string };
    assert.equal(recorded.exitStatus, 255);
    assert.match(recorded.error ?? '', /QEMU/);
    for (let i = 0; alive(monitor) && i < 200; i++) await sleep(50);
    assert.equal(alive(monitor), false, 'the monitor ended');
    const del = await rt(root, ['delete', 'c3']);
    assert.equal(del.code, 0, del.stderr);
    await assertNothingLeft(root);
  });

  test('a full disk under --root: create fails cleanly; a running container stays truthful and delete --force cleans', async () => {
    const root = join(dir, 'root-full');
    await mkdir(root);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', root]);
    try {
      const run = await rt(root, ['run', '--detach', '--bundle', bundle, 'c4']);
      assert.equal(run.code, 0, run.stderr);
      // Fill what is left.
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${join(root, 'filler')}`, 'bs=64k'], { stdio: 'ignore' });
      } catch {
        // dd stops with ENOSPC: that is the point
      }
      const create = await rt(root, ['create', '--bundle', bundle, 'c5']);
      assert.equal(create.code, 1);
      assert.match(create.stderr, /ENOSPC|no space/i);
      assert.deepEqual((await entries(root)).sort(), ['.vm', 'c4', 'filler'], 'the failed create left nothing');

      // The container stops while its monitor cannot write: state still tells the truth.
      const kill = await rt(root, ['kill', 'c4', 'KILL']);
      assert.equal(kill.code, 0, kill.stderr);
      await waitStatus(root, 'c4', 'stopped');
      const del = await rt(root, ['delete', '--force', 'c4']);
      assert.equal(del.code, 0, del.stderr);
      await rm(join(root, 'filler'));
      assert.deepEqual(await waitNoProcessesMentioning(root, 10_000), []);
      assert.deepEqual(await mountsBelow(root), [root], 'only our tmpfs is left');
      assert.deepEqual(await entries(root), []);
    } finally {
      execFileSync('umount', ['-l', root]);
    }
  });
});
