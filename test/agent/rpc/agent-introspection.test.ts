// What the agent tells about containers and itself: ListProcesses (json and
// table formats, checked against /proc), GetMetrics (Prometheus text with
// the kata_agent_ metrics) and GetGuestDetails (device and storage drivers,
// memory facts read from sysfs).
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Code } from '../../../src/ttrpc/index.js';
import type { RuntimeKind } from '../../../src/agent/container/oci-runtime.js';
import { containerTestsSkipReason } from '../../helpers/container-env.js';
import { ContainerAgent, descendantsOf, hasCode, newId, waitUntil } from '../../helpers/agent-harness.js';

const decode = (b: Uint8Array) => Buffer.from(b).toString();

async function cmdline(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean).join(' ');
}

for (const kind of ['runc', 'crun'] as RuntimeKind[]) {
  describe(`ListProcesses through the agent (${kind})`, { skip: containerTestsSkipReason(kind), timeout: 120_000 }, () => {
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

    test('json lists exactly the container processes; table keeps ps header and their rows', async () => {
      const id = newId('ps');
      await h.createAndStart(id, h.spec(id, ['sh', '-c', 'sleep 1000 & sleep 1001 & wait']));
      const json = async () => JSON.parse(decode((await h.api.listProcesses({ containerId: id, format: 'json' })).processList)) as number[];
      const pids = await waitUntil('both sleeps to run', async () => {
        const p = await json();
        return p.length === 3 && (await Promise.all(p.map(cmdline))).filter((c) => c.startsWith('sleep ')).length === 2 ? p : undefined;
      });
      assert.deepEqual(pids, [...pids].sort((a, b) => a - b), 'ascending');
      assert.deepEqual((await Promise.all(pids.map(cmdline))).sort(), ['sh -c sleep 1000 & sleep 1001 & wait', 'sleep 1000', 'sleep 1001']);
      // They are the agent's (re-parented) descendants, not some other processes.
      const below = (await descendantsOf(h.pid)).map((d) => Number(d.split(' ')[0]));
      for (const p of pids) assert.ok(below.includes(p), `${p} is below the agent`);

      // Default format is table, default ps arguments -ef.
      const table = decode((await h.api.listProcesses({ containerId: id })).processList).trimEnd().split('\n');
      assert.match(table[0]!, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
      assert.deepEqual(table.slice(1).map((l) => Number(l.trim().split(/\s+/)[1])).sort((a, b) => a - b), pids);

      const custom = decode((await h.api.listProcesses({ containerId: id, format: 'table', args: ['-o', 'pid,args'] })).processList).trimEnd().split('\n');
      assert.match(custom[0]!, /^\s*PID\s+COMMAND$/);
      assert.deepEqual(custom.slice(1).map((l) => l.trim().replace(/^(\d+)\s+/, '$1 ')).sort(), pids.map((p, i) => `${p} ${['sh -c sleep 1000 & sleep 1001 & wait', 'sleep 1000', 'sleep 1001'][i]}`).sort());

      await assert.rejects(h.api.listProcesses({ containerId: id, format: 'yaml' }), hasCode(Code.INVALID_ARGUMENT, /format/));
      await assert.rejects(h.api.listProcesses({ containerId: id, args: ['-o', 'comm'] }), hasCode(Code.INVALID_ARGUMENT, /PID/));
      await assert.rejects(h.api.listProcesses({ containerId: 'absent', format: 'json' }), hasCode(Code.NOT_FOUND));
      await h.api.removeContainer({ containerId: id });
    });
  });
}

describe('GetMetrics and GetGuestDetails', { skip: containerTestsSkipReason('runc'), timeout: 120_000 }, () => {
  let h: ContainerAgent;
  before(async () => {
    h = await ContainerAgent.start('runc');
  });
  after(async () => {
    await h.shutdown();
  });

  test('GetMetrics: valid Prometheus text with kata_agent_ and kata_guest_ metrics; the scrape counter counts', async () => {
    const scrape = async () => (await h.api.getMetrics({})).metrics;
    const text = await scrape();
    // Values as Go's strconv.ParseFloat (the runtime's parser) reads them: NaN and Inf in any case.
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.]+(e[-+]?\d+)?|[Nn][Aa][Nn]|[-+][Ii][Nn][Ff])( \d+)?$/;
    const typed = new Set<string>();
    const sampled = new Set<string>();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const t = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (t) typed.add(t[1]!);
      else if (line.startsWith('# HELP ')) continue;
      else {
        const m = sample.exec(line);
        assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
        sampled.add(m[1]!);
      }
    }
    for (const name of sampled) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(typed.has(name) || typed.has(base), `${name} has a # TYPE line`);
    }
    for (const name of ['kata_agent_scrape_count', 'kata_agent_total_rss', 'kata_agent_process_cpu_seconds_total', 'kata_guest_meminfo', 'kata_guest_load']) {
      assert.ok(sampled.has(name), `${name} present`);
    }
    assert.ok([...sampled].filter((n) => n.startsWith('kata_agent_')).length >= 10, 'many kata_agent_ metrics');
    const count = (t: string) => Number(/^kata_agent_scrape_count (\d+)$/m.exec(t)?.[1]);
    assert.equal(count(await scrape()), count(text) + 1);
  });

  test('GetGuestDetails lists the device and storage handlers; memory facts only when asked, as sysfs has them', async () => {
    const d = await h.api.getGuestDetails({ memBlockSize: true, memHotplugProbe: true });
    const details = d.agentDetails!;
    for (const t of ['blk', 'mmioblk', 'scsi', 'nvdimm', 'vfio-pci']) assert.ok(details.deviceHandlers.includes(t), `device handler ${t}`);
    for (const t of ['9p', 'virtio-fs', 'blk', 'ephemeral', 'local', 'overlayfs']) assert.ok(details.storageHandlers.includes(t), `storage handler ${t}`);
    assert.deepEqual(details.deviceHandlers, [...details.deviceHandlers].sort());
    assert.equal(details.initDaemon, false, 'host mode: not pid 1');
    assert.ok(details.version.length > 0);
    const blockFile = '/sys/devices/system/memory/block_size_bytes';
    const expected = existsSync(blockFile) ? BigInt(`0x${(await readFile(blockFile, 'utf8')).trim()}`) : 0n;
    assert.equal(d.memBlockSizeBytes, expected);
    assert.equal(d.supportMemHotplugProbe, existsSync('/sys/devices/system/memory/probe'));

    const bare = await h.api.getGuestDetails({});
    assert.equal(bare.memBlockSizeBytes, 0n, 'not asked, not filled');
    assert.equal(bare.supportMemHotplugProbe, false);
    assert.deepEqual(bare.agentDetails?.storageHandlers, details.storageHandlers);
  });
});
