import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { create } from '@bufbuild/protobuf';

import { unmount } from '../../../src/agent/mount/mount.js';
import { BlockHandler } from '../../../src/agent/storage/block-handler.js';
import { InvalidStorageError, StorageError } from '../../../src/agent/storage/errors.js';
import { FSGroupSchema, type Storage } from '../../../src/protocols/gen/agent_pb.js';
import { FSGroupChangePolicy } from '../../../src/protocols/gen/types_pb.js';
import { createTempRoot, ext4LoopDevice, loopDeviceSkipReason, mountAt, mountsBelow, storage, type LoopDevice, type TempRoot } from '../mount/helpers.js';
import { handlerContext } from './context.js';

describe('block handler (ext4 on a real loop device)', { skip: loopDeviceSkipReason() }, () => {
  let tmp: TempRoot;
  let loop: LoopDevice;
  before(async () => {
    tmp = await createTempRoot('kata-ts-block-');
    loop = await ext4LoopDevice(tmp.outside, 'marker.txt', 'written by mkfs');
  });
  after(async () => {
    try {
      await tmp.cleanup(); // unmounts first
    } finally {
      loop?.detach();
    }
  });

  for (const driver of ['blk', 'mmioblk', 'nvdimm']) {
    test(`${driver}: an existing /dev node is mounted with its fstype; the marker file is there`, async () => {
      const path = await new BlockHandler().mount(
        storage({ driver, source: loop.device, fstype: 'ext4', mountPoint: `${tmp.root}/shared/containers/${driver}`, options: ['nodev'] }),
        handlerContext(tmp),
      );
      assert.equal(await readFile(join(path, 'marker.txt'), 'utf8'), 'written by mkfs');
      const m = await mountAt(path);
      assert.equal(m?.fstype, 'ext4');
      assert.equal(m?.source, loop.device);
      assert.ok(m?.mountOptions.includes('nodev'));
      unmount(path);
    });
  }

  test('read-only, as the runtime asks for shared block volumes', async () => {
    const path = await new BlockHandler().mount(
      storage({ driver: 'mmioblk', source: loop.device, fstype: 'ext4', mountPoint: `${tmp.root}/ro`, options: ['ro', 'noload'] }),
      handlerContext(tmp),
    );
    assert.ok((await mountAt(path))?.mountOptions.includes('ro'));
    assert.equal(await readFile(join(path, 'marker.txt'), 'utf8'), 'written by mkfs');
    unmount(path);
  });

  test('scsi "0:0" goes through the injected resolver', async () => {
    const asked: Storage[] = [];
    const path = await new BlockHandler().mount(
      storage({ driver: 'scsi', source: '0:0', fstype: 'ext4', mountPoint: `${tmp.root}/scsi` }),
      handlerContext(tmp, {
        resolveBlockDevice: async (s) => {
          asked.push(s);
          return loop.device;
        },
      }),
    );
    assert.deepEqual(asked.map((s) => [s.driver, s.source]), [['scsi', '0:0']]);
    assert.equal(await readFile(join(path, 'marker.txt'), 'utf8'), 'written by mkfs');
    unmount(path);
  });

  test('fs_group Always: every file gets the group and group permissions, directories setgid', async () => {
    const path = await new BlockHandler().mount(
      storage({
        driver: 'blk',
        source: loop.device,
        fstype: 'ext4',
        mountPoint: `${tmp.root}/fsgroup`,
        fsGroup: create(FSGroupSchema, { groupId: 3456, groupChangePolicy: FSGroupChangePolicy.Always }),
      }),
      handlerContext(tmp),
    );
    const file = await stat(join(path, 'marker.txt'));
    assert.equal(file.gid, 3456);
    assert.equal(file.mode & 0o060, 0o060);
    const root = await stat(path);
    assert.equal(root.gid, 3456);
    assert.equal(root.mode & 0o2070, 0o2070);
    unmount(path);
  });

  test('fstype "bind" with the bind option: the device node itself appears at a file mount point', async () => {
    const path = await new BlockHandler().mount(
      storage({ driver: 'blk', source: loop.device, fstype: 'bind', options: ['bind'], mountPoint: `${tmp.root}/sandbox/storage/dev` }),
      handlerContext(tmp),
    );
    const st = await stat(path);
    assert.ok(st.isBlockDevice());
    assert.equal(st.rdev, (await stat(loop.device)).rdev);
    unmount(path);
  });

  test('refused, nothing mounted: not a block device, missing node, no resolver, resolver failures', async () => {
    const ctx = handlerContext(tmp);
    const mp = `${tmp.root}/refused`;
    await assert.rejects(
      new BlockHandler().mount(storage({ driver: 'blk', source: '/dev/null', fstype: 'ext4', mountPoint: mp }), ctx),
      (e: unknown) => e instanceof InvalidStorageError && e.message === 'source: "/dev/null" is not a block device',
    );
    await assert.rejects(
      new BlockHandler().mount(storage({ driver: 'blk', source: '/dev/kata-ts-no-such-disk', fstype: 'ext4', mountPoint: mp }), ctx),
      (e: unknown) => e instanceof InvalidStorageError && e.code === 'NOT_FOUND',
    );
    await assert.rejects(
      new BlockHandler().mount(storage({ driver: 'blk', source: '02/03', fstype: 'ext4', mountPoint: mp }), ctx),
      /^InvalidStorageError: source: "02\/03" is not a device node below \/dev and no device resolver is configured/,
    );
    await assert.rejects(
      new BlockHandler().mount(
        storage({ driver: 'blk', source: '02/03', fstype: 'ext4', mountPoint: mp }),
        handlerContext(tmp, { resolveBlockDevice: async () => join(tmp.outside, 'disk-marker.txt.img') }),
      ),
      /is not a block device/,
    );
    await assert.rejects(
      new BlockHandler().mount(
        storage({ driver: 'scsi', source: '0:1', fstype: 'ext4', mountPoint: mp }),
        handlerContext(tmp, { resolveBlockDevice: async () => Promise.reject(new Error('timed out waiting for the device')) }),
      ),
      (e: unknown) => e instanceof StorageError && e.code === 'NOT_FOUND' && /^source: no scsi device for "0:1": timed out/.test(e.message),
    );
    await assert.rejects(new BlockHandler().mount(storage({ driver: 'blk', source: loop.device, mountPoint: mp }), ctx), /^InvalidStorageError: fstype: /);
    assert.deepEqual(await mountsBelow(tmp.root), []);
  });
});
