// Cgroup-backed container RPCs through a real agent and OCI runtime:
// PauseContainer/ResumeContainer (the freezer), StatsContainer (counters
// grow with the work done), UpdateContainer (the new limits land in the
// container's cgroup files) and GetOOMEvent (a memory-limited container
// that allocates beyond its limit is OOM-killed and reported).
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Code } from '../../../src/ttrpc/index.js';
import { processToProto, resourcesToProto } from '../../../src/oci/convert.js';
import type { Spec, LinuxResources } from '../../../src/oci/spec.js';
import type { RuntimeKind } from '../../../src/agent/container/oci-runtime.js';
import { busyboxProcess } from '../../helpers/busybox-rootfs.js';
import { containerTestsSkipReason } from '../../helpers/container-env.js';
import { ContainerAgent, hasCode, newId, waitUntil } from '../../helpers/agent-harness.js';

const MiB = 1024 * 1024;

function withResources(spec: Spec, resources: LinuxResources): Spec {
  return { ...spec, linux: { ...spec.linux, resources: { ...spec.linux?.resources, ...resources } } };
}

for (const kind of ['runc', 'crun'] as RuntimeKind[]) {
  describe(`cgroup RPCs through the agent (${kind})`, { skip: containerTestsSkipReason(kind), timeout: 120_000 }, () => {
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

    async function cgroupFile(controller: string, id: string, file: string): Promise<string> {
      return (await readFile(join(h.cgroupDir(controller, id), file), 'utf8')).trim();
    }

    /** Reads stdout until `text` was printed. */
    async function readUntil(id: string, text: string): Promise<void> {
      let out = '';
      while (!out.includes(text)) out += Buffer.from((await h.api.readStdout({ containerId: id, execId: id, len: 4096 })).data).toString();
    }

    test('a paused container does not advance; after ResumeContainer it does', async () => {
      // The counter is written to a host directory bind-mounted at /out,
      // replaced atomically (rename) so that every read sees a whole number.
      const out = await mkdtemp(join(tmpdir(), 'kata-ts-counter-'));
      await mkdir(join(h.rootfs.rootfs, 'out'), { recursive: true });
      const counter = async () => Number((await readFile(join(out, 'c'), 'utf8').catch(() => '0')).trim() || '0');
      try {
        const id = newId('pause');
        const spec = h.spec(id, ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /out/c.new; mv /out/c.new /out/c; sleep 0.02; done']);
        spec.mounts!.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
        await h.createAndStart(id, spec);
        await waitUntil('the counter to start', async () => (await counter()) >= 3);

        await h.api.pauseContainer({ containerId: id });
        assert.equal(await cgroupFile('freezer', id, 'freezer.state'), 'FROZEN');
        const atPause = await counter();
        await sleep(300); // ~15 increments if it were running
        assert.equal(await counter(), atPause, 'no increment while paused');
        await assert.rejects(h.api.pauseContainer({ containerId: id }), hasCode(Code.FAILED_PRECONDITION, /paused/));
        await assert.rejects(
          h.api.execProcess({ containerId: id, execId: 'e', process: processToProto(busyboxProcess({ args: ['true'] })) }),
          hasCode(Code.FAILED_PRECONDITION),
        );

        await h.api.resumeContainer({ containerId: id });
        assert.equal(await cgroupFile('freezer', id, 'freezer.state'), 'THAWED');
        await waitUntil('the counter to advance after resume', async () => (await counter()) > atPause);
        await assert.rejects(h.api.resumeContainer({ containerId: id }), hasCode(Code.FAILED_PRECONDITION, /running/));

        // A paused container is still removed (thawed so the kill lands).
        await h.api.pauseContainer({ containerId: id });
        await h.api.removeContainer({ containerId: id });
      } finally {
        await rm(out, { recursive: true, force: true });
      }
    });

    test('StatsContainer: CPU usage grows after a busy loop, memory usage after filling 32 MiB', async () => {
      const id = newId('stats');
      const script = [
        'read a',
        'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo burned',
        'read a',
        'head -c 33554432 /dev/zero > /dev/shm/fill; echo filled',
        'read a',
      ].join('; ');
      await h.createAndStart(id, h.spec(id, ['sh', '-c', script]));
      const stats = async () => {
        const s = (await h.api.statsContainer({ containerId: id })).cgroupStats;
        assert.ok(s?.cpuStats?.cpuUsage && s.memoryStats?.usage && s.pidsStats, 'cpu, memory and pids stats present');
        return { cpu: s.cpuStats.cpuUsage.totalUsage, mem: s.memoryStats.usage.usage, pids: s.pidsStats.current };
      };
      const line = () => h.api.writeStdin({ containerId: id, execId: id, data: Buffer.from('\n') });

      const s0 = await stats();
      assert.equal(s0.pids, 1n, 'one process (the shell)');
      await line();
      await readUntil(id, 'burned');
      const s1 = await stats();
      assert.ok(s1.cpu - s0.cpu >= 10_000_000n, `CPU usage grew by at least 10 ms: ${s0.cpu} -> ${s1.cpu} ns`);

      await line();
      await readUntil(id, 'filled');
      const s2 = await stats();
      assert.ok(s2.mem - s1.mem >= BigInt(30 * MiB), `memory usage grew by at least 30 MiB: ${s1.mem} -> ${s2.mem}`);
      assert.ok(s2.cpu >= s1.cpu, 'CPU usage never goes down');

      await line();
      assert.equal((await h.api.waitProcess({ containerId: id, execId: id })).status, 0);
      await h.api.removeContainer({ containerId: id });
      await assert.rejects(h.api.statsContainer({ containerId: id }), hasCode(Code.NOT_FOUND));
    });

    test('UpdateContainer: the new memory, pids and CPU limits are in the container cgroup files', async () => {
      const id = newId('update');
      await h.createAndStart(id, withResources(h.spec(id, ['sleep', '1000']), { memory: { limit: 256 * MiB } }));
      assert.equal(await cgroupFile('memory', id, 'memory.limit_in_bytes'), String(256 * MiB));

      await h.api.updateContainer({ containerId: id, resources: resourcesToProto({ memory: { limit: 64 * MiB }, pids: { limit: 77 }, cpu: { shares: 512 } }) });
      assert.equal(await cgroupFile('memory', id, 'memory.limit_in_bytes'), String(64 * MiB));
      assert.equal(await cgroupFile('pids', id, 'pids.max'), '77');
      assert.equal(await cgroupFile('cpu', id, 'cpu.shares'), '512');
      // The init process really is in that cgroup, and the stats see the limit.
      const [pid] = JSON.parse(Buffer.from((await h.api.listProcesses({ containerId: id, format: 'json' })).processList).toString()) as number[];
      assert.match(await readFile(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`:memory:${h.cgroupsPath(id)}\n`));
      const s = await h.api.statsContainer({ containerId: id });
      assert.equal(s.cgroupStats?.memoryStats?.usage?.limit, BigInt(64 * MiB));

      await assert.rejects(h.api.updateContainer({ containerId: id }), hasCode(Code.INVALID_ARGUMENT, /resources/));
      await assert.rejects(h.api.updateContainer({ containerId: 'absent', resources: resourcesToProto({ pids: { limit: 5 } }) }), hasCode(Code.NOT_FOUND));
      await h.api.removeContainer({ containerId: id });
    });

    test('GetOOMEvent names a container OOM-killed at its 16 MiB limit; WaitProcess gives 137', async () => {
      const id = newId('oom');
      // The shell doubles a string until the memory cgroup's limit kills it.
      const spec = withResources(h.spec(id, ['sh', '-c', 'x=a; while :; do x=$x$x; done']), { memory: { limit: 16 * MiB } });
      await h.create(id, spec);
      assert.equal(await cgroupFile('memory', id, 'memory.limit_in_bytes'), String(16 * MiB));
      const event = h.api.getOOMEvent({}, { timeoutMs: 30_000 });
      await h.api.startContainer({ containerId: id });
      assert.equal((await h.api.waitProcess({ containerId: id, execId: id })).status, 137);
      assert.equal((await event).containerId, id);
      assert.match(await cgroupFile('memory', id, 'memory.oom_control'), /oom_kill [1-9]/);
      await h.api.removeContainer({ containerId: id });
    });
  });
}
