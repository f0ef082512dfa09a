// The console socket's failure modes. Receiving a real pty master from a
// runtime is covered by the container tests (runc and crun).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ContainerError } from '../../../src/agent/container/errors.js';
import { ConsoleSocket } from '../../../src/agent/process/console-socket.js';

function isContainerError(code: string, pattern?: RegExp) {
  return (err: unknown) => err instanceof ContainerError && err.code === code && (!pattern || pattern.test(err.message));
}

describe('ConsoleSocket', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-console-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('listens on a new socket file and removes it on close', async () => {
    const cs = await ConsoleSocket.listen(dir);
    assert.equal(existsSync(cs.path), true);
    assert.ok(cs.path.startsWith(dir));
    const rejected = assert.rejects(cs.receive(10_000), isContainerError('FAILED_PRECONDITION', /closed before a terminal/));
    await cs.close();
    await rejected;
    assert.equal(existsSync(cs.path), false);
    await cs.close(); // twice is fine
  });

  test('a peer that sends data without a descriptor is an error', async () => {
    const cs = await ConsoleSocket.listen(dir);
    try {
      const pending = cs.receive(10_000);
      const client = connect(cs.path);
      client.end('no fd here');
      await assert.rejects(pending, isContainerError('INTERNAL', /without sending a terminal/));
      client.destroy();
    } finally {
      await cs.close();
    }
  });

  test('times out when nothing arrives', async () => {
    const cs = await ConsoleSocket.listen(dir);
    try {
      await assert.rejects(cs.receive(50), isContainerError('DEADLINE_EXCEEDED'));
    } finally {
      await cs.close();
    }
  });

  test('refuses a directory whose socket path would be too long', async () => {
    await assert.rejects(ConsoleSocket.listen(join(dir, 'x'.repeat(100))), isContainerError('INTERNAL', /too long/));
  });
});
