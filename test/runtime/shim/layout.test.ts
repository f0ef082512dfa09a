// Where the shim's socket and directory are: the socket where containerd's
// own shims put theirs, everything short enough for unix socket paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_SHIM_RUN_ROOT,
  readAddressFile,
  shimPaths,
  shimRunRoot,
  shimSocketAddress,
  socketPath,
  SOCKET_PATH_LIMIT,
  writeAddressFile,
} from '../../../src/runtime/shim/layout.js';
import { shimSocketPath } from '../../helpers/containerd.js';

test('the socket is named as containerd\'s runc shim names its own', () => {
  // The test harness's formula was found by watching containerd 1.6's runc shim.
  for (const [address, ns, id] of [
    ['/run/containerd/containerd.sock', 'k8s.io', 'a'.repeat(64)],
    ['/tmp/x/containerd.sock', 'default', 'c1'],
  ] as const) {
    assert.equal(shimSocketAddress(address, ns, id), `unix://${shimSocketPath(address, ns, id)}`);
  }
  // The parts are joined as a cleaned path (Go's filepath.Join).
  assert.equal(shimSocketAddress('/run/c.sock/', 'ns', 'id'), shimSocketAddress('/run/c.sock', 'ns', 'id'));
  assert.match(shimSocketAddress('/run/c.sock', 'ns', 'id'), /^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/);
});

test('socketPath takes only absolute unix:// paths within the length limit', () => {
  assert.equal(socketPath('unix:///run/containerd/s/abc'), '/run/containerd/s/abc');
  assert.throws(() => socketPath('/run/x'), /not a unix:\/\/ socket path/);
  assert.throws(() => socketPath('unix://rel/x'), /must be absolute/);
  assert.throws(() => socketPath(`unix:///${'x'.repeat(SOCKET_PATH_LIMIT)}`), /longer than 106 bytes/);
});

test('the shim directory is short and the same for the same address', () => {
  const address = shimSocketAddress('/run/containerd/containerd.sock', 'k8s.io', 'b'.repeat(64));
  const p = shimPaths(address, DEFAULT_SHIM_RUN_ROOT);
  assert.deepEqual(shimPaths(address, DEFAULT_SHIM_RUN_ROOT), p);
  assert.match(p.dir, /^\/run\/kata-ts\/shim\/[0-9a-f]{16}$/);
  assert.equal(p.vmDir, `${p.dir}/vm`);
  // QEMU's sockets live in vmDir: with the longest of their names there is room to spare.
  assert.ok(`${p.vmDir}/virtiofsd.sock`.length < 80);
  assert.notEqual(shimPaths(shimSocketAddress('/run/containerd/containerd.sock', 'k8s.io', 'other'), DEFAULT_SHIM_RUN_ROOT).dir, p.dir);
});

test('the run root comes from KATA_TS_SHIM_RUN_ROOT, which must be absolute', () => {
  assert.equal(shimRunRoot({}), DEFAULT_SHIM_RUN_ROOT);
  assert.equal(shimRunRoot({ KATA_TS_SHIM_RUN_ROOT: '/tmp/r' }), '/tmp/r');
  assert.throws(() => shimRunRoot({ KATA_TS_SHIM_RUN_ROOT: 'rel' }), /must be an absolute path/);
});

test('the address file is written whole and read back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kata-ts-shim-address-'));
  try {
    assert.equal(readAddressFile(dir), undefined);
    writeAddressFile(dir, 'unix:///run/containerd/s/abc');
    assert.equal(await readFile(join(dir, 'address'), 'utf8'), 'unix:///run/containerd/s/abc', 'no newline, as containerd writes it');
    assert.equal(readAddressFile(dir), 'unix:///run/containerd/s/abc');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
