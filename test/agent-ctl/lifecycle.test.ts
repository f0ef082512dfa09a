// A person driving a whole container lifecycle by hand with agent-ctl, in
// host mode (real agent process, real runc, busybox rootfs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBusyboxRootfs, busyboxSpec } from '../helpers/busybox-rootfs.js';
import { containerTestsSkipReason, removeTestCgroup } from '../helpers/container-env.js';
import { startAgentProcess } from '../helpers/agent-process.js';
import { binPath, run } from '../helpers/processes.js';

test('CreateContainer spec=file://, StartContainer, ReadStdout, WaitProcess, RemoveContainer', { skip: containerTestsSkipReason('runc') }, async () => {
  const rootfs = await createBusyboxRootfs();
  const agent = await startAgentProcess(['--oci-runtime', 'runc']);
  try {
    const specFile = join(rootfs.dir, 'config.json');
    const spec = busyboxSpec({ rootfs: rootfs.rootfs, args: ['sh', '-c', 'echo hello from $(hostname); exit 5'], cgroupsPath: `/kata-ts-test-ctl-${process.pid}` });
    writeFileSync(specFile, JSON.stringify(spec));
    const r = await run(binPath('kata-ts-agent-ctl'), [
      'connect', '--server-address', `unix://${agent.socket}`, '--timeout', '30s',
      '-c', `CreateContainer cid=demo spec=file://${specFile}`,
      '-c', 'StartContainer',
      '-c', 'ReadStdout len=1024',
      '-c', 'WaitProcess',
      '-c', 'RemoveContainer',
      '-c', 'StartContainer',
    ]);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { command: string; response?: Record<string, unknown>; text?: string; error?: { code: string } });
    assert.deepEqual(lines.map((l) => l.command), ['CreateContainer', 'StartContainer', 'ReadStdout', 'WaitProcess', 'RemoveContainer', 'StartContainer']);
    assert.equal(lines[2]!.text, 'hello from busybox\n');
    assert.equal(lines[3]!.response!.status, 5);
    assert.equal(lines[5]!.error!.code, 'NOT_FOUND', 'the container is gone');
    assert.equal(r.code, 1, 'the last call failed');

    const bad = await run(binPath('kata-ts-agent-ctl'), ['connect', '--server-address', `unix://${agent.socket}`, '-c', `CreateContainer cid=x spec=file://${join(rootfs.dir, 'absent.json')}`]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /spec: cannot read .*absent\.json/);
  } finally {
    assert.equal(await agent.shutdown(), 0, agent.output());
    await rootfs.cleanup();
    await removeTestCgroup(`/kata-ts-test-ctl-${process.pid}`);
  }
});
