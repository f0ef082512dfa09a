// FdDuplex reads and writes raw descriptors (it carries vsock connections,
// which cannot be made on this machine without a VM). FIFOs provide real
// descriptors to test it with.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../../../src/ttrpc/client.js';
import { Server } from '../../../src/ttrpc/server.js';
import { FdDuplex } from '../../../src/ttrpc/transport/fd-duplex.js';
import { joinStreams, tempDir } from '../helpers.js';

const { O_RDONLY, O_WRONLY, O_RDWR, O_NONBLOCK } = fs.constants;

async function fifoPair() {
  const { dir, cleanup } = await tempDir();
  const inbound = join(dir, 'in');
  const outbound = join(dir, 'out');
  execFileSync('mkfifo', [inbound, outbound]);
  return { inbound, outbound, cleanup };
}

test('FdDuplex: bytes both ways, end of input, descriptors released after destroy', { timeout: 10_000 }, async () => {
  const { inbound, outbound, cleanup } = await fifoPair();
  const peerReader = new net.Socket({ fd: fs.openSync(outbound, O_RDONLY | O_NONBLOCK), readable: true, writable: false });
  const duplex = new FdDuplex({
    readFd: fs.openSync(inbound, O_RDONLY | O_NONBLOCK),
    writeFd: fs.openSync(outbound, O_WRONLY | O_NONBLOCK),
    retryDelayMs: 2,
  });
  const peerWriter = new net.Socket({ fd: fs.openSync(inbound, O_WRONLY | O_NONBLOCK), readable: false, writable: true });
  try {
    const received = new Promise<string>((resolve) => duplex.once('data', (c: Buffer) => resolve(c.toString())));
    peerWriter.write('ping');
    assert.equal(await received, 'ping');
    const answered = new Promise<string>((resolve) => peerReader.once('data', (c: Buffer) => resolve(c.toString())));
    duplex.write('pong');
    assert.equal(await answered, 'pong');
    // The peer closes its side: read() returns 0, the stream ends.
    const ended = new Promise<void>((resolve) => duplex.once('end', resolve));
    peerWriter.end();
    await ended;
    duplex.destroy();
    await duplex.released;
    // Both descriptors are closed: the peer's reader sees end of input.
    await new Promise<void>((resolve) => {
      peerReader.once('end', resolve);
      peerReader.resume();
    });
  } finally {
    peerReader.destroy();
    peerWriter.destroy();
    duplex.destroy();
    await cleanup();
  }
});

test('FdDuplex carries a ttRPC connection', { timeout: 10_000 }, async () => {
  const { inbound, outbound, cleanup } = await fifoPair();
  const server = new Server();
  server.registerRaw('t.S', 'Echo', async (p) => p);
  const peerReader = new net.Socket({ fd: fs.openSync(outbound, O_RDONLY | O_NONBLOCK), readable: true, writable: false });
  const duplex = new FdDuplex({
    readFd: fs.openSync(inbound, O_RDONLY | O_NONBLOCK),
    writeFd: fs.openSync(outbound, O_WRONLY | O_NONBLOCK),
    retryDelayMs: 2,
  });
  void server.handleConnection(duplex);
  const peerWriter = new net.Socket({ fd: fs.openSync(inbound, O_WRONLY | O_NONBLOCK), readable: false, writable: true });
  const client = new Client(joinStreams(peerReader, peerWriter));
  try {
    const payloads = Array.from({ length: 10 }, (_, i) => Buffer.alloc(100 * 1024, i + 1));
    const replies = await Promise.all(payloads.map((p) => client.callRaw('t.S', 'Echo', p)));
    replies.forEach((r, i) => assert.ok(Buffer.from(r).equals(payloads[i]!)));
  } finally {
    await client.close();
    await server.close();
    await duplex.released;
    await cleanup();
  }
});

test('FdDuplex: destroy during a blocked read calls interrupt and closes the descriptor only after the read returns', { timeout: 10_000 }, async () => {
  const { inbound, cleanup } = await fifoPair();
  // O_RDWR opens a FIFO without waiting for a peer, and leaves it blocking.
  const fd = fs.openSync(inbound, O_RDWR);
  let interrupted = 0;
  const duplex = new FdDuplex({ readFd: fd, interrupt: () => interrupted++ });
  const feeder = fs.openSync(inbound, O_WRONLY | O_NONBLOCK);
  try {
    duplex.resume(); // starts a read, which blocks in the pool
    await new Promise((resolve) => setTimeout(resolve, 20));
    duplex.destroy();
    assert.equal(interrupted, 1);
    let released = false;
    void duplex.released.then(() => (released = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(released, false, 'descriptor closed while a read was still using it');
    // Data makes the blocked read return; only then is the descriptor closed.
    fs.writeSync(feeder, 'x');
    await duplex.released;
    assert.throws(() => fs.fstatSync(fd), { code: 'EBADF' });
  } finally {
    fs.closeSync(feeder);
    await cleanup();
  }
});
