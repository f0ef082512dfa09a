// AF_VSOCK through the native addon. On this kind of machine the kernel has
// vsock (socket, bind and listen work) but no loopback transport, so a connect
// cannot succeed without a VM: listening is tested for real, connecting only
// for its error path. The descriptor-level stream it uses is tested in
// fd-duplex.test.ts.

import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { test, type TestContext } from 'node:test';
import { Server } from '../../../src/ttrpc/server.js';
import { connect } from '../../../src/ttrpc/transport/connect.js';
import { listenVsock, VsockUnavailableError } from '../../../src/ttrpc/transport/vsock.js';

/** A port unlikely to be in use. */
function randomPort(): number {
  return 20_000 + Math.floor(Math.random() * 40_000);
}

/** Skips the test (with the reason) where vsock cannot be used at all. */
async function vsockOrSkip(t: TestContext): Promise<boolean> {
  try {
    const probe = await listenVsock(0xffff_ffff, randomPort(), () => {});
    await probe.close();
    return true;
  } catch (err) {
    if (err instanceof VsockUnavailableError) {
      t.skip(err.message);
      return false;
    }
    throw err;
  }
}

test('vsock: a server listens on any CID, and the port is free again after close', async (t) => {
  if (!(await vsockOrSkip(t))) return;
  const port = randomPort();
  const server = new Server();
  const listener = await server.listen(`vsock://-1:${port}`);
  assert.equal(listener.address, `vsock://-1:${port}`);
  // While it listens the port is taken.
  await assert.rejects(listenVsock(0xffff_ffff, port, () => {}), (err: NodeJS.ErrnoException) => {
    assert.equal(err.code, 'EADDRINUSE');
    assert.equal(err.errno, -constants.errno.EADDRINUSE, 'negative, as in Node');
    assert.equal(err.syscall, 'bind');
    assert.match(err.message, new RegExp(`listen vsock://-1:${port}: bind EADDRINUSE \\(Address already in use\\)`));
    return true;
  });
  await server.close();
  const again = await listenVsock(0xffff_ffff, port, () => {});
  await again.close();
});

test('vsock: connecting where nobody can answer fails with a system error naming the address', async (t) => {
  if (!(await vsockOrSkip(t))) return;
  const port = randomPort();
  // CID 1 is the local context; without a loopback transport the connect
  // times out (or is refused), within our bound.
  await assert.rejects(connect(`vsock://1:${port}`, { timeoutMs: 300, retryDelayMs: 50 }), (err: NodeJS.ErrnoException) => {
    assert.match(err.message, new RegExp(`^cannot connect to vsock://1:${port} within 300 ms: connect vsock://1:${port}: `));
    assert.ok(typeof err.code === 'string' && err.code.startsWith('E'), `code ${err.code}`);
    return true;
  });
});
