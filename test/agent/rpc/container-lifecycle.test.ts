// A container's whole life through the agent's RPCs, in host mode with a real
// OCI runtime and a busybox rootfs: the path the Kata runtime takes.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { DEVICE_RULE_WILDCARD_ANNOTATION } from '../../../src/oci/annotations.js';
import { randomBytes } from 'node:crypto';
import { Code, isTtrpcError } from '../../../src/ttrpc/index.js';
import { specToProto, processToProto } from '../../../src/oci/convert.js';
import { createBusyboxRootfs, busyboxSpec, busyboxProcess, type BusyboxRootfs } from '../../helpers/busybox-rootfs.js';
import { containerTestsSkipReason, removeTestCgroup } from '../../helpers/container-env.js';
import { startAgentProcess, listTree, type AgentUnderTest } from '../../helpers/agent-process.js';

const skip = containerTestsSkipReason('runc');

function code(c: Code) {
  return (e: unknown) => isTtrpcError(e) && e.code === c;
}

describe('container lifecycle through the agent (runc)', { skip }, () => {
  let rootfs: BusyboxRootfs;
  let agent: AgentUnderTest;
  const cgroupBase = `/kata-ts-test-${process.pid}`;

  before(async () => {
    rootfs = await createBusyboxRootfs();
    agent = await startAgentProcess(['--oci-runtime', 'runc']);
  });
  after(async () => {
    const exit = await agent.shutdown();
    await rootfs.cleanup();
    await removeTestCgroup(cgroupBase);
    assert.equal(exit, 0, agent.output());
  });

  function spec(id: string, args: string[], extra: { terminal?: boolean } = {}) {
    return specToProto(busyboxSpec({ rootfs: rootfs.rootfs, args, cgroupsPath: `${cgroupBase}/${id}`, ...extra }));
  }

  async function readAll(id: string, execId: string, which: 'readStdout' | 'readStderr'): Promise<string> {
    let out = '';
    for (;;) {
      try {
        const r = await agent.api[which]({ containerId: id, execId, len: 32768 });
        out += Buffer.from(r.data).toString();
      } catch (err) {
        assert.ok(isTtrpcError(err) && err.code === Code.OUT_OF_RANGE, `end of stream is OUT_OF_RANGE: ${String(err)}`);
        return out;
      }
    }
  }

  test('create, start, stdout/stderr exact, exit code, remove leaves nothing', async () => {
    const id = `life-${randomBytes(4).toString('hex')}`;
    await agent.api.createContainer({ containerId: id, execId: id, OCI: spec(id, ['sh', '-c', 'echo out; echo err >&2; exit 3']) });
    await agent.api.startContainer({ containerId: id });
    const [out, err, wait] = await Promise.all([
      readAll(id, id, 'readStdout'),
      readAll(id, id, 'readStderr'),
      agent.api.waitProcess({ containerId: id, execId: id }),
    ]);
    assert.equal(out, 'out\n');
    assert.equal(err, 'err\n');
    assert.equal(wait.status, 3);
    await agent.api.removeContainer({ containerId: id });
    assert.deepEqual(listTree(`${agent.stateDir}/bundles`), []);
    assert.equal(existsSync(`/sys/fs/cgroup/memory${cgroupBase}/${id}`), false, 'cgroup removed');
    await assert.rejects(agent.api.startContainer({ containerId: id }), code(Code.NOT_FOUND));
  });

  test('stdin round trip through cat, exec while running, signals', async () => {
    const id = `io-${randomBytes(4).toString('hex')}`;
    await agent.api.createContainer({ containerId: id, execId: id, OCI: spec(id, ['cat']) });
    await agent.api.startContainer({ containerId: id });
    const payload = randomBytes(256 * 1024);
    const reading = (async () => {
      const chunks: Buffer[] = [];
      for (;;) {
        try {
          chunks.push(Buffer.from((await agent.api.readStdout({ containerId: id, execId: id, len: 32768 })).data));
        } catch {
          return Buffer.concat(chunks);
        }
      }
    })();
    for (let off = 0; off < payload.length; off += 65536) {
      const w = await agent.api.writeStdin({ containerId: id, execId: id, data: payload.subarray(off, off + 65536) });
      assert.equal(w.len, Math.min(65536, payload.length - off));
    }

    // exec into the running container
    await agent.api.execProcess({ containerId: id, execId: 'e1', process: processToProto(busyboxProcess({ args: ['sh', '-c', 'echo $FOO; exit 7'], env: ['PATH=/bin', 'FOO=bar'] })) });
    const [eout, ewait] = await Promise.all([readAll(id, 'e1', 'readStdout'), agent.api.waitProcess({ containerId: id, execId: 'e1' })]);
    assert.equal(eout, 'bar\n');
    assert.equal(ewait.status, 7);
    await assert.rejects(agent.api.execProcess({ containerId: id, execId: 'e1', process: processToProto(busyboxProcess({ args: ['true'] })) }), code(Code.ALREADY_EXISTS));

    await agent.api.closeStdin({ containerId: id, execId: id });
    assert.ok((await reading).equals(payload), 'stdin came back byte-exact');
    assert.equal((await agent.api.waitProcess({ containerId: id, execId: id })).status, 0);
    await agent.api.removeContainer({ containerId: id });
  });

  test('SignalProcess with an empty exec id kills every process; killed -> 128+signal', async () => {
    const id = `sig-${randomBytes(4).toString('hex')}`;
    await agent.api.createContainer({ containerId: id, execId: id, OCI: spec(id, ['sleep', '1000']) });
    await agent.api.startContainer({ containerId: id });
    await agent.api.execProcess({ containerId: id, execId: 'x', process: processToProto(busyboxProcess({ args: ['sleep', '1000'] })) });
    await agent.api.signalProcess({ containerId: id, execId: '', signal: 9 });
    const [a, b] = await Promise.all([agent.api.waitProcess({ containerId: id, execId: id }), agent.api.waitProcess({ containerId: id, execId: 'x' })]);
    assert.equal(a.status, 137);
    assert.equal(b.status, 137);
    await agent.api.removeContainer({ containerId: id });
  });

  test('a device rule for minor 0 keeps its meaning when the runtime says wildcards are -1', async () => {
    for (const [annotated, expected] of [[true, 'c 99:0 rwm'], [false, 'c 99:* rwm']] as const) {
      const id = `zero-${annotated ? 'a' : 'b'}-${randomBytes(3).toString('hex')}`;
      const s = busyboxSpec({ rootfs: rootfs.rootfs, args: ['sleep', '100'], cgroupsPath: `${cgroupBase}/${id}` });
      s.linux!.resources = { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 99, minor: 0, access: 'rwm' }] };
      if (annotated) s.annotations = { [DEVICE_RULE_WILDCARD_ANNOTATION]: '-1' };
      await agent.api.createContainer({ containerId: id, execId: id, OCI: specToProto(s) });
      const list = readFileSync(`/sys/fs/cgroup/devices${cgroupBase}/${id}/devices.list`, 'utf8');
      assert.ok(list.split('\n').includes(expected), `${expected} in ${list}`);
      await agent.api.removeContainer({ containerId: id });
    }
  });

  test('bad input: field named, right status, nothing left behind', async () => {
    await assert.rejects(agent.api.createContainer({ containerId: '../evil', execId: 'x', OCI: spec('x', ['true']) }), (e: unknown) => isTtrpcError(e) && e.code === Code.INVALID_ARGUMENT && /container_id/.test(e.message));
    await assert.rejects(agent.api.createContainer({ containerId: 'nospec' }), (e: unknown) => isTtrpcError(e) && e.code === Code.INVALID_ARGUMENT && /OCI/.test(e.message));
    await assert.rejects(agent.api.startContainer({ containerId: 'absent' }), (e: unknown) => isTtrpcError(e) && e.code === Code.NOT_FOUND && /Invalid container id/.test(e.message));
    await assert.rejects(agent.api.waitProcess({ containerId: 'absent', execId: '' }), code(Code.NOT_FOUND));
    // A device that is not in the spec: the remap fails, nothing is created.
    const id = `dev-${randomBytes(4).toString('hex')}`;
    await assert.rejects(
      agent.api.createContainer({ containerId: id, execId: id, OCI: spec(id, ['true']), devices: [{ type: 'mmioblk', vmPath: '/dev/null', containerPath: '/dev/xvdz' }] }),
      (e: unknown) => isTtrpcError(e) && e.code === Code.INVALID_ARGUMENT,
    );
    await assert.rejects(
      agent.api.createContainer({ containerId: id, execId: id, OCI: spec(id, ['true']), devices: [{ type: 'frob', id: 'x', containerPath: '/dev/x' }] }),
      (e: unknown) => isTtrpcError(e) && e.code === Code.INVALID_ARGUMENT && /devices\[0\]\.type/.test(e.message),
    );
    // a failed create of an id can be retried
    await agent.api.createContainer({ containerId: id, execId: id, OCI: spec(id, ['true']) });
    await assert.rejects(agent.api.createContainer({ containerId: id, execId: id, OCI: spec(id, ['true']) }), code(Code.ALREADY_EXISTS));
    await agent.api.removeContainer({ containerId: id });
    assert.deepEqual(listTree(`${agent.stateDir}/bundles`), []);
  });
});

describe('agent shutdown with calls in flight (runc)', { skip }, () => {
  test('SIGTERM while ReadStdout and WaitProcess block: the agent exits 0 and leaves nothing', async () => {
    const rootfs = await createBusyboxRootfs();
    const agent = await startAgentProcess(['--oci-runtime', 'runc']);
    try {
      const id = 'blocked';
      await agent.api.createContainer({ containerId: id, execId: id, OCI: specToProto(busyboxSpec({ rootfs: rootfs.rootfs, args: ['cat'], cgroupsPath: `/kata-ts-test-${process.pid}-blocked` })) });
      await agent.api.startContainer({ containerId: id });
      const pending = [
        agent.api.readStdout({ containerId: id, execId: id, len: 100 }).catch((e: unknown) => e),
        agent.api.waitProcess({ containerId: id, execId: id }).catch((e: unknown) => e),
      ];
      const stateDir = agent.stateDir;
      const exit = await agent.shutdown(true);
      assert.equal(exit, 0, agent.output());
      for (const r of await Promise.all(pending)) assert.ok(isTtrpcError(r), 'pending calls fail cleanly');
      assert.equal(existsSync(`/sys/fs/cgroup/memory/kata-ts-test-${process.pid}-blocked`), false, 'cgroup removed');
      // Only the (empty) directories the agent made for itself remain.
      assert.deepEqual(listTree(stateDir).sort(), ['bundles', 'oci-runtime']);
    } finally {
      await agent.shutdown();
      await rootfs.cleanup();
      await removeTestCgroup(`/kata-ts-test-${process.pid}-blocked`);
    }
  });
});
