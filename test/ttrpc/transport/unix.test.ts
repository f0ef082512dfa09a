import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { randomUUID } from 'node:crypto';
import { Client } from '../../../src/ttrpc/client.js';
import { Server } from '../../../src/ttrpc/server.js';
import { connect } from '../../../src/ttrpc/transport/connect.js';
import { listen } from '../../../src/ttrpc/transport/listen.js';
import { tempDir } from '../helpers.js';

async function echoServer(): Promise<Server> {
  const server = new Server();
  server.registerRaw('t.S', 'Echo', async (p) => p);
  return server;
}

test('listen and connect on a unix socket file; the file is removed on close', async () => {
  const { dir, cleanup } = await tempDir();
  const path = join(dir, 'agent.sock');
  const server = await echoServer();
  const listener = await server.listen(`unix://${path}`);
  assert.equal(listener.address, `unix://${path}`);
  assert.equal(existsSync(path), true);
  const client = new Client(await connect(`unix://${path}`, { timeoutMs: 1000 }));
  try {
    assert.deepEqual([...(await client.callRaw('t.S', 'Echo', Uint8Array.from([7])))], [7]);
  } finally {
    await client.close();
    await server.close();
    await cleanup();
  }
  assert.equal(existsSync(path), false);
});

test('abstract unix sockets (unix://@name)', async () => {
  const name = `ttrpc-test-${randomUUID()}`;
  const server = await echoServer();
  const listener = await server.listen(`unix://@${name}`);
  assert.equal(listener.address, `unix://@${name}`);
  const client = new Client(await connect(`unix://@${name}`, { timeoutMs: 1000 }));
  try {
    assert.deepEqual([...(await client.callRaw('t.S', 'Echo', Uint8Array.from([8])))], [8]);
  } finally {
    await client.close();
    await server.close();
  }
});

test('a stale socket file is replaced; a live one is not stolen', async () => {
  const { dir, cleanup } = await tempDir();
  const path = join(dir, 'stale.sock');
  // While another server listens, the path is in use.
  const first = net.createServer();
  await new Promise<void>((resolve) => first.listen(path, resolve));
  const live = await listen(`unix://${path}`, () => {}).then(
    () => 'listened',
    (err: NodeJS.ErrnoException) => err.code,
  );
  assert.equal(live, 'EADDRINUSE');
  // Now make it stale: a socket file nobody listens on. A closing net.Server
  // removes its file, so let a child process bind it and die by SIGKILL.
  await new Promise<void>((resolve) => first.close(() => resolve()));
  const made = spawnSync(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  assert.equal(made.signal, 'SIGKILL');
  assert.equal(existsSync(path), true);
  const server = await echoServer();
  try {
    await server.listen(`unix://${path}`);
    const client = new Client(await connect(`unix://${path}`, { timeoutMs: 1000 }));
    assert.deepEqual([...(await client.callRaw('t.S', 'Echo', Uint8Array.from([9])))], [9]);
    await client.close();
  } finally {
    await server.close();
    await cleanup();
  }
});
