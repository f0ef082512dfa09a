import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { RequestSchema, ResponseSchema } from '../../../src/protocols/gen/ttrpc_pb.js';
import { Client } from '../../../src/ttrpc/client.js';
import { encodeFrame, FrameDecoder, MessageType } from '../../../src/ttrpc/frame.js';
import { Server } from '../../../src/ttrpc/server.js';
import { connect } from '../../../src/ttrpc/transport/connect.js';
import {
  connectHybridVsock,
  HybridVsockHandshakeError,
  listenHybridVsock,
} from '../../../src/ttrpc/transport/hybrid-vsock.js';
import { tempDir } from '../helpers.js';

/** A Unix socket server standing in for a VMM's hybrid vsock socket. */
async function fakeVmm(path: string, onConnection: (socket: net.Socket, firstLine: string) => void): Promise<net.Server> {
  const server = net.createServer((socket) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      socket.off('data', onData);
      onConnection(socket, buffered.slice(0, nl));
    };
    socket.on('data', onData);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}

test('both sides: a ttRPC server behind the VMM-side adapter, a client through the host-side handshake', async () => {
  const { dir, cleanup } = await tempDir();
  const path = join(dir, 'kata.hvsock');
  const server = new Server();
  server.registerRaw('t.S', 'Echo', async (p) => p);
  const listener = await server.listen(`hvsock://${path}:1024`);
  assert.equal(listener.address, `hvsock://${path}:1024`);
  const client = new Client(await connect(`hvsock://${path}:1024`, { timeoutMs: 2000 }));
  try {
    assert.deepEqual([...(await client.callRaw('t.S', 'Echo', Uint8Array.from([4, 2])))], [4, 2]);
  } finally {
    await client.close();
    await server.close();
    await cleanup();
  }
});

test('host side: the CONNECT line is sent, and bytes that came with the OK line are kept', async () => {
  const { dir, cleanup } = await tempDir();
  const path = join(dir, 'vmm.sock');
  let line = '';
  // The VMM answers like Firecracker (OK and a host-side port) and, in the same
  // write, the first bytes from the guest.
  const vmm = await fakeVmm(path, (socket, first) => {
    line = first;
    socket.write(Buffer.concat([Buffer.from('OK 1073741824\n'), Buffer.from('guest bytes')]));
  });
  const socket = await connectHybridVsock(path, 1024, 2000);
  try {
    assert.equal(line, 'CONNECT 1024');
    let received = '';
    for await (const chunk of socket) {
      received += (chunk as Buffer).toString();
      if (received.length >= 'guest bytes'.length) break;
    }
    assert.equal(received, 'guest bytes');
  } finally {
    socket.destroy();
    vmm.close();
    await cleanup();
  }
});

test('VMM side: a request coalesced with the CONNECT line reaches the ttRPC server', async () => {
  const { dir, cleanup } = await tempDir();
  const path = join(dir, 'vmm.sock');
  const server = new Server();
  server.registerRaw('t.S', 'Echo', async (p) => p);
  const listener = await listenHybridVsock(path, 2048, (stream) => void server.handleConnection(stream));
  const socket = net.createConnection(path);
  try {
    const request = toBinary(RequestSchema, create(RequestSchema, { service: 't.S', method: 'Echo', payload: Uint8Array.from([5]) }));
    socket.write(Buffer.concat([Buffer.from('CONNECT 2048\n'), encodeFrame(1, MessageType.Request, request)]));
    // Expect "OK 2048\n", then the response frame.
    const decoder = new FrameDecoder();
    let head = Buffer.alloc(0);
    let okLine: string | null = null;
    let response: Uint8Array | null = null;
    for await (const chunk of socket) {
      let bytes = chunk as Buffer;
      if (okLine === null) {
        head = Buffer.concat([head, bytes]);
        const nl = head.indexOf(0x0a);
        if (nl < 0) continue;
        okLine = head.subarray(0, nl).toString();
        bytes = head.subarray(nl + 1);
      }
      const [frame] = decoder.push(bytes);
      if (frame?.kind === 'frame') {
        assert.equal(frame.header.streamId, 1);
        response = fromBinary(ResponseSchema, frame.payload).payload;
        break;
      }
    }
    assert.equal(okLine, 'OK 2048');
    assert.deepEqual([...(response ?? [])], [5]);
  } finally {
    socket.destroy();
    await listener.close();
    await server.close();
    await cleanup();
  }
});

test('VMM side: a CONNECT for another port is closed; the host side reports it', async () => {
  const { dir, cleanup } = await tempDir();
  const path = join(dir, 'vmm.sock');
  let served = 0;
  const listener = await listenHybridVsock(path, 1024, () => served++);
  try {
    await assert.rejects(connectHybridVsock(path, 999, 2000), (err: unknown) => {
      assert.ok(err instanceof HybridVsockHandshakeError);
      assert.match(err.message, /closed during the handshake/);
      return true;
    });
    assert.equal(served, 0);
  } finally {
    await listener.close();
    await cleanup();
  }
});

test('host side: an answer that does not start with OK is a refusal', async () => {
  const { dir, cleanup } = await tempDir();
  const path = join(dir, 'vmm.sock');
  const vmm = await fakeVmm(path, (socket) => socket.write('FAILURE no listener\n'));
  try {
    await assert.rejects(connectHybridVsock(path, 1024, 2000), (err: unknown) => {
      assert.ok(err instanceof HybridVsockHandshakeError);
      assert.match(err.message, /port 1024 refused: "FAILURE no listener"/);
      return true;
    });
  } finally {
    vmm.close();
    await cleanup();
  }
});

test('host side: no answer within the timeout fails the handshake', async () => {
  const { dir, cleanup } = await tempDir();
  const path = join(dir, 'vmm.sock');
  const held: net.Socket[] = [];
  const vmm = await fakeVmm(path, (socket) => held.push(socket));
  try {
    await assert.rejects(connectHybridVsock(path, 1024, 100), /no answer to CONNECT 1024 within 100 ms/);
  } finally {
    for (const s of held) s.destroy();
    vmm.close();
    await cleanup();
  }
});
