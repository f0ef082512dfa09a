// 9p and virtio-fs need a VM offering the device: here the handlers run
// against recording fakes of mount(2) to check the call they make; the VM
// tests mount the real shared directory.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { silentLogger } from '../../../src/common/logger.js';
import { MS } from '../../../src/agent/mount/options.js';
import { InvalidStorageError, PathEscapeError } from '../../../src/agent/storage/errors.js';
import { Virtio9pHandler, VirtioFsHandler } from '../../../src/agent/storage/fs-handler.js';
import type { StorageContext } from '../../../src/agent/storage/handler.js';
import { createTempRoot, recordingSyscalls, storage, type TempRoot } from '../mount/helpers.js';

describe('9p and virtio-fs handlers (mount calls recorded)', () => {
  let tmp: TempRoot;
  before(async () => {
    tmp = await createTempRoot('kata-ts-fs-');
  });
  after(() => tmp.cleanup());

  function context(rec: ReturnType<typeof recordingSyscalls>): StorageContext {
    return { rootDir: tmp.root, sysfsRoot: '/sys', devRoot: '/dev', logger: silentLogger, syscalls: rec.sys, containerId: undefined, createdPaths: [] };
  }

  test('9p: the CreateSandbox shared directory as the runtime sends it', async () => {
    const rec = recordingSyscalls();
    const ctx = context(rec);
    const path = await new Virtio9pHandler().mount(
      storage({
        driver: '9p',
        source: 'kataShared',
        fstype: '9p',
        mountPoint: `${tmp.root}/shared/containers/`,
        options: ['trans=virtio,version=9p2000.L,cache=mmap', 'nodev', 'msize=8192'],
      }),
      ctx,
    );
    assert.equal(path, join(tmp.root, 'shared/containers'));
    assert.deepEqual(rec.mounts, [
      { source: 'kataShared', target: path, fstype: '9p', flags: MS.NODEV, data: 'trans=virtio,version=9p2000.L,cache=mmap,msize=8192' },
    ]);
    // it created the mount point (parents first) for the manager to remove later
    assert.deepEqual(ctx.createdPaths, [join(tmp.root, 'shared'), path]);
  });

  test('virtio-fs: fstype virtiofs (also when left empty) and dax as data', async () => {
    const rec = recordingSyscalls();
    await new VirtioFsHandler().mount(
      storage({ driver: 'virtio-fs', source: 'kataShared', fstype: 'virtiofs', mountPoint: `${tmp.root}/vfs`, options: ['dax'] }),
      context(rec),
    );
    await new VirtioFsHandler().mount(storage({ driver: 'virtio-fs', source: 'kataShared', mountPoint: `${tmp.root}/vfs2` }), context(rec));
    assert.deepEqual(rec.mounts, [
      { source: 'kataShared', target: join(tmp.root, 'vfs'), fstype: 'virtiofs', flags: 0, data: 'dax' },
      { source: 'kataShared', target: join(tmp.root, 'vfs2'), fstype: 'virtiofs', flags: 0, data: null },
    ]);
  });

  test('virtio-fs with "bind": the source is a path and must stay below the root', async () => {
    const rec = recordingSyscalls();
    await mkdir(join(tmp.root, 'shared-base/cid/rootfs'), { recursive: true });
    await new VirtioFsHandler().mount(
      storage({ driver: 'virtio-fs', source: `${tmp.root}/shared-base/cid/rootfs`, fstype: 'bind', options: ['bind'], mountPoint: `${tmp.root}/cid/lower` }),
      context(rec),
    );
    assert.deepEqual(rec.mounts, [
      { source: join(tmp.root, 'shared-base/cid/rootfs'), target: join(tmp.root, 'cid/lower'), fstype: 'bind', flags: MS.BIND, data: null },
    ]);
    await assert.rejects(
      new VirtioFsHandler().mount(storage({ driver: 'virtio-fs', source: '/etc', fstype: 'bind', options: ['bind'], mountPoint: `${tmp.root}/x` }), context(rec)),
      (e: unknown) => e instanceof PathEscapeError && /^source: "\/etc" is not below/.test(e.message),
    );
    assert.equal(rec.mounts.length, 1);
  });

  test('an empty source or a mount point outside the root is refused before any mount', async () => {
    const rec = recordingSyscalls();
    await assert.rejects(new Virtio9pHandler().mount(storage({ driver: '9p', mountPoint: `${tmp.root}/p` }), context(rec)), (e: unknown) => e instanceof InvalidStorageError && /^source: must not be empty/.test(e.message));
    await assert.rejects(new Virtio9pHandler().mount(storage({ driver: '9p', source: 'kataShared', mountPoint: '/etc' }), context(rec)), (e: unknown) => e instanceof PathEscapeError && /^mount_point: /.test(e.message));
    assert.deepEqual(rec.mounts, []);
  });
});
