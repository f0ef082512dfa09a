import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, open, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { isMountPoint, nativeMountSyscalls, type MountSyscalls } from '../../../src/agent/mount/mount.js';
import {
  PathEscapeError,
  SANDBOX_OWNER,
  StorageError,
  StorageManager,
  StorageReleaseError,
  UnknownStorageDriverError,
} from '../../../src/agent/storage/index.js';
import { createTempRoot, mountAt, mountTestsSkipReason, mountsBelow, recordingSyscalls, storage, type TempRoot } from '../mount/helpers.js';

const tmpfs = (mountPoint: string, extra: Partial<Parameters<typeof storage>[0]> = {}) =>
  storage({ driver: 'ephemeral', source: 'tmpfs', fstype: 'tmpfs', mountPoint, options: ['size=1m'], ...extra });

describe('StorageManager (real mounts)', { skip: mountTestsSkipReason() }, () => {
  let tmp: TempRoot;
  let manager: StorageManager;
  before(async () => {
    tmp = await createTempRoot('kata-ts-manager-');
    manager = new StorageManager({ rootDir: tmp.root });
  });
  after(async () => {
    await manager.releaseAll().catch(() => undefined);
    await tmp.cleanup();
    assert.deepEqual(await mountsBelow(tmp.dir), []);
  });

  test('unknown driver: INVALID_ARGUMENT naming storages[i].driver, and nothing mounted', async () => {
    await assert.rejects(manager.add([tmpfs(`${tmp.root}/u/ok`), storage({ driver: 'x', mountPoint: `${tmp.root}/u/x` })], 'c0'), (e: unknown) => {
      assert.ok(e instanceof UnknownStorageDriverError);
      assert.equal(e.message, 'storages[1].driver: unknown storage driver "x"');
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.equal(e.grpcCode, 3);
      return true;
    });
    assert.deepEqual(await mountsBelow(tmp.root), []);
    assert.deepEqual(manager.list(), []);
    await assert.rejects(stat(join(tmp.root, 'u')), { code: 'ENOENT' });
  });

  test('two containers share a mount point: the first release keeps it, the second unmounts and removes the directories', async () => {
    const mp = `${tmp.root}/sandbox/storage/vol`;
    const [p1] = await manager.add([tmpfs(mp)], 'c1');
    await writeFile(join(p1!, 'data'), 'shared');
    const [p2] = await manager.add([tmpfs(mp)], 'c2');
    assert.equal(p2, p1);
    assert.equal((await mountsBelow(p1!)).length, 1, 'mounted once');
    assert.deepEqual(manager.list().map((s) => [s.path, s.owners]), [[p1, ['c1', 'c2']]]);

    await manager.release('c1');
    assert.equal(await isMountPoint(p1!), true);
    assert.deepEqual(manager.pathsOf('c2'), [p1]);

    await manager.release('c2');
    assert.equal(await isMountPoint(p1!), false);
    assert.deepEqual(manager.list(), []);
    await assert.rejects(stat(join(tmp.root, 'sandbox')), { code: 'ENOENT' }, 'the directories it created are gone');
  });

  test('all or nothing: the 3rd of 4 fails, the mounts and directories of the two before are undone', async () => {
    await assert.rejects(
      manager.add(
        [
          tmpfs(`${tmp.root}/r/one`),
          storage({ driver: 'local', mountPoint: `${tmp.root}/r/two/local`, options: ['mode=0777'] }),
          tmpfs(`${tmp.root}/r/three`, { options: ['size=banana'] }), // the kernel refuses this
          tmpfs(`${tmp.root}/r/four`),
        ],
        'c3',
      ),
      (e: unknown) => {
        assert.ok(e instanceof StorageError, String(e));
        assert.equal(e.code, 'INTERNAL');
        assert.match(e.message, /^storages\[2\]: mount "tmpfs" on ".*\/r\/three" \(tmpfs\) failed: EINVAL/);
        return true;
      },
    );
    assert.deepEqual(manager.list(), []);
    assert.deepEqual(await mountsBelow(tmp.root), []);
    await assert.rejects(stat(join(tmp.root, 'r')), { code: 'ENOENT' }, 'the directories it created are gone');
  });

  test('all or nothing: a reference taken on an existing storage is dropped again, the storage stays', async () => {
    const [kept] = await manager.add([tmpfs(`${tmp.root}/pre/existing`)], 'c0');
    const before = manager.list();
    await assert.rejects(
      manager.add([tmpfs(`${tmp.root}/pre/existing`, { shared: true }), tmpfs(`${tmp.root}/pre/bad`, { options: ['size=banana'] })], 'c3'),
      /^StorageMountError: storages\[1\]: /,
    );
    assert.deepEqual(manager.list(), before);
    assert.deepEqual((await mountsBelow(tmp.root)).map((m) => m.mountPoint), [kept]);
    await manager.release('c0');
    assert.deepEqual(await mountsBelow(tmp.root), []);
  });

  test('escapes are refused and nothing stays mounted or created: ".." and symlinks out of the root', async () => {
    await symlink(tmp.outside, join(tmp.root, 'evil-link'));
    const attempts = [
      [tmpfs(`${tmp.root}/fine`), tmpfs(`${tmp.root}/../outside/shm`)],
      [tmpfs(`${tmp.root}/fine`), tmpfs(`${tmp.root}/evil-link/shm`)],
      [tmpfs(`${tmp.root}/fine`), storage({ driver: 'local', mountPoint: `${tmp.root}/evil-link/dir` })],
      [tmpfs(`${tmp.root}/fine`), storage({ driver: 'bind', source: `${tmp.root}/evil-link`, mountPoint: `${tmp.root}/b` })],
    ];
    for (const storages of attempts) {
      await assert.rejects(manager.add(storages, 'c4'), (e: unknown) => {
        assert.ok(e instanceof PathEscapeError, String(e));
        assert.match(e.message, /^storages\[1\]\.(mount_point|source): /);
        return true;
      });
    }
    assert.deepEqual(await mountsBelow(tmp.dir), []);
    assert.deepEqual(manager.list(), []);
    await assert.rejects(stat(join(tmp.outside, 'shm')), { code: 'ENOENT' });
    // mount points are checked for the whole request first: not even the first storage was mounted
    const rec = recordingSyscalls();
    await assert.rejects(new StorageManager({ rootDir: tmp.root, syscalls: rec.sys }).add(attempts[1]!, 'c4'), PathEscapeError);
    assert.deepEqual(rec.mounts, []);
    await assert.rejects(stat(join(tmp.outside, 'dir')), { code: 'ENOENT' });
  });

  test('shared=true outlives its last container until releaseAll', async () => {
    const [p] = await manager.add([tmpfs(`${tmp.root}/shared-vol`, { shared: true })], 'c5');
    await manager.release('c5');
    assert.equal(await isMountPoint(p!), true);
    assert.deepEqual(manager.list()[0]?.owners, []);
    await manager.releaseAll();
    assert.equal(await isMountPoint(p!), false);
  });

  test('a busy storage is detached lazily on release', async () => {
    const [p] = await manager.add([tmpfs(`${tmp.root}/busy`)], 'c6');
    const fh = await open(join(p!, 'held-open'), 'w');
    try {
      await manager.release('c6');
      assert.equal(await isMountPoint(p!), false);
    } finally {
      await fh.close();
    }
  });

  test('sandbox storages and nested mounts: releaseAll unmounts newest first', async () => {
    await mkdir(join(tmp.root, 'bind-src'));
    const paths = await manager.add(
      [tmpfs(`${tmp.root}/sandbox/shm`), storage({ driver: 'bind', source: `${tmp.root}/bind-src`, mountPoint: `${tmp.root}/sandbox/shm/inner` })],
      SANDBOX_OWNER,
    );
    assert.ok((await mountAt(paths[1]!))?.root.endsWith('/bind-src'), 'the inner mount is the bind');
    assert.equal((await mountsBelow(join(tmp.root, 'sandbox'))).length, 2);
    await manager.releaseAll();
    assert.deepEqual(await mountsBelow(tmp.root), []);
  });

  test('concurrent adds of one mount point mount it once', async () => {
    const mp = `${tmp.root}/race`;
    const [a, b] = await Promise.all([manager.add([tmpfs(mp)], 'c7'), manager.add([tmpfs(mp)], 'c8')]);
    assert.deepEqual(a, b);
    assert.equal((await mountsBelow(a![0]!)).length, 1);
    await manager.release('c7');
    await manager.release('c8');
    assert.deepEqual(await mountsBelow(tmp.root), []);
  });

  test('unmount failures are reported together, after the other storages are released', async () => {
    const failing: MountSyscalls = {
      mount: (...a) => nativeMountSyscalls().mount(...a),
      umount2: (target, flags) => {
        if (target.endsWith('/stuck')) throw Object.assign(new Error('umount2 failed: Operation not permitted (EPERM)'), { code: 'EPERM' });
        nativeMountSyscalls().umount2(target, flags);
      },
    };
    const m = new StorageManager({ rootDir: tmp.root, syscalls: failing });
    await m.add([tmpfs(`${tmp.root}/stuck`), tmpfs(`${tmp.root}/free`)], 'c9');
    await assert.rejects(m.release('c9'), (e: unknown) => {
      assert.ok(e instanceof StorageReleaseError);
      assert.equal(e.failures.length, 1);
      assert.match(e.message, /could not release 1 storage\(s\): ".*\/stuck": unmount ".*\/stuck" failed: EPERM/);
      return true;
    });
    assert.equal(await isMountPoint(join(tmp.root, 'free')), false);
    assert.equal(await isMountPoint(join(tmp.root, 'stuck')), true); // left for cleanup
  });

  test('an empty owner is refused', async () => {
    await assert.rejects(manager.add([tmpfs(`${tmp.root}/o`)], ''), /container_id: must not be empty/);
  });
});
