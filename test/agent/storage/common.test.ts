import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { create } from '@bufbuild/protobuf';

import { isMountPoint, mountFilesystem, unmount } from '../../../src/agent/mount/mount.js';
import { parseMountOptions } from '../../../src/agent/mount/options.js';
import {
  checkOptionValue,
  mountStorage,
  optionWords,
  parseGidOption,
  parseModeOption,
} from '../../../src/agent/storage/common.js';
import { InvalidMountOptionError, StorageMountError } from '../../../src/agent/storage/errors.js';
import { FSGroupSchema } from '../../../src/protocols/gen/agent_pb.js';
import { createTempRoot, mountTestsSkipReason, recordingSyscalls, storage, type TempRoot } from '../mount/helpers.js';
import { handlerContext } from './context.js';

describe('option checks', () => {
  test('entries with NUL or newline are refused (they would not reach the kernel intact)', () => {
    assert.throws(() => optionWords(['size=1m\0,uid=0']), (e: unknown) => e instanceof InvalidMountOptionError && e.message.startsWith('options: option "size=1m\\u0000,uid=0" contains a NUL'));
    assert.throws(() => optionWords(['mode=0755\nsize=1']), InvalidMountOptionError);
    assert.deepEqual(optionWords(['a,b', 'c']), ['a', 'b', 'c']);
  });

  test('values the agent writes into options may not carry a comma (it would start a new option)', () => {
    assert.throws(() => checkOptionValue('/run/x,upperdir=/', 'lowerdir', 'options'), /option "lowerdir=\/run\/x,upperdir=\/" must not contain ","/);
    assert.throws(() => checkOptionValue('/a:/b', 'upperdir', 'options', ':\\'), /must not contain ":"/);
    assert.doesNotThrow(() => checkOptionValue('/run/kata-containers/c1/upper', 'upperdir', 'options', ':\\'));
  });

  test('mode= is octal, fsgid= decimal', () => {
    assert.equal(parseModeOption('0777', 'options'), 0o777);
    assert.equal(parseModeOption('1777', 'options'), 0o1777);
    for (const bad of ['', '8', '0o777', '12345', '-1', '7 7']) assert.throws(() => parseModeOption(bad, 'options'), InvalidMountOptionError, bad);
    assert.equal(parseGidOption('1000', 'options'), 1000);
    for (const bad of ['', 'x', '-1', '1e3', '4294967295', '99999999999']) assert.throws(() => parseGidOption(bad, 'options'), InvalidMountOptionError, bad);
  });
});

describe('mountStorage', { skip: mountTestsSkipReason() }, () => {
  let tmp: TempRoot;
  before(async () => {
    tmp = await createTempRoot('kata-ts-common-');
  });
  after(() => tmp.cleanup());

  test('mount data longer than a page is refused before mounting', async () => {
    const rec = recordingSyscalls();
    await assert.rejects(
      mountStorage(storage({ driver: '9p', source: 'tag', fstype: '9p', mountPoint: `${tmp.root}/long`, options: [`x=${'a'.repeat(5000)}`] }), handlerContext(tmp, { syscalls: rec.sys })),
      /options: option .* makes the mount data longer than 4095 bytes/,
    );
    assert.deepEqual(rec.mounts, []);
  });

  test('kataShared already mounted at the mount point (before the agent started) is kept', async () => {
    const target = join(tmp.root, 'shared/containers');
    await mkdir(target, { recursive: true });
    mountFilesystem({ source: 'kataShared', target, fstype: 'tmpfs', options: parseMountOptions([]) });
    try {
      const rec = recordingSyscalls();
      const path = await mountStorage(
        storage({ driver: 'virtio-fs', source: 'kataShared', fstype: 'virtiofs', mountPoint: `${target}/` }),
        handlerContext(tmp, { syscalls: rec.sys }),
      );
      assert.equal(path, target);
      assert.deepEqual(rec.mounts, []);
    } finally {
      unmount(target);
    }
  });

  test('if fs_group cannot be applied, the mount is undone', async () => {
    // a read-only tmpfs: changing the group of its root fails with EROFS
    const s = storage({
      driver: 'ephemeral',
      source: 'tmpfs',
      fstype: 'tmpfs',
      mountPoint: `${tmp.root}/fsg`,
      options: ['ro', 'size=1m'],
      fsGroup: create(FSGroupSchema, { groupId: 5 }),
    });
    await assert.rejects(mountStorage(s, handlerContext(tmp)), /^StorageMountError: fs_group: cannot apply group 5 to ".*\/fsg": .*EROFS/);
    assert.equal(await isMountPoint(join(tmp.root, 'fsg')), false);
  });

  test('a failed mount(2) names the mount and the errno', async () => {
    const failing = handlerContext(tmp, {
      syscalls: {
        mount: () => {
          throw Object.assign(new Error('mount failed: No such device (ENODEV)'), { code: 'ENODEV' });
        },
        umount2: () => assert.fail('nothing to unmount'),
      },
    });
    await assert.rejects(
      mountStorage(storage({ driver: '9p', source: 'tag', fstype: '9p', mountPoint: `${tmp.root}/nodev` }), failing),
      (e: unknown) => e instanceof StorageMountError && e.code === 'INTERNAL' && /^mount "tag" on ".*\/nodev" \(9p\) failed: ENODEV \(No such device\)$/.test(e.message),
    );
  });
});
