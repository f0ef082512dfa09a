// A handler's ctx.signal is created on first read; a call aborted before that
// read (deadline passed, connection closed) must still show an aborted signal.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Code, ConnectionClosedError, DeadlineExceededError, Server, type CallContext } from '../../src/ttrpc/index.js';
import { connect } from '../../src/ttrpc/transport/connect.js';
import { deferred, RawPeer, tempDir } from './helpers.js';

test('a signal first read after the deadline passed is aborted with DEADLINE_EXCEEDED', async () => {
  const { dir, cleanup } = await tempDir();
  const server = new Server();
  const seen = deferred<AbortSignal>();
  server.registerRaw('t.S', 'Slow', async (_payload, ctx) => {
    await sleep(150);
    seen.resolve(ctx.signal);
    return new Uint8Array(0);
  });
  await server.listen(`unix://${join(dir, 's.sock')}`);
  const client = new Client(await connect(`unix://${join(dir, 's.sock')}`));
  try {
    await assert.rejects(client.callRaw('t.S', 'Slow', new Uint8Array(0), { timeoutMs: 30 }), { code: Code.DEADLINE_EXCEEDED });
    const signal = await seen.promise;
    assert.equal(signal.aborted, true);
    assert.ok(signal.reason instanceof DeadlineExceededError);
  } finally {
    await client.close();
    await server.close();
    await cleanup();
  }
});

test('a signal first read after the connection closed is aborted with UNAVAILABLE', async () => {
  const { dir, cleanup } = await tempDir();
  const server = new Server();
  const started = deferred();
  const seen = deferred<AbortSignal>();
  server.registerRaw('t.S', 'Slow', async (_payload, ctx: CallContext) => {
    started.resolve();
    await sleep(150);
    seen.resolve(ctx.signal);
    return new Uint8Array(0);
  });
  await server.listen(`unix://${join(dir, 's.sock')}`);
  const peer = await RawPeer.connect(join(dir, 's.sock'));
  try {
    peer.sendRequest(1, { service: 't.S', method: 'Slow' });
    await started.promise;
    peer.close();
    const signal = await seen.promise;
    assert.equal(signal.aborted, true);
    assert.ok(signal.reason instanceof ConnectionClosedError);
  } finally {
    await server.close();
    await cleanup();
  }
});

test('a call answered normally leaves its signal unaborted', async () => {
  const { dir, cleanup } = await tempDir();
  const server = new Server();
  const seen = deferred<CallContext>();
  server.registerRaw('t.S', 'M', async (_payload, ctx) => {
    seen.resolve(ctx);
    return Buffer.from('x');
  });
  await server.listen(`unix://${join(dir, 's.sock')}`);
  const client = new Client(await connect(`unix://${join(dir, 's.sock')}`));
  try {
    await client.callRaw('t.S', 'M', new Uint8Array(0), { timeoutMs: 5000 });
    const ctx = await seen.promise;
    await sleep(20);
    assert.equal(ctx.signal.aborted, false);
  } finally {
    await client.close();
    await server.close();
    await cleanup();
  }
});

test('a request written just before the client closes still reaches the server', async () => {
  const { dir, cleanup } = await tempDir();
  const server = new Server();
  const arrived = deferred();
  server.registerRaw('t.S', 'M', async () => {
    arrived.resolve();
    return new Uint8Array(0);
  });
  await server.listen(`unix://${join(dir, 's.sock')}`);
  const client = new Client(await connect(`unix://${join(dir, 's.sock')}`));
  try {
    const call = client.callRaw('t.S', 'M', new Uint8Array(0));
    const closing = client.close();
    await assert.rejects(call, { code: Code.UNAVAILABLE });
    await closing;
    await arrived.promise;
  } finally {
    await server.close();
    await cleanup();
  }
});
