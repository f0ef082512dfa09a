// The shared directory with real bind mounts (needs root, as the runtime does).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMountInfo } from '../../../src/agent/mount/mountinfo.js';
import { SharedDir, SharedDirError } from '../../../src/runtime/sandbox/shared-dir.js';

const notRoot = process.getuid?.() !== 0 ? 'needs root (bind mounts)' : undefined;

describe('SharedDir', { skip: notRoot }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-shared-'));
    await mkdir(join(dir, 'rootfs', 'etc'), { recursive: true });
    await writeFile(join(dir, 'rootfs', 'etc', 'hostname'), 'box\n');
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'x'), 'data\n');
    await writeFile(join(dir, 'single-file'), 'one file\n');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const mountsUnder = async (path: string) => (await readMountInfo()).filter((m) => m.mountPoint === path || m.mountPoint.startsWith(`${path}/`));

  test('rootfs and bind sources are bind-mounted in, visible there, and gone after destroy with the sources intact', async () => {
    const hostDir = join(dir, 'shared');
    const shared = await SharedDir.create(hostDir);
    const self = (await mountsUnder(hostDir)).find((m) => m.mountPoint === hostDir);
    assert.ok(self, 'the directory is a mount point');
    assert.match(self.optionalFields.join(' '), /shared:\d+/, 'with shared propagation');

    await shared.shareRootfs('c1', join(dir, 'rootfs'));
    assert.equal(await readFile(join(hostDir, 'c1', 'rootfs', 'etc', 'hostname'), 'utf8'), 'box\n');
    const dataGuest = await shared.shareMountSource('c1', 3, join(dir, 'data'));
    const fileGuest = await shared.shareMountSource('c1', 4, join(dir, 'single-file'));
    assert.equal(dataGuest, '/run/kata-containers/shared/containers/c1-mount-3/data');
    assert.equal(fileGuest, '/run/kata-containers/shared/containers/c1-mount-4/single-file');
    assert.equal(await readFile(join(hostDir, 'c1-mount-4', 'single-file'), 'utf8'), 'one file\n');
    assert.equal((await mountsUnder(hostDir)).length, 4);

    await shared.unshareContainer('c1');
    assert.deepEqual(await readdir(hostDir), []);
    await shared.destroy();
    assert.deepEqual(await mountsUnder(hostDir), []);
    assert.deepEqual((await readdir(dir)).sort(), ['data', 'rootfs', 'single-file']);
    assert.equal(await readFile(join(dir, 'rootfs', 'etc', 'hostname'), 'utf8'), 'box\n');
    assert.equal(await readFile(join(dir, 'data', 'x'), 'utf8'), 'data\n');
  });

  test('destroy unshares containers still there; bad sources are named', async () => {
    const hostDir = join(dir, 'shared2');
    const shared = await SharedDir.create(hostDir);
    try {
      await assert.rejects(shared.shareRootfs('c2', join(dir, 'absent')), (e: unknown) => e instanceof SharedDirError && /root\.path: .*absent is not a directory/.test(e.message));
      await assert.rejects(shared.shareMountSource('c2', 7, join(dir, 'absent')), /mounts\[7\]\.source: .*absent does not exist/);
      await shared.shareRootfs('c2', join(dir, 'rootfs'));
    } finally {
      await shared.destroy();
    }
    assert.deepEqual(await mountsUnder(hostDir), []);
    assert.equal(await readFile(join(dir, 'rootfs', 'etc', 'hostname'), 'utf8'), 'box\n');
    await assert.rejects(readdir(hostDir), { code: 'ENOENT' });
  });
});
