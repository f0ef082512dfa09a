// RemoveContainer semantics: processes that ignore or catch SIGTERM are
// still removed (the agent kills with SIGKILL), and the timeout is honoured:
// when a process cannot die in time the call fails with DEADLINE_EXCEEDED
// and the container stays, to be removed by a later call.
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Code } from '../../../src/ttrpc/index.js';
import { processToProto } from '../../../src/oci/convert.js';
import type { RuntimeKind } from '../../../src/agent/container/oci-runtime.js';
import { busyboxProcess } from '../../helpers/busybox-rootfs.js';
import { containerTestsSkipReason } from '../../helpers/container-env.js';
import { ContainerAgent, hasCode, newId, runtimeContainers, waitUntil } from '../../helpers/agent-harness.js';

const SIGTERM = 15;

for (const kind of ['runc', 'crun'] as RuntimeKind[]) {
  describe(`RemoveContainer through the agent (${kind})`, { skip: containerTestsSkipReason(kind), timeout: 120_000 }, () => {
    let h: ContainerAgent;
    before(async () => {
      h = await ContainerAgent.start(kind);
    });
    after(async () => {
      await h.shutdown();
    });
    afterEach(async () => {
      await h.assertNothingLeft();
    });

    const exec = (id: string, execId: string, args: string[]) =>
      h.api.execProcess({ containerId: id, execId, process: processToProto(busyboxProcess({ args })) });

    async function readUntil(id: string, execId: string, text: string): Promise<string> {
      let out = '';
      while (!out.includes(text)) out += Buffer.from((await h.api.readStdout({ containerId: id, execId, len: 1024 })).data).toString();
      return out;
    }

    test('processes that catch or ignore SIGTERM survive it, and RemoveContainer still removes them (SIGKILL)', async () => {
      const id = newId('term');
      // The init catches SIGTERM (says so, keeps running); the exec'd process ignores it.
      await h.createAndStart(id, h.spec(id, ['sh', '-c', 'trap "echo caught" TERM; echo ready; while :; do sleep 0.05; done']));
      await readUntil(id, id, 'ready');
      await exec(id, 'ign', ['sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done']);
      await readUntil(id, 'ign', 'ready');
      const waits = [h.api.waitProcess({ containerId: id, execId: id }), h.api.waitProcess({ containerId: id, execId: 'ign' })];

      await h.api.signalProcess({ containerId: id, execId: id, signal: SIGTERM });
      await readUntil(id, id, 'caught');
      await h.api.signalProcess({ containerId: id, execId: 'ign', signal: SIGTERM });
      await h.api.signalProcess({ containerId: id, execId: '', signal: SIGTERM }); // every process, through the runtime
      await readUntil(id, id, 'caught');
      // Both still run: the init and the exec'd shell are in the container's cgroup.
      const pids = JSON.parse(Buffer.from((await h.api.listProcesses({ containerId: id, format: 'json' })).processList).toString()) as number[];
      const shells = [];
      for (const p of pids) if ((await readFile(`/proc/${p}/comm`, 'utf8').catch(() => '')).trim() === 'sh') shells.push(p);
      assert.equal(shells.length, 2, `init and exec'd shell alive: ${pids.join(',')}`);

      await h.api.removeContainer({ containerId: id, timeout: 10 });
      assert.deepEqual((await Promise.all(waits)).map((w) => w.status), [137, 137], 'both were killed by SIGKILL');
      for (const p of shells) assert.equal(existsSync(`/proc/${p}`), false, `${p} is gone`);
      await assert.rejects(h.api.removeContainer({ containerId: id }), hasCode(Code.NOT_FOUND));
    });

    test('SIGTERM to an init that ignores it (pid 1 of its namespace) stops the container: 137', async () => {
      const id = newId('ign');
      await h.createAndStart(id, h.spec(id, ['sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done']));
      await readUntil(id, id, 'ready');
      await h.api.signalProcess({ containerId: id, execId: id, signal: SIGTERM });
      assert.equal((await h.api.waitProcess({ containerId: id, execId: id })).status, 137);
      await h.api.removeContainer({ containerId: id });
    });

    test('timeout honoured: a process that cannot die in time fails the call with DEADLINE_EXCEEDED; the container stays', { timeout: 30_000 }, async () => {
      const id = newId('stuck');
      await h.createAndStart(id, h.spec(id, ['sleep', '1000']));
      await exec(id, 'held', ['sleep', '1001']);
      const pids = JSON.parse(Buffer.from((await h.api.listProcesses({ containerId: id, format: 'json' })).processList).toString()) as number[];
      const held = await waitUntil('the exec to run', async () => {
        for (const p of pids) if ((await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')).includes('1001')) return p;
        return undefined;
      });

      // Hold the exec'd process in a frozen freezer cgroup of our own (v1:
      // a frozen task dies only once thawed). The runtime thaws the
      // container's own freezer cgroup when it kills, but not this one.
      const holdout = join('/sys/fs/cgroup/freezer', h.cgroupParent, `holdout-${id}`);
      await mkdir(holdout, { recursive: true });
      try {
        await writeFile(join(holdout, 'cgroup.procs'), String(held));
        await writeFile(join(holdout, 'freezer.state'), 'FROZEN');
        await waitUntil('the holdout to freeze', async () => (await readFile(join(holdout, 'freezer.state'), 'utf8')).trim() === 'FROZEN');

        const waits = [h.api.waitProcess({ containerId: id, execId: id }), h.api.waitProcess({ containerId: id, execId: 'held' })];
        await assert.rejects(h.api.removeContainer({ containerId: id, timeout: 1 }), hasCode(Code.DEADLINE_EXCEEDED, /within 1 s/));
        // The held process is still there (and so, in the kernel, is the
        // init: a pid namespace's init finishes exiting only once every
        // process of the namespace is gone). The container stays.
        assert.ok(existsSync(`/proc/${held}`), 'the held process is still there');
        assert.deepEqual(await runtimeContainers(kind, join(h.agent.stateDir, 'oci-runtime')), [id], 'the runtime still has it');
        assert.ok(existsSync(join(h.agent.stateDir, 'bundles', id, 'config.json')), 'the bundle is still there');
        await h.api.listProcesses({ containerId: id, format: 'json' }); // the agent still knows it

        await writeFile(join(holdout, 'freezer.state'), 'THAWED');
        assert.deepEqual((await Promise.all(waits)).map((w) => w.status), [137, 137], 'the pending SIGKILLs land once thawed');
        await h.api.removeContainer({ containerId: id, timeout: 0 });
      } finally {
        await writeFile(join(holdout, 'freezer.state'), 'THAWED').catch(() => undefined);
        await waitUntil('the holdout to empty', async () => (await readFile(join(holdout, 'cgroup.procs'), 'utf8')).trim() === '');
        await rmdir(holdout);
      }
    });
  });
}
