// The server against hand-written frames on a real Unix socket: the cases a
// well-behaved client never produces, and the behaviour Go and Rust clients
// rely on.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { StringValueSchema } from '@bufbuild/protobuf/wkt';
import { encodeFrame, encodeHeader, MESSAGE_LENGTH_MAX, MessageType } from '../../src/ttrpc/frame.js';
import { Server, type CallContext } from '../../src/ttrpc/server.js';
import { Code, ConnectionClosedError, DeadlineExceededError, TtrpcError } from '../../src/ttrpc/status.js';
import { deferred, EchoService, type Deferred, RawPeer, tempDir } from './helpers.js';

describe('Server (raw frames)', () => {
  let cleanup: () => Promise<void>;
  let path: string;
  let server: Server;
  const peers: RawPeer[] = [];
  /** Signals of calls to test.Slow/Wait, by the value of their payload. */
  const waiting = new Map<string, { ctx: CallContext; aborted: Promise<unknown> }>();
  const started = new Map<string, Deferred>();

  const connect = async () => {
    const peer = await RawPeer.connect(path);
    peers.push(peer);
    return peer;
  };

  before(async () => {
    ({ cleanup, dir: path } = await tempDir());
    path = join(path, 'server.sock');
    server = new Server();
    server.registerRaw('test.Raw', 'Echo', async (payload) => payload);
    server.registerRaw('test.Raw', 'Meta', async (_payload, ctx) =>
      Buffer.from(JSON.stringify([...ctx.metadata.entries()])),
    );
    server.registerRaw('test.Raw', 'Fail', async (payload) => {
      const what = Buffer.from(payload).toString();
      if (what === 'ttrpc') throw new TtrpcError(Code.FAILED_PRECONDITION, 'not now');
      if (what === 'plain') throw new Error('disk on fire');
      throw 'a string';
    });
    // Waits until its signal is aborted (deadline or connection close).
    server.registerRaw('test.Raw', 'Wait', async (payload, ctx) => {
      const key = Buffer.from(payload).toString();
      const aborted = new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason)));
      waiting.set(key, { ctx, aborted });
      started.get(key)?.resolve();
      await aborted;
      return Buffer.from('late');
    });
    server.register(EchoService, {
      say: async (req) => ({ value: `said ${req.value}` }),
    });
    await server.listen(`unix://${path}`);
  });

  after(async () => {
    for (const p of peers) p.close();
    await server.close();
    await cleanup();
  });

  test('a request is answered on its stream id with an OK status and the payload', async () => {
    const peer = await connect();
    peer.sendRequest(1, { service: 'test.Raw', method: 'Echo', payload: Buffer.from('hi') });
    const { streamId, response } = await peer.nextResponse();
    assert.equal(streamId, 1);
    assert.equal(response.status?.code, Code.OK);
    assert.equal(Buffer.from(response.payload).toString(), 'hi');
  });

  test('oversize frame: RESOURCE_EXHAUSTED on its stream id, and the connection stays usable', async () => {
    const peer = await connect();
    const length = MESSAGE_LENGTH_MAX + 1;
    peer.write(encodeHeader({ length, streamId: 1, type: MessageType.Request, flags: 0 }));
    // The announced body, in pieces, all 0xff (not a valid request anyway).
    const piece = Buffer.alloc(1 << 20, 0xff);
    for (let sent = 0; sent < length; sent += piece.length) peer.write(piece.subarray(0, Math.min(piece.length, length - sent)));
    peer.sendRequest(3, { service: 'test.Raw', method: 'Echo', payload: Buffer.from('after') });

    const first = await peer.nextResponse();
    assert.equal(first.streamId, 1);
    assert.equal(first.response.status?.code, Code.RESOURCE_EXHAUSTED);
    assert.equal(first.response.status?.message, 'message length 4194305 exceed maximum message size of 4194304');
    const second = await peer.nextResponse();
    assert.equal(second.streamId, 3);
    assert.equal(second.response.status?.code, Code.OK);
    assert.equal(Buffer.from(second.response.payload).toString(), 'after');
  });

  test('a truncated frame followed by close does not disturb the server', async () => {
    const peer = await connect();
    const frame = encodeFrame(1, MessageType.Request, new Uint8Array(100));
    peer.write(frame.subarray(0, 40));
    peer.socket.end();
    await peer.closed;
    const other = await connect();
    other.sendRequest(1, { service: 'test.Raw', method: 'Echo', payload: Buffer.from('still here') });
    const { response } = await other.nextResponse();
    assert.equal(Buffer.from(response.payload).toString(), 'still here');
  });

  test('a request that is not a protobuf Request gets INVALID_ARGUMENT on its id', async () => {
    const peer = await connect();
    // Field 1 claims 100 bytes of string but the message ends.
    peer.write(encodeFrame(5, MessageType.Request, Uint8Array.from([0x0a, 100, 1, 2])));
    const { streamId, response } = await peer.nextResponse();
    assert.equal(streamId, 5);
    assert.equal(response.status?.code, Code.INVALID_ARGUMENT);
    assert.match(response.status?.message ?? '', /^unmarshal request error: /);
  });

  test('a payload that does not decode as the method input gets INVALID_ARGUMENT naming the type', async () => {
    const peer = await connect();
    peer.sendRequest(1, { service: 'test.Echo', method: 'Say', payload: Uint8Array.from([0x0a, 50, 1]) });
    const { response } = await peer.nextResponse();
    assert.equal(response.status?.code, Code.INVALID_ARGUMENT);
    assert.match(response.status?.message ?? '', /google\.protobuf\.StringValue/);
  });

  test('typed methods decode and encode with their schemas', async () => {
    const peer = await connect();
    const payload = toBinary(StringValueSchema, create(StringValueSchema, { value: 'x' }));
    peer.sendRequest(1, { service: 'test.Echo', method: 'Say', payload });
    const { response } = await peer.nextResponse();
    assert.equal(response.status?.code, Code.OK);
    assert.deepEqual(
      [...response.payload],
      [...toBinary(StringValueSchema, create(StringValueSchema, { value: 'said x' }))],
    );
  });

  test('an even stream id gets INVALID_ARGUMENT on that id, and the connection goes on', async () => {
    const peer = await connect();
    peer.sendRequest(2, { service: 'test.Raw', method: 'Echo', payload: Buffer.from('x') });
    const bad = await peer.nextResponse();
    assert.equal(bad.streamId, 2);
    assert.equal(bad.response.status?.code, Code.INVALID_ARGUMENT);
    assert.equal(bad.response.status?.message, 'StreamID must be odd for client initiated streams');
    peer.sendRequest(3, { service: 'test.Raw', method: 'Echo', payload: Buffer.from('y') });
    const good = await peer.nextResponse();
    assert.equal(good.streamId, 3);
    assert.equal(good.response.status?.code, Code.OK);
  });

  test('unknown service and unknown method get NOT_FOUND', async () => {
    const peer = await connect();
    peer.sendRequest(1, { service: 'no.Such', method: 'Echo' });
    peer.sendRequest(3, { service: 'test.Raw', method: 'Nope' });
    // Methods of a registered service that the implementation left out are unknown too.
    peer.sendRequest(5, { service: 'test.Echo', method: 'Ping' });
    const answers = new Map<number, { code?: number; message?: string }>();
    for (let i = 0; i < 3; i++) {
      const { streamId, response } = await peer.nextResponse();
      answers.set(streamId, { code: response.status?.code, message: response.status?.message });
    }
    assert.deepEqual(answers.get(1), { code: Code.NOT_FOUND, message: 'service no.Such' });
    assert.deepEqual(answers.get(3), { code: Code.NOT_FOUND, message: 'method Nope' });
    assert.deepEqual(answers.get(5), { code: Code.NOT_FOUND, message: 'method Ping' });
  });

  test('frames that are not requests are ignored', async () => {
    const peer = await connect();
    peer.write(encodeFrame(1, MessageType.Response, Uint8Array.from([1, 2, 3])));
    peer.write(encodeFrame(1, MessageType.Data, Uint8Array.from([4])));
    peer.write(encodeFrame(1, 0x7f, new Uint8Array(0)));
    peer.sendRequest(3, { service: 'test.Raw', method: 'Echo', payload: Buffer.from('z') });
    const { streamId } = await peer.nextResponse();
    assert.equal(streamId, 3);
  });

  test('handler errors: TtrpcError keeps its code, other errors become UNKNOWN with their message', async () => {
    const peer = await connect();
    peer.sendRequest(1, { service: 'test.Raw', method: 'Fail', payload: Buffer.from('ttrpc') });
    peer.sendRequest(3, { service: 'test.Raw', method: 'Fail', payload: Buffer.from('plain') });
    peer.sendRequest(5, { service: 'test.Raw', method: 'Fail', payload: Buffer.from('other') });
    const answers = new Map<number, [number | undefined, string | undefined]>();
    for (let i = 0; i < 3; i++) {
      const { streamId, response } = await peer.nextResponse();
      answers.set(streamId, [response.status?.code, response.status?.message]);
      assert.equal(response.payload.length, 0);
    }
    assert.deepEqual(answers.get(1), [Code.FAILED_PRECONDITION, 'not now']);
    assert.deepEqual(answers.get(3), [Code.UNKNOWN, 'disk on fire']);
    assert.deepEqual(answers.get(5), [Code.UNKNOWN, 'a string']);
  });

  test('metadata reaches the handler, keys lower-cased, repeated keys grouped', async () => {
    const peer = await connect();
    peer.sendRequest(1, {
      service: 'test.Raw',
      method: 'Meta',
      metadata: [
        { key: 'Agent-Ctl-Cfg', value: 'auto-values' },
        { key: 'x', value: '1' },
        { key: 'X', value: '2' },
      ],
    });
    const { response } = await peer.nextResponse();
    assert.deepEqual(JSON.parse(Buffer.from(response.payload).toString()), [
      ['agent-ctl-cfg', ['auto-values']],
      ['x', ['1', '2']],
    ]);
  });

  test('deadline: a slow handler is answered DEADLINE_EXCEEDED "timeout" and its signal aborted', async () => {
    const peer = await connect();
    peer.sendRequest(1, {
      service: 'test.Raw',
      method: 'Wait',
      payload: Buffer.from('deadline'),
      timeoutNano: 50_000_000n,
    });
    const { streamId, response } = await peer.nextResponse();
    assert.equal(streamId, 1);
    assert.equal(response.status?.code, Code.DEADLINE_EXCEEDED);
    assert.equal(response.status?.message, 'timeout');
    const call = waiting.get('deadline')!;
    assert.ok(call.ctx.deadline !== undefined);
    assert.ok((await call.aborted) instanceof DeadlineExceededError);
    // The handler's late result is not sent: the next frame answers the next request.
    peer.sendRequest(3, { service: 'test.Raw', method: 'Echo', payload: Buffer.from('next') });
    assert.equal((await peer.nextResponse()).streamId, 3);
  });

  test('a negative timeout (deadline already passed) is answered DEADLINE_EXCEEDED without running the handler', async () => {
    const peer = await connect();
    peer.sendRequest(1, { service: 'test.Raw', method: 'Wait', payload: Buffer.from('negative'), timeoutNano: -1n });
    const { response } = await peer.nextResponse();
    assert.equal(response.status?.code, Code.DEADLINE_EXCEEDED);
    assert.equal(waiting.has('negative'), false);
  });

  test('closing a connection aborts its handlers; other connections keep working', async () => {
    const peer = await connect();
    const other = await connect();
    started.set('closing', deferred());
    peer.sendRequest(1, { service: 'test.Raw', method: 'Wait', payload: Buffer.from('closing') });
    await started.get('closing')!.promise;
    peer.close();
    const reason = await waiting.get('closing')!.aborted;
    assert.ok(reason instanceof ConnectionClosedError);
    other.sendRequest(1, { service: 'test.Raw', method: 'Echo', payload: Buffer.from('alive') });
    const { response } = await other.nextResponse();
    assert.equal(Buffer.from(response.payload).toString(), 'alive');
  });

  test('requests on one connection run concurrently and are answered as they finish', async () => {
    const peer = await connect();
    started.set('first', deferred());
    peer.sendRequest(1, { service: 'test.Raw', method: 'Wait', payload: Buffer.from('first'), timeoutNano: 5_000_000_000n });
    await started.get('first')!.promise;
    peer.sendRequest(3, { service: 'test.Raw', method: 'Echo', payload: Buffer.from('second') });
    // The second call is answered while the first still waits.
    const { streamId } = await peer.nextResponse();
    assert.equal(streamId, 3);
    assert.equal(waiting.get('first')!.ctx.signal.aborted, false);
  });
});

describe('Server lifecycle', () => {
  test('close() aborts calls in flight, waits for their handlers, and refuses new connections', async () => {
    const { dir, cleanup } = await tempDir();
    const path = join(dir, 's.sock');
    const server = new Server();
    const entered = deferred();
    let handlerReturned = false;
    server.registerRaw('t.S', 'Hang', async (_p, ctx) => {
      entered.resolve();
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      await new Promise((resolve) => setTimeout(resolve, 20));
      handlerReturned = true;
      return new Uint8Array(0);
    });
    await server.listen(`unix://${path}`);
    const peer = await RawPeer.connect(path);
    try {
      peer.sendRequest(1, { service: 't.S', method: 'Hang' });
      await entered.promise;
      await server.close();
      assert.equal(handlerReturned, true);
      await peer.closed;
      await assert.rejects(RawPeer.connect(path), { code: 'ENOENT' });
    } finally {
      peer.close();
      await cleanup();
    }
  });

  test('registerRaw refuses a duplicate; register refuses unknown and streaming methods', () => {
    const server = new Server();
    server.registerRaw('a.B', 'C', async (p) => p);
    assert.throws(() => server.registerRaw('a.B', 'C', async (p) => p), /already registered/);
    assert.throws(
      () => server.register(EchoService, { nope: async () => ({}) } as never),
      /test\.Echo has no method "nope"/,
    );
    assert.throws(() => server.register(EchoService, { watch: async () => ({}) }), /server_streaming/);
  });

  test('a custom status for unknown methods (containerd ttrpc v1.1 uses UNIMPLEMENTED)', async () => {
    const { dir, cleanup } = await tempDir();
    const path = join(dir, 's.sock');
    const server = new Server({ unknownMethodCode: Code.UNIMPLEMENTED });
    await server.listen(`unix://${path}`);
    const peer = await RawPeer.connect(path);
    try {
      peer.sendRequest(1, { service: 'x.Y', method: 'Z' });
      const { response } = await peer.nextResponse();
      assert.equal(response.status?.code, Code.UNIMPLEMENTED);
      assert.equal(response.status?.message, 'service x.Y');
    } finally {
      peer.close();
      await server.close();
      await cleanup();
    }
  });
});

describe('Server backpressure', () => {
  test('while a client does not read its responses, the server stops taking its requests', { timeout: 20_000 }, async () => {
    const { dir, cleanup } = await tempDir();
    const path = join(dir, 'bp.sock');
    const server = new Server();
    let calls = 0;
    const firstAnswered = deferred();
    server.registerRaw('t.S', 'Big', async () => {
      calls++;
      setImmediate(() => firstAnswered.resolve());
      return new Uint8Array(1 << 20);
    });
    await server.listen(`unix://${path}`);
    const peer = await RawPeer.connect(path);
    try {
      peer.socket.pause();
      peer.sendRequest(1, { service: 't.S', method: 'Big' });
      // The 1 MiB answer cannot all be written while the peer does not read.
      await firstAnswered.promise;
      for (let id = 3; id < 100; id += 2) peer.sendRequest(id, { service: 't.S', method: 'Big' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(calls, 1, 'requests were taken while responses could not be written');
      // Once the peer reads, everything is answered.
      peer.socket.resume();
      const ids = new Set<number>();
      for (let i = 0; i < 50; i++) {
        const { streamId, response } = await peer.nextResponse();
        assert.equal(response.payload.length, 1 << 20);
        ids.add(streamId);
      }
      assert.equal(ids.size, 50);
      assert.equal(calls, 50);
    } finally {
      peer.close();
      await server.close();
      await cleanup();
    }
  });
});
