// Client and server together over a real Unix socket.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import { Client, createClient } from '../../src/ttrpc/client.js';
import { encodeFrame, FrameDecoder, MESSAGE_LENGTH_MAX, MessageType } from '../../src/ttrpc/frame.js';
import { Server } from '../../src/ttrpc/server.js';
import {
  CancelledError,
  Code,
  ConnectionClosedError,
  DeadlineExceededError,
  MessageTooLargeError,
  TtrpcError,
} from '../../src/ttrpc/status.js';
import { connect } from '../../src/ttrpc/transport/connect.js';
import { deferred, EchoService, type Deferred, tempDir } from './helpers.js';

describe('Client with Server', () => {
  let cleanup: () => Promise<void>;
  let uri: string;
  let server: Server;
  const clients: Client[] = [];
  /** Server-side stream ids in the order responses were produced by test.Svc/Delay. */
  const completionOrder: number[] = [];
  const waitEntered = new Map<string, Deferred>();
  const waitAborted = new Map<string, Deferred<unknown>>();

  const newClient = async () => {
    const client = new Client(await connect(uri, { timeoutMs: 2000 }));
    clients.push(client);
    return client;
  };

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    uri = `unix://${join(tmp.dir, 'c.sock')}`;
    // A pino logger at silent level: checks the hook type and exercises the calls.
    server = new Server({ logger: pino({ level: 'silent' }) });
    server.registerRaw('test.Svc', 'Echo', async (payload) => payload);
    // Replies after a delay taken from the payload's first 2 bytes (ms).
    server.registerRaw('test.Svc', 'Delay', async (payload) => {
      const ms = Buffer.from(payload).readUInt16BE(0);
      await new Promise((resolve) => setTimeout(resolve, ms));
      completionOrder.push(Buffer.from(payload).readUInt32BE(2));
      return payload;
    });
    server.registerRaw('test.Svc', 'Meta', async (_p, ctx) => Buffer.from(JSON.stringify(Object.fromEntries(ctx.metadata))));
    server.registerRaw('test.Svc', 'Wait', async (payload, ctx) => {
      const key = Buffer.from(payload).toString();
      waitEntered.get(key)?.resolve();
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      waitAborted.get(key)?.resolve(ctx.signal.reason);
      return payload;
    });
    server.registerRaw('test.Svc', 'Fail', async () => {
      throw new TtrpcError(Code.NOT_FOUND, 'no such container');
    });
    server.registerRaw('test.Svc', 'Big', async () => new Uint8Array(MESSAGE_LENGTH_MAX));
    server.register(EchoService, {
      say: async (req, ctx) => ({ value: `${req.value}|${ctx.metadata.get('who')?.join(',') ?? ''}` }),
      blob: async (req) => ({ value: Uint8Array.from(req.value).reverse() }),
      ping: async () => ({}),
    });
    await server.listen(uri);
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
    await cleanup();
  });

  test('random payloads round-trip byte-exact', async () => {
    const client = await newClient();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200_000 }), async (payload) => {
        const reply = await client.callRaw('test.Svc', 'Echo', payload);
        assert.deepEqual(Buffer.from(reply), Buffer.from(payload));
      }),
      { numRuns: 60 },
    );
  });

  test('a payload just under the 4 MiB frame limit round-trips', async () => {
    const client = await newClient();
    const payload = randomBytes(MESSAGE_LENGTH_MAX - 64);
    const reply = await client.callRaw('test.Svc', 'Echo', payload);
    assert.ok(Buffer.from(reply).equals(payload));
  });

  test('1000 concurrent calls on one connection, answered out of order, all correct', async () => {
    const client = await newClient();
    completionOrder.length = 0;
    const n = 1000;
    const calls = Array.from({ length: n }, (_, i) => {
      const payload = Buffer.alloc(6 + (i % 50));
      payload.writeUInt16BE((i * 7919) % 23, 0); // 0..22 ms, scrambled
      payload.writeUInt32BE(i, 2);
      payload.fill(i & 0xff, 6);
      return client.callRaw('test.Svc', 'Delay', payload).then((reply) => ({ i, payload, reply }));
    });
    const results = await Promise.all(calls);
    for (const { payload, reply } of results) assert.deepEqual(Buffer.from(reply), payload);
    assert.equal(completionOrder.length, n);
    // The handlers finished in a different order than the calls were made.
    assert.notDeepEqual(completionOrder, [...completionOrder].sort((a, b) => a - b));
    assert.equal(client.pendingCalls, 0);
  });

  test('stream ids are odd, starting at 1, stepping by 2', async () => {
    const { dir, cleanup: done } = await tempDir();
    const path = join(dir, 'ids.sock');
    const seen: number[] = [];
    const decoder = new FrameDecoder();
    const fake = net.createServer((socket) =>
      socket.on('data', (chunk) => {
        for (const f of decoder.push(chunk)) {
          seen.push(f.header.streamId);
          socket.write(encodeFrame(f.header.streamId, MessageType.Response, new Uint8Array(0)));
        }
      }),
    );
    await new Promise<void>((resolve) => fake.listen(path, resolve));
    const client = new Client(await connect(`unix://${path}`, { timeoutMs: 1000 }));
    try {
      for (let i = 0; i < 4; i++) await client.callRaw('a', 'b', new Uint8Array(0));
      assert.deepEqual(seen, [1, 3, 5, 7]);
    } finally {
      await client.close();
      fake.close();
      await done();
    }
  });

  test('an error status rejects with TtrpcError carrying code and message', async () => {
    const client = await newClient();
    await assert.rejects(client.callRaw('test.Svc', 'Fail', new Uint8Array(0)), (err: unknown) => {
      assert.ok(err instanceof TtrpcError);
      assert.equal(err.code, Code.NOT_FOUND);
      assert.equal(err.message, 'no such container');
      return true;
    });
    await assert.rejects(client.callRaw('no.Service', 'X', new Uint8Array(0)), { code: Code.NOT_FOUND, message: 'service no.Service' });
  });

  test('metadata is sent with keys lower-cased, from a Map or an object', async () => {
    const client = await newClient();
    const fromObject = await client.callRaw('test.Svc', 'Meta', new Uint8Array(0), {
      metadata: { 'Agent-Ctl-Cfg': 'auto-values', multi: ['a', 'b'] },
    });
    assert.deepEqual(JSON.parse(Buffer.from(fromObject).toString()), { 'agent-ctl-cfg': ['auto-values'], multi: ['a', 'b'] });
    const fromMap = await client.callRaw('test.Svc', 'Meta', new Uint8Array(0), { metadata: new Map([['K', 'v']]) });
    assert.deepEqual(JSON.parse(Buffer.from(fromMap).toString()), { k: ['v'] });
  });

  test('timeoutMs: the server aborts the handler and the call fails with DEADLINE_EXCEEDED', async () => {
    const client = await newClient();
    waitAborted.set('t1', deferred<unknown>());
    await assert.rejects(client.callRaw('test.Svc', 'Wait', Buffer.from('t1'), { timeoutMs: 30 }), (err: unknown) => {
      assert.ok(err instanceof TtrpcError);
      assert.equal(err.code, Code.DEADLINE_EXCEEDED);
      return true;
    });
    // The server saw the deadline (timeout_nano was sent) and aborted the handler.
    assert.ok((await waitAborted.get('t1')!.promise) instanceof DeadlineExceededError);
    assert.equal(client.pendingCalls, 0);
  });

  test('an aborted signal fails the call with CANCELLED; the connection stays usable', async () => {
    const client = await newClient();
    const controller = new AbortController();
    waitEntered.set('c1', deferred());
    const call = client.callRaw('test.Svc', 'Wait', Buffer.from('c1'), { signal: controller.signal });
    await waitEntered.get('c1')!.promise;
    controller.abort();
    await assert.rejects(call, (err: unknown) => err instanceof CancelledError && err.code === Code.CANCELLED);
    await assert.rejects(client.callRaw('test.Svc', 'Echo', new Uint8Array(0), { signal: controller.signal }), CancelledError);
    assert.deepEqual([...(await client.callRaw('test.Svc', 'Echo', Uint8Array.from([1])))], [1]);
  });

  test('a request over 4 MiB is refused locally with RESOURCE_EXHAUSTED', async () => {
    const client = await newClient();
    await assert.rejects(client.callRaw('test.Svc', 'Echo', new Uint8Array(MESSAGE_LENGTH_MAX)), (err: unknown) => {
      assert.ok(err instanceof MessageTooLargeError);
      assert.equal(err.code, Code.RESOURCE_EXHAUSTED);
      assert.match(err.message, /^message length \d+ exceed maximum message size of 4194304$/);
      return true;
    });
    assert.equal(client.pendingCalls, 0);
  });

  test('a response over 4 MiB becomes RESOURCE_EXHAUSTED from the server', async () => {
    const client = await newClient();
    await assert.rejects(client.callRaw('test.Svc', 'Big', new Uint8Array(0)), { code: Code.RESOURCE_EXHAUSTED });
    assert.deepEqual([...(await client.callRaw('test.Svc', 'Echo', Uint8Array.from([2])))], [2]);
  });

  test('closing the connection fails pending calls with UNAVAILABLE and aborts the server handlers', async () => {
    const client = await newClient();
    const other = await newClient();
    waitEntered.set('x1', deferred());
    waitAborted.set('x1', deferred<unknown>());
    const pending = client.callRaw('test.Svc', 'Wait', Buffer.from('x1'));
    await waitEntered.get('x1')!.promise;
    await client.close();
    await assert.rejects(pending, (err: unknown) => err instanceof ConnectionClosedError && err.code === Code.UNAVAILABLE);
    assert.ok((await waitAborted.get('x1')!.promise) instanceof ConnectionClosedError);
    await assert.rejects(client.callRaw('test.Svc', 'Echo', new Uint8Array(0)), ConnectionClosedError);
    assert.equal(client.closed, true);
    // The server goes on serving other connections.
    assert.deepEqual([...(await other.callRaw('test.Svc', 'Echo', Uint8Array.from([3])))], [3]);
  });

  test('the peer closing the connection fails pending calls and calls onClose', async () => {
    const { dir, cleanup: done } = await tempDir();
    const path = join(dir, 'drop.sock');
    const gotRequest = deferred<net.Socket>();
    const fake = net.createServer((socket) => socket.once('data', () => gotRequest.resolve(socket)));
    await new Promise<void>((resolve) => fake.listen(path, resolve));
    const closed = deferred<Error | undefined>();
    const client = new Client(await connect(`unix://${path}`, { timeoutMs: 1000 }), { onClose: (err) => closed.resolve(err) });
    try {
      const call = client.callRaw('a', 'b', new Uint8Array(0));
      (await gotRequest.promise).destroy();
      await assert.rejects(call, { code: Code.UNAVAILABLE, message: 'connection closed' });
      await closed.promise;
      assert.equal(client.closed, true);
    } finally {
      await client.close();
      fake.close();
      await done();
    }
  });

  test('typed calls: call() and createClient() encode and decode with the service schemas', async () => {
    const client = await newClient();
    const echo = createClient(client, EchoService);
    const said = await echo.say({ value: 'hello' }, { metadata: { Who: 'me' } });
    assert.equal(said.value, 'hello|me');
    const blob = await client.call(EchoService.method.blob, { value: Uint8Array.from([1, 2, 3]) });
    assert.deepEqual([...blob.value], [3, 2, 1]);
    const pong = await echo.ping({});
    assert.equal(pong.$typeName, 'google.protobuf.Empty');
    await assert.rejects(echo.watch({}), { code: Code.UNIMPLEMENTED });
  });
});
