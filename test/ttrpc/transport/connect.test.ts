import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../../../src/ttrpc/client.js';
import { Server } from '../../../src/ttrpc/server.js';
import { InvalidAddressError } from '../../../src/ttrpc/transport/address.js';
import { connect } from '../../../src/ttrpc/transport/connect.js';
import { tempDir } from '../helpers.js';

test('connect keeps retrying until the server appears', { timeout: 10_000 }, async () => {
  const { dir, cleanup } = await tempDir();
  const uri = `unix://${join(dir, 'late.sock')}`;
  const server = new Server();
  server.registerRaw('t.S', 'Echo', async (p) => p);
  const connecting = connect(uri, { timeoutMs: 5000, retryDelayMs: 20 });
  // The socket does not exist yet; start listening a little later.
  await new Promise((resolve) => setTimeout(resolve, 100));
  await server.listen(uri);
  const client = new Client(await connecting);
  try {
    assert.deepEqual([...(await client.callRaw('t.S', 'Echo', Uint8Array.from([1])))], [1]);
  } finally {
    await client.close();
    await server.close();
    await cleanup();
  }
});

test('connect gives up after timeoutMs with the last error and its code', async () => {
  const { dir, cleanup } = await tempDir();
  const uri = `unix://${join(dir, 'never.sock')}`;
  try {
    await assert.rejects(connect(uri, { timeoutMs: 150, retryDelayMs: 20 }), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'ENOENT');
      assert.match(err.message, /^cannot connect to unix:\/\/.*never\.sock within 150 ms: /);
      return true;
    });
  } finally {
    await cleanup();
  }
});

test('bad addresses and serial addresses fail at once', async () => {
  await assert.rejects(connect('tcp://x:1', { timeoutMs: 60_000 }), InvalidAddressError);
  await assert.rejects(connect('serial:///dev/vport0p1', { timeoutMs: 60_000 }), /can only be listened on/);
});
