// The serial transport's logical connections.
//
// A virtio-serial port is a character device that only exists inside a VM, and
// no other character device behaves like one (a pty has a line discipline and
// reports a closed peer with EIO). So two FIFOs stand in for it here, one per
// direction: opened non-blocking, a FIFO's read() returns 0 while no writer
// has it open, exactly like a port with no host attached, and EAGAIN while a
// writer is attached but quiet. The code under test (SerialChannel) is the same
// that serves the real device; only the opening of the descriptors differs.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../../../src/ttrpc/client.js';
import { FrameDecoder } from '../../../src/ttrpc/frame.js';
import { Server } from '../../../src/ttrpc/server.js';
import { Code, ConnectionClosedError } from '../../../src/ttrpc/status.js';
import { listen } from '../../../src/ttrpc/transport/listen.js';
import { SerialChannel } from '../../../src/ttrpc/transport/serial.js';
import { deferred, joinStreams, tempDir } from '../helpers.js';

const { O_RDONLY, O_WRONLY, O_NONBLOCK } = fs.constants;

test('serial: a host session, a disconnect that aborts its calls, and a fresh session after it', { timeout: 20_000 }, async () => {
  const { dir, cleanup } = await tempDir();
  const toGuest = join(dir, 'host-to-guest');
  const toHost = join(dir, 'guest-to-host');
  execFileSync('mkfifo', [toGuest, toHost]);

  const server = new Server();
  server.registerRaw('t.S', 'Echo', async (p) => p);
  const entered = deferred();
  const aborted = deferred<unknown>();
  const release = deferred();
  const returned = deferred();
  server.registerRaw('t.S', 'Hold', async (_p, ctx) => {
    entered.resolve();
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    aborted.resolve(ctx.signal.reason);
    await release.promise;
    // A result for a connection that no longer exists: must never be written.
    setImmediate(() => returned.resolve());
    return Buffer.from('stale');
  });

  // The host's reading end must exist before the guest can open its writing end.
  const hostReader1 = fs.openSync(toHost, O_RDONLY | O_NONBLOCK);
  const channel = new SerialChannel(
    fs.openSync(toGuest, O_RDONLY | O_NONBLOCK),
    fs.openSync(toHost, O_WRONLY | O_NONBLOCK),
    (stream) => void server.handleConnection(stream),
    { pollIntervalMs: 5 },
  );
  const openHost = (readerFd: number, onFrame?: () => void) => {
    const reader = new net.Socket({ fd: readerFd, readable: true, writable: false });
    const writer = new net.Socket({ fd: fs.openSync(toGuest, O_WRONLY | O_NONBLOCK), readable: false, writable: true });
    if (onFrame) {
      const decoder = new FrameDecoder();
      reader.on('data', (chunk: Buffer) => decoder.push(chunk).forEach(onFrame));
    }
    return joinStreams(reader, writer);
  };

  const clients: Client[] = [];
  try {
    // Session 1: a call is in flight when the host goes away.
    const client1 = new Client(openHost(hostReader1));
    clients.push(client1);
    const held = client1.callRaw('t.S', 'Hold', new Uint8Array(0)); // stream id 1
    await entered.promise;
    assert.equal(channel.connections, 1);
    await client1.close();
    await assert.rejects(held, { code: Code.UNAVAILABLE });
    // The guest read 0 (no writer): the logical connection ended and the call was aborted.
    assert.ok((await aborted.promise) instanceof ConnectionClosedError);

    // Session 2: a new host; its first call reuses stream id 1.
    let framesToHost2 = 0;
    const client2 = new Client(
      openHost(fs.openSync(toHost, O_RDONLY | O_NONBLOCK), () => framesToHost2++),
    );
    clients.push(client2);
    assert.equal(Buffer.from(await client2.callRaw('t.S', 'Echo', Buffer.from('fresh'))).toString(), 'fresh');
    assert.equal(channel.connections, 2);
    // Let the session-1 handler finish now; its answer must be dropped.
    release.resolve();
    await returned.promise;
    assert.equal(Buffer.from(await client2.callRaw('t.S', 'Echo', Buffer.from('again'))).toString(), 'again');
    // Writes are ordered, so a stale answer would have arrived before this one.
    assert.equal(framesToHost2, 2);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    channel.close();
    await channel.stopped;
    await server.close();
    await cleanup();
  }
});

test('serial: bytes split across reads and many calls in one session', { timeout: 20_000 }, async () => {
  const { dir, cleanup } = await tempDir();
  const toGuest = join(dir, 'host-to-guest');
  const toHost = join(dir, 'guest-to-host');
  execFileSync('mkfifo', [toGuest, toHost]);
  const server = new Server();
  server.registerRaw('t.S', 'Echo', async (p) => p);
  const hostReader = fs.openSync(toHost, O_RDONLY | O_NONBLOCK);
  const channel = new SerialChannel(
    fs.openSync(toGuest, O_RDONLY | O_NONBLOCK),
    fs.openSync(toHost, O_WRONLY | O_NONBLOCK),
    (stream) => void server.handleConnection(stream),
    { pollIntervalMs: 5 },
  );
  const client = new Client(
    joinStreams(
      new net.Socket({ fd: hostReader, readable: true, writable: false }),
      new net.Socket({ fd: fs.openSync(toGuest, O_WRONLY | O_NONBLOCK), readable: false, writable: true }),
    ),
  );
  try {
    // 200 KiB payloads exceed a pipe's 64 KiB buffer: both directions fill up
    // and are read in several pieces.
    const payloads = Array.from({ length: 20 }, (_, i) => Buffer.alloc(200 * 1024, i));
    const replies = await Promise.all(payloads.map((p) => client.callRaw('t.S', 'Echo', p)));
    replies.forEach((r, i) => assert.ok(Buffer.from(r).equals(payloads[i]!), `reply ${i}`));
    assert.equal(channel.connections, 1);
  } finally {
    await client.close();
    channel.close();
    await channel.stopped;
    await server.close();
    await cleanup();
  }
});

test('serial: listening on a device that does not exist fails with ENOENT', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await assert.rejects(listen(`serial://${join(dir, 'vport9p9')}`, () => {}), { code: 'ENOENT' });
  } finally {
    await cleanup();
  }
});
