// The OCI runtime driver on its own: finding and identifying the binary,
// host detection, each command against real runc and crun, and errors that
// carry what the runtime said.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ContainerError, RuntimeCommandError } from '../../../src/agent/container/errors.js';
import { isHybridCgroupHost, isNotFoundError, isRootInitramfs, OciRuntime } from '../../../src/agent/container/oci-runtime.js';
import { PipeStdio } from '../../../src/agent/process/stdio.js';
import { Reaper } from '../../../src/agent/process/reaper.js';
import { stringifySpec } from '../../../src/oci/json.js';
import { busyboxSpec, createBusyboxRootfs, type BusyboxRootfs } from '../../helpers/busybox-rootfs.js';
import { cgroupMountPoints, containerTestsSkipReason } from '../../helpers/container-env.js';

function isContainerError(code: string, pattern?: RegExp) {
  return (err: unknown) => err instanceof ContainerError && err.code === code && (!pattern || pattern.test(err.message));
}

let dir: string;
let rootfs: BusyboxRootfs | undefined;

before(async () => {
  // Container processes are re-parented to the subreaper that exists when their runtime exits.
  Reaper.shared();
  dir = await mkdtemp(join(tmpdir(), 'kata-ts-runtime-'));
  if (containerTestsSkipReason('runc') === undefined || containerTestsSkipReason('crun') === undefined) {
    rootfs = await createBusyboxRootfs();
  }
});

after(async () => {
  await rootfs?.cleanup();
  await rm(dir, { recursive: true, force: true });
  Reaper.shared().stop();
});

describe('finding the runtime', () => {
  test('by name, by path, and by --version when the name says nothing', { skip: containerTestsSkipReason('crun') ?? false }, async () => {
    const byName = await OciRuntime.open({ runtime: 'crun' });
    assert.equal(byName.kind, 'crun');
    assert.match(byName.path, /\/crun$/);
    const byPath = await OciRuntime.open({ runtime: byName.path });
    assert.equal(byPath.path, byName.path);
    const neutral = join(dir, 'oci-engine');
    await symlink(byName.path, neutral);
    assert.equal((await OciRuntime.open({ runtime: neutral })).kind, 'crun');
  });

  test('bad runtime names are INVALID_ARGUMENT errors naming the runtime', async () => {
    await assert.rejects(OciRuntime.open({ runtime: 'no-such-runtime-xyz' }), isContainerError('INVALID_ARGUMENT', /runtime: no-such-runtime-xyz not found/));
    await assert.rejects(OciRuntime.open({ runtime: 'bin/crun' }), isContainerError('INVALID_ARGUMENT', /runtime:/));
    const notExec = join(dir, 'plain-file');
    await writeFile(notExec, 'x');
    await assert.rejects(OciRuntime.open({ runtime: notExec }), isContainerError('INVALID_ARGUMENT', /not an executable/));
    const sh = join(dir, 'not-a-runtime');
    await symlink('/bin/true', sh);
    await assert.rejects(OciRuntime.open({ runtime: sh }), isContainerError('INVALID_ARGUMENT', /crun or runc/));
  });

  test('host detection: the hybrid workaround applies to crun only, and only on a hybrid host', { skip: containerTestsSkipReason('runc') ?? false }, async () => {
    const mounts = await cgroupMountPoints();
    assert.equal(await isHybridCgroupHost(), mounts.includes('/sys/fs/cgroup/unified') && mounts.length > 1);
    assert.equal((await OciRuntime.open({ runtime: 'runc' })).hybridWorkaround, false);
    if (!containerTestsSkipReason('crun')) {
      assert.equal((await OciRuntime.open({ runtime: 'crun' })).hybridWorkaround, await isHybridCgroupHost());
      assert.equal((await OciRuntime.open({ runtime: 'crun', hybridCgroupWorkaround: false })).hybridWorkaround, false);
    }
    // This test machine does not boot from an initramfs root.
    assert.equal(await isRootInitramfs(), false);
    assert.equal((await OciRuntime.open({ runtime: 'runc' })).noPivot, false);
    assert.equal((await OciRuntime.open({ runtime: 'runc', noPivot: true })).noPivot, true);
  });
});

for (const kind of ['runc', 'crun'] as const) {
  describe(`${kind} commands`, { skip: containerTestsSkipReason(kind) ?? false, timeout: 60_000 }, () => {
    let runtime: OciRuntime;
    let root: string;
    const cgroupParent = `/kata-ts-rt-${process.pid}-${kind}`;

    before(async () => {
      root = join(dir, `${kind}-state`);
      runtime = await OciRuntime.open({ runtime: kind, root });
    });

    after(async () => {
      for (const c of await runtime.list().catch(() => [])) await runtime.delete(c.id, { force: true }).catch(() => undefined);
      for (const mount of await cgroupMountPoints()) {
        await rmdir(join(mount, cgroupParent)).catch(() => undefined);
      }
    });

    /** A bundle for `id` running `args`. */
    async function bundle(id: string, args: string[]): Promise<string> {
      const b = join(dir, `${kind}-${id}`);
      await mkdir(b, { recursive: true });
      await writeFile(join(b, 'config.json'), stringifySpec(busyboxSpec({ rootfs: rootfs!.rootfs, args, cgroupsPath: `${cgroupParent}/${id}` })));
      return b;
    }

    test('errors carry the runtime message; unknown containers are recognisable', async () => {
      assert.deepEqual(await runtime.list(), []);
      await assert.rejects(runtime.state('ghost'), (err: unknown) => {
        assert.ok(err instanceof RuntimeCommandError);
        assert.equal(err.command, 'state');
        assert.equal(err.code, 'INTERNAL');
        assert.ok(err.stderr.length > 0, 'stderr captured');
        assert.ok(err.message.includes(err.stderr));
        assert.equal(isNotFoundError(err), true);
        return true;
      });
      await assert.rejects(runtime.start('ghost'), RuntimeCommandError);
    });

    test('create, state, start, kill, delete with pass-through stdio and a pid file', async () => {
      const id = 'drv';
      const b = await bundle(id, ['sh', '-c', 'read line; echo "got $line"; sleep 1000']);
      const io = PipeStdio.create();
      try {
        const pidFile = join(b, 'pid');
        try {
          await runtime.create(id, { bundle: b, pidFile, stdio: io.childFds });
        } finally {
          io.closeChildFds();
        }
        const pid = Number(await readFile(pidFile, 'utf8'));
        const state = await runtime.state(id);
        assert.equal(state.status, 'created');
        assert.equal(state.pid, pid);
        assert.deepEqual((await runtime.list()).map((s) => s.id), [id]);
        assert.equal(existsSync(join(root, id)), true);

        const exited = Reaper.shared().watch(pid);
        await runtime.start(id);
        await io.writeStdin(Buffer.from('ping\n'));
        assert.equal((await io.readStdout(100))?.toString(), 'got ping\n');
        assert.equal((await runtime.state(id)).status, 'running');
        await runtime.kill(id, 9, { all: true });
        assert.equal((await exited).status, 137);
        assert.equal((await runtime.state(id)).status, 'stopped');
        await runtime.delete(id);
        assert.deepEqual(await runtime.list(), []);
        assert.equal(existsSync(join(root, id)), false);
      } finally {
        io.destroy();
        await runtime.delete(id, { force: true }).catch(() => undefined);
      }
    });

    test('a failing create reports the runtime error from its log, not the process stderr', async () => {
      const id = 'bad';
      const b = await bundle(id, ['true']);
      const spec = JSON.parse(await readFile(join(b, 'config.json'), 'utf8')) as { mounts: unknown[] };
      spec.mounts.push({ destination: '/x', type: 'bind', source: '/nonexistent/kata-ts', options: ['rbind'] });
      await writeFile(join(b, 'config.json'), JSON.stringify(spec));
      await assert.rejects(runtime.create(id, { bundle: b, pidFile: join(b, 'pid') }), (err: unknown) => {
        assert.ok(err instanceof RuntimeCommandError);
        assert.equal(err.command, 'create');
        assert.match(err.stderr, /nonexistent/);
        return true;
      });
      assert.equal(existsSync(join(b, `create-${process.pid}.log`)), false, 'the error log is removed');
    });
  });
}

describe('crun without the hybrid workaround', () => {
  test('is refused on a hybrid host (why the workaround exists)', async (t) => {
    if (containerTestsSkipReason('crun') || !(await isHybridCgroupHost())) return t.skip('needs crun on a hybrid cgroup host');
    const runtime = await OciRuntime.open({ runtime: 'crun', root: join(dir, 'crun-nowa'), hybridCgroupWorkaround: false });
    const b = join(dir, 'nowa');
    await mkdir(b, { recursive: true });
    await writeFile(join(b, 'config.json'), stringifySpec(busyboxSpec({ rootfs: rootfs!.rootfs, args: ['true'] })));
    await assert.rejects(runtime.create('nowa', { bundle: b, pidFile: join(b, 'pid') }), (err: unknown) => {
      assert.ok(err instanceof RuntimeCommandError);
      assert.match(err.stderr, /hybrid/);
      return true;
    });
    await runtime.delete('nowa', { force: true }).catch(() => undefined);
  });
});
