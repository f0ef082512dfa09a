// Real containers (busybox rootfs) driven through the container model, with
// runc and with crun: lifecycle and exit statuses, exact I/O, exec, signals,
// terminals, pause/resume, many containers at once, and what remove and a
// failed create leave behind (nothing).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Container } from '../../../src/agent/container/container.js';
import { createContainer } from '../../../src/agent/container/create.js';
import { ContainerError, RuntimeCommandError } from '../../../src/agent/container/errors.js';
import type { RuntimeKind } from '../../../src/agent/container/oci-runtime.js';
import type { ProcessStdio } from '../../../src/agent/process/stdio.js';
import { Reaper } from '../../../src/agent/process/reaper.js';
import { busyboxProcess, createBusyboxRootfs, type BusyboxRootfs } from '../../helpers/busybox-rootfs.js';
import { containerTestsSkipReason, createContainerTestEnv, type ContainerTestEnv } from '../../helpers/container-env.js';

/** Everything a stream yields until EOF. */
async function readAll(read: (len: number) => Promise<Buffer | null>, len = 32768): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const b = await read(len);
    if (b === null) return Buffer.concat(parts);
    parts.push(b);
  }
}

const stdoutOf = (io: ProcessStdio) => readAll((n) => io.readStdout(n));
const stderrOf = (io: ProcessStdio) => readAll((n) => io.readStderr(n));

/** Reads output until it contains `text` (or EOF); returns what was read. */
async function readUntil(io: ProcessStdio, text: string): Promise<string> {
  let out = '';
  while (!out.includes(text)) {
    const b = await io.readStdout(4096);
    if (b === null) break;
    out += b.toString();
  }
  return out;
}

async function waitFor(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function assertContainerError(code: string, pattern?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ContainerError, `expected a ContainerError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

/** Asserts that nothing of container `id` is left: processes, runtime state, cgroups, bundle, mounts. */
async function assertNothingLeft(env: ContainerTestEnv, id: string, pids: number[]): Promise<void> {
  for (const pid of pids) assert.equal(existsSync(`/proc/${pid}`), false, `process ${pid} still exists`);
  const listed = (await env.runtime.list()).map((s) => s.id);
  assert.equal(listed.includes(id), false, `runtime still lists ${id}`);
  assert.equal(existsSync(join(env.stateRoot, id)), false, 'runtime state directory left');
  assert.deepEqual(await env.cgroupDirs(id), [], 'cgroup directories left');
  const bundle = join(env.ctx.bundleRoot, id);
  assert.equal(existsSync(bundle), false, 'bundle directory left');
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  assert.equal(mounts.includes(bundle), false, 'a mount under the bundle is left');
  assert.deepEqual(await readdir(env.ctx.socketDir), [], 'console socket left');
}

let rootfs: BusyboxRootfs | undefined;

before(async () => {
  if (containerTestsSkipReason('runc') === undefined || containerTestsSkipReason('crun') === undefined) {
    rootfs = await createBusyboxRootfs();
  }
});

after(async () => {
  await rootfs?.cleanup();
  Reaper.shared().stop();
});

for (const kind of ['runc', 'crun'] as const satisfies readonly RuntimeKind[]) {
  const skip = containerTestsSkipReason(kind);
  describe(`containers with ${kind}`, { skip: skip ?? false, timeout: 120_000 }, () => {
    let env: ContainerTestEnv;
    let seq = 0;
    const newId = (what: string) => `${what}-${process.pid}-${++seq}`;

    before(async () => {
      env = await createContainerTestEnv(kind, rootfs!.rootfs);
    });

    after(async () => {
      await env?.cleanup();
    });

    const create = (id: string, args: string[], opts: Parameters<ContainerTestEnv['spec']>[2] = {}) =>
      createContainer(env.ctx, { id, spec: env.spec(id, args, opts) });

    test('runs to completion: exit code 3, exact stdout and stderr, status transitions', async () => {
      const id = newId('exit');
      const c = await create(id, ['sh', '-c', 'printf "out-1\\nout-2"; printf "err\\n" >&2; exit 3']);
      try {
        assert.equal(c.status, 'created');
        assert.equal((await c.state()).status, 'created');
        await c.start();
        const [stdout, stderr, exit] = await Promise.all([stdoutOf(c.init.stdio), stderrOf(c.init.stdio), c.wait(id)]);
        assert.equal(stdout.toString(), 'out-1\nout-2');
        assert.equal(stderr.toString(), 'err\n');
        assert.deepEqual({ code: exit.code, signal: exit.signal, status: exit.status }, { code: 3, signal: null, status: 3 });
        assert.equal(c.status, 'stopped');
        // The status is kept: a later wait (by "" or by exec id) answers the same.
        assert.equal((await c.wait('')).status, 3);
        // EOF stays EOF.
        assert.equal(await c.init.stdio.readStdout(10), null);
      } finally {
        await c.remove(0);
      }
    });

    test('killed by SIGKILL reports 137; SIGTERM to a pid-1 without handler is made SIGKILL; a handler sees SIGTERM', async () => {
      const a = await create(newId('kill'), ['sleep', '1000']);
      const b = await create(newId('term'), ['sleep', '1000']);
      const t = await create(newId('trap'), ['sh', '-c', 'trap "exit 7" TERM; echo ready; while :; do sleep 0.05; done']);
      try {
        await Promise.all([a.start(), b.start(), t.start()]);
        await a.signal('', 9);
        const ea = await a.wait('');
        assert.deepEqual([ea.signal, ea.status], [9, 137]);

        await b.signal(b.init.execId, 15);
        const eb = await b.wait('');
        assert.deepEqual([eb.signal, eb.status], [9, 137]);

        assert.match(await readUntil(t.init.stdio, 'ready'), /ready/);
        await t.signal('', 15);
        const et = await t.wait('');
        assert.deepEqual([et.code, et.status], [7, 7]);

        // Signalling an exited process is a no-op, not an error.
        await a.signal('', 9);
      } finally {
        await Promise.all([a.remove(0), b.remove(0), t.remove(0)]);
      }
    });

    test('stdin -> cat -> stdout is byte-exact for 1 MiB with a slow reader', async () => {
      const id = newId('cat');
      const c = await create(id, ['cat']);
      try {
        await c.start();
        const data = randomBytes(1 << 20);
        const writer = (async () => {
          let taken = 0;
          for (let off = 0; off < data.length; off += 50_000) {
            taken += await c.init.stdio.writeStdin(data.subarray(off, off + 50_000));
          }
          await c.init.stdio.closeStdin();
          return taken;
        })();
        const parts: Buffer[] = [];
        for (;;) {
          const b = await c.init.stdio.readStdout(7000);
          if (b === null) break;
          assert.ok(b.length > 0 && b.length <= 7000);
          parts.push(b);
          if (parts.length % 16 === 0) await sleep(5); // a slow reader
        }
        assert.equal(await writer, data.length);
        assert.ok(Buffer.concat(parts).equals(data), 'output differs from input');
        assert.equal((await c.wait(id)).status, 0);
        await assert.rejects(c.init.stdio.writeStdin(Buffer.from('x')), assertContainerError('FAILED_PRECONDITION'));
      } finally {
        await c.remove(0);
      }
    });

    test('output buffering is bounded: an unread process blocks, then all bytes arrive', async () => {
      const id = newId('bound');
      const total = 8 << 20;
      const c = await create(id, ['head', '-c', String(total), '/dev/zero']);
      try {
        await c.start();
        await sleep(300); // time to fill the pipe and our buffer
        assert.equal(c.init.hasExited, false, 'the writer should be blocked on a full pipe');
        const stdio = c.init.stdio as unknown as { stdout: { bufferedBytes: number } };
        assert.ok(stdio.stdout.bufferedBytes <= 2 * 64 * 1024, `buffered ${stdio.stdout.bufferedBytes} bytes`);
        const out = await stdoutOf(c.init.stdio);
        assert.equal(out.length, total);
        assert.equal((await c.wait(id)).status, 0);
      } finally {
        await c.remove(0);
      }
    });

    test('exec while running: pipes and exit code, terminal with resize, bad exec ids', async () => {
      const id = newId('exec');
      const c = await create(id, ['sleep', '1000']);
      try {
        await assert.rejects(c.exec('early', busyboxProcess({ args: ['true'] })), assertContainerError('FAILED_PRECONDITION', /created/));
        await c.start();
        const p = await c.exec('e1', busyboxProcess({ args: ['sh', '-c', 'echo exec-out; echo exec-err >&2; exit 4'] }));
        assert.notEqual(p.pid, c.init.pid);
        const [out, err, exit] = await Promise.all([stdoutOf(p.stdio), stderrOf(p.stdio), c.wait('e1')]);
        assert.equal(out.toString(), 'exec-out\n');
        assert.equal(err.toString(), 'exec-err\n');
        assert.equal(exit.status, 4);
        assert.equal(c.getProcess('e1'), p);

        const t = await c.exec('e2', busyboxProcess({ args: ['sh', '-c', 'read x; stty size; exit 6'], terminal: true }));
        assert.equal(t.stdio.terminal, true);
        t.stdio.resize(33, 77);
        assert.equal(await t.stdio.writeStdin(Buffer.from('go\n')), 3);
        const tout = (await stdoutOf(t.stdio)).toString();
        assert.match(tout, /^33 77\r?$/m);
        assert.equal(await t.stdio.readStderr(100), null, 'a terminal has no separate stderr');
        assert.equal((await c.wait('e2')).status, 6);

        await assert.rejects(c.exec('e1', busyboxProcess({ args: ['true'] })), assertContainerError('ALREADY_EXISTS'));
        await assert.rejects(c.exec(id, busyboxProcess({ args: ['true'] })), assertContainerError('ALREADY_EXISTS'));
        assert.throws(() => c.getProcess('nope'), assertContainerError('NOT_FOUND', /Invalid exec id/));
        await assert.rejects(c.wait('nope'), assertContainerError('NOT_FOUND'));
        await assert.rejects(c.exec('', busyboxProcess({ args: ['true'] })), assertContainerError('INVALID_ARGUMENT', /exec_id/));
        await assert.rejects(c.signal('e1', 0), assertContainerError('INVALID_ARGUMENT', /signal/));

        c.deleteExec('e1');
        assert.throws(() => c.getProcess('e1'), assertContainerError('NOT_FOUND'));
      } finally {
        await c.remove(0);
      }
    });

    test('signal one process, then all of them', async () => {
      const id = newId('sig');
      const c = await create(id, ['sleep', '1000']);
      try {
        await c.start();
        const a = await c.exec('a', busyboxProcess({ args: ['sleep', '1000'] }));
        const b = await c.exec('b', busyboxProcess({ args: ['sleep', '1000'] }));
        await c.signal('a', 15);
        assert.equal((await c.wait('a')).status, 128 + 15);
        assert.equal(b.hasExited, false);
        assert.equal(c.init.hasExited, false);
        assert.equal(existsSync(`/proc/${b.pid}`), true);

        await c.signal(undefined, 9);
        const [ei, eb] = await Promise.all([c.wait(''), c.wait('b')]);
        assert.equal(ei.status, 137);
        assert.equal(eb.status, 137);
        assert.equal(a.exitStatus?.status, 143);
      } finally {
        await c.remove(0);
      }
    });

    test('terminal init process: console socket, resize visible through stty size', async () => {
      const id = newId('tty');
      const c = await create(id, ['sh', '-c', 'read x; stty size; exit 5'], { terminal: true });
      try {
        assert.equal(c.init.stdio.terminal, true);
        c.init.stdio.resize(40, 100);
        await c.start();
        await c.init.stdio.writeStdin(Buffer.from('go\n'));
        const out = (await stdoutOf(c.init.stdio)).toString();
        assert.match(out, /^40 100\r?$/m);
        assert.equal((await c.wait(id)).status, 5);
        assert.deepEqual(await readdir(env.ctx.socketDir), [], 'console socket removed after use');
      } finally {
        await c.remove(0);
      }
    });

    test('pause and resume: a paused process does not advance', async () => {
      const id = newId('pause');
      const shared = await mkdtemp(join(tmpdir(), 'kata-ts-pause-'));
      const counter = join(shared, 'counter');
      // The process counts into a file on a bind mount the test can read.
      const spec = env.spec(id, [
        'sh',
        '-c',
        'i=0; while :; do i=$((i+1)); echo $i > /shared/counter.tmp; mv /shared/counter.tmp /shared/counter; usleep 5000; done',
      ]);
      spec.mounts = [...(spec.mounts ?? []), { destination: '/shared', type: 'bind', source: shared, options: ['rbind', 'rw'] }];
      const p = await createContainer(env.ctx, { id, spec });
      const value = async () => Number((await readFile(counter, 'utf8').catch(() => '0')).trim() || '0');
      try {
        await assert.rejects(p.pause(), assertContainerError('FAILED_PRECONDITION'));
        await p.start();
        await waitFor(async () => (await value()) > 3, 'the counter to advance');
        await p.pause();
        assert.equal(p.status, 'paused');
        assert.equal((await p.state()).status, 'paused');
        const frozen = await value();
        await sleep(300);
        assert.equal(await value(), frozen, 'counter advanced while paused');
        await assert.rejects(p.exec('x', busyboxProcess({ args: ['true'] })), assertContainerError('FAILED_PRECONDITION', /paused/));
        await p.resume();
        assert.equal(p.status, 'running');
        await waitFor(async () => (await value()) > frozen + 3, 'the counter to advance after resume');
        // Removing a paused container works too.
        await p.pause();
      } finally {
        await p.remove(0);
        await rm(shared, { recursive: true, force: true });
      }
      await assertNothingLeft(env, id, [p.init.pid]);
    });

    test('update applies resources (pids limit)', async (t) => {
      const id = newId('upd');
      const c = await create(id, ['sleep', '1000']);
      try {
        await c.start();
        await c.update({ pids: { limit: 42 } });
        const files = (await env.cgroupDirs(id)).map((d) => join(d, 'pids.max')).filter((f) => existsSync(f));
        if (files.length === 0) return t.skip('no pids controller');
        assert.equal((await readFile(files[0]!, 'utf8')).trim(), '42');
      } finally {
        await c.remove(0);
      }
    });

    test('20 containers in parallel', async () => {
      const ids = Array.from({ length: 20 }, (_, i) => newId(`par${i}`));
      const containers = await Promise.all(ids.map((id, i) => create(id, ['sh', '-c', `echo hello-${i}; exit ${i + 10}`])));
      try {
        await Promise.all(containers.map((c) => c.start()));
        const results = await Promise.all(containers.map(async (c) => [(await stdoutOf(c.init.stdio)).toString(), (await c.wait('')).status]));
        assert.deepEqual(
          results,
          ids.map((_, i) => [`hello-${i}\n`, i + 10]),
        );
      } finally {
        await Promise.all(containers.map((c) => c.remove(0)));
      }
      for (const [i, id] of ids.entries()) await assertNothingLeft(env, id, [containers[i]!.init.pid]);
    });

    test('remove kills everything and leaves nothing behind; later operations fail', async () => {
      const id = newId('rm');
      const c = await create(id, ['sleep', '1000']);
      await c.start();
      const e = await c.exec('e', busyboxProcess({ args: ['sleep', '1000'] }));
      const t = await c.exec('t', busyboxProcess({ args: ['sleep', '1000'], terminal: true }));
      assert.equal(existsSync(join(env.stateRoot, id)), true);
      assert.notDeepEqual(await env.cgroupDirs(id), []);
      await c.remove(10);
      assert.equal(c.removed, true);
      assert.equal(e.exitStatus?.status, 137);
      await assertNothingLeft(env, id, [c.init.pid, e.pid, t.pid]);
      await c.remove(10); // idempotent
      await assert.rejects(c.start(), assertContainerError('FAILED_PRECONDITION', /removed/));
      await assert.rejects(c.signal('', 9), assertContainerError('FAILED_PRECONDITION', /removed/));
      await assert.rejects(c.remove(-1), assertContainerError('INVALID_ARGUMENT', /timeout/));
    });

    test('a failed create leaves nothing behind and reports the runtime error', async () => {
      for (const terminal of [false, true]) {
        const id = newId('fail');
        const spec = env.spec(id, ['true'], { terminal });
        spec.mounts = [
          ...(spec.mounts ?? []),
          { destination: '/nonexistent-mount', type: 'bind', source: '/nonexistent/kata-ts-source', options: ['rbind'] },
        ];
        await assert.rejects(createContainer(env.ctx, { id, spec }), (err: unknown) => {
          assert.ok(err instanceof RuntimeCommandError, String(err));
          assert.equal(err.command, 'create');
          assert.match(err.message, /runtime create failed/);
          assert.match(err.stderr, /nonexistent/i);
          return true;
        });
        await assertNothingLeft(env, id, []);
      }
    });

    test('bad requests: invalid id, duplicate id', async () => {
      await assert.rejects(
        createContainer(env.ctx, { id: '../x', spec: env.spec('x', ['true']) }),
        assertContainerError('INVALID_ARGUMENT', /container_id/),
      );
      await assert.rejects(createContainer(env.ctx, { id: '', spec: env.spec('x', ['true']) }), assertContainerError('INVALID_ARGUMENT', /container_id/));
      const id = newId('dup');
      const c: Container = await create(id, ['true']);
      try {
        await assert.rejects(create(id, ['true']), assertContainerError('ALREADY_EXISTS'));
        assert.equal(existsSync(join(env.ctx.bundleRoot, id, 'config.json')), true, 'the first container is untouched');
      } finally {
        await c.remove(0);
      }
    });
  });
}
