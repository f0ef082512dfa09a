// The container state file: atomic writes, and a state that tells the truth
// when the monitor is gone (dead, or its pid reused by another process).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerPaths } from '../../../src/runtime/monitor/layout.js';
import {
  monitorAlive,
  processStartTime,
  readStateFile,
  truthfulState,
  updateStateFile,
  writeStateFile,
  type ContainerStateRecord,
} from '../../../src/runtime/monitor/state-file.js';

describe('container state file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-state-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function record(over: Partial<ContainerStateRecord> = {}): ContainerStateRecord {
    return {
      id: 'c1',
      bundle: '/b',
      rootfs: '/b/rootfs',
      status: 'running',
      monitorPid: process.pid,
      monitorStartTime: processStartTime(process.pid)!,
      created: '2026-01-01T00:00:00.000Z',
      annotations: { a: 'b' },
      ...over,
    };
  }

  test('written, updated and read back; no temporary file stays', async () => {
    const file = join(dir, 'state.json');
    writeStateFile(file, record());
    const updated = updateStateFile(file, { status: 'stopped', exitStatus: 3 });
    assert.equal(updated.status, 'stopped');
    assert.deepEqual(await readStateFile(file), { ...record(), status: 'stopped', exitStatus: 3 });
    assert.deepEqual(await readdir(dir), ['state.json']);
  });

  test('our own process is alive; its start time is a number', () => {
    assert.match(processStartTime(process.pid)!, /^[0-9]+$/);
    assert.equal(monitorAlive(record()), true);
    assert.equal(truthfulState(record()).status, 'running');
  });

  test('a monitor that exited: stopped, with an error naming its pid', async () => {
    const child = spawn('true');
    const pid = child.pid!;
    await once(child, 'exit');
    assert.equal(processStartTime(pid), null);
    const s = truthfulState(record({ monitorPid: pid, monitorStartTime: '123' }));
    assert.equal(s.status, 'stopped');
    assert.match(s.error!, new RegExp(`pid ${pid}`));
  });

  test('a reused pid (same pid, other start time) is not our monitor', () => {
    const s = record({ monitorStartTime: '1' });
    assert.equal(monitorAlive(s), false);
    assert.equal(truthfulState(s).status, 'stopped');
  });

  test('a stopped state stays as recorded', () => {
    const s = record({ status: 'stopped', exitStatus: 7, monitorPid: 0 });
    assert.deepEqual(truthfulState(s), s);
  });

  test('layout: long ids keep socket paths short; distinct ids, distinct VM directories', () => {
    const long = 'a'.repeat(128);
    const p = containerPaths('/run/containerd/runc/default', long);
    assert.ok(Buffer.byteLength(`${p.vmDir}/virtiofsd.sock`) < 108, p.vmDir);
    assert.ok(Buffer.byteLength(p.taskSocket) < 108);
    assert.equal(p.stateFile, `/run/containerd/runc/default/${long}/state.json`);
    assert.notEqual(containerPaths('/r', 'x').vmDir, containerPaths('/r', 'y').vmDir);
  });
});
