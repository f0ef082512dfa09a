import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, open, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  MNT,
  MountSyscallError,
  PinnedPathMismatchError,
  isMountPoint,
  mountFilesystem,
  nativeMountSyscalls,
  unmount,
  withPinnedPath,
  type MountSyscalls,
} from '../../../src/agent/mount/mount.js';
import { MS, parseMountOptions } from '../../../src/agent/mount/options.js';
import { createTempRoot, mountAt, mountTestsSkipReason, mountsBelow, type TempRoot } from './helpers.js';

const skip = mountTestsSkipReason();

describe('native mount(2)/umount2(2)', { skip }, () => {
  let tmp: TempRoot;
  before(async () => {
    tmp = await createTempRoot('kata-ts-mount-');
  });
  after(async () => {
    await tmp.cleanup();
    assert.deepEqual(await mountsBelow(tmp.dir), []);
  });

  test('errors carry the errno name, negative errno and the syscall', () => {
    const sys = nativeMountSyscalls();
    assert.throws(
      () => sys.umount2(join(tmp.dir, 'missing'), 0),
      (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT' && (e as NodeJS.ErrnoException).errno === -2 && (e as NodeJS.ErrnoException).syscall === 'umount2',
    );
    assert.throws(
      () => sys.mount('none', join(tmp.dir, 'missing'), 'tmpfs', 0, null),
      (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT' && (e as NodeJS.ErrnoException).syscall === 'mount',
    );
    // not a mount point
    assert.throws(() => sys.umount2(tmp.root, 0), (e: unknown) => (e as NodeJS.ErrnoException).code === 'EINVAL');
  });

  test('arguments are type-checked and NUL bytes refused (C would cut the string short)', () => {
    const sys = nativeMountSyscalls() as unknown as Record<string, (...a: unknown[]) => void>;
    assert.throws(() => sys.mount!('none', `${tmp.root}\0/x`, 'tmpfs', 0, null), (e: unknown) => e instanceof TypeError && /target must not contain NUL/.test(e.message));
    assert.throws(() => sys.mount!('none', tmp.root, 'tmpfs', 0, 'size=1m\0,uid=0'), (e: unknown) => e instanceof TypeError && /data must not contain NUL/.test(e.message));
    assert.throws(() => sys.mount!('none', tmp.root, 'tmpfs', -1, null), TypeError);
    assert.throws(() => sys.umount2!(42, 0), TypeError);
  });

  test('tmpfs with flags and data; isMountPoint before and after; unmount', async () => {
    const target = join(tmp.dir, 'tmpfs');
    await mkdir(target);
    assert.equal(await isMountPoint(target), false);
    mountFilesystem({ source: 'kata-test', target, fstype: 'tmpfs', options: parseMountOptions(['nosuid', 'nodev', 'noexec', 'size=1m', 'mode=0750']), pinTarget: true });
    const m = await mountAt(target);
    assert.ok(m);
    assert.equal(m.fstype, 'tmpfs');
    assert.equal(m.source, 'kata-test');
    for (const o of ['nosuid', 'nodev', 'noexec']) assert.ok(m.mountOptions.includes(o), o);
    assert.ok(m.superOptions.includes('size=1024k'), m.superOptions.join(','));
    assert.ok(m.superOptions.includes('mode=750'), m.superOptions.join(','));
    assert.equal(await isMountPoint(target), true);
    assert.equal(await isMountPoint(join(tmp.dir, 'nothing-here')), false);
    assert.equal(unmount(target), 'unmounted');
    assert.equal(await isMountPoint(target), false);
  });

  test('read-only bind: the bind, then a remount makes it ro; shared applied by its own call', async () => {
    const src = join(tmp.dir, 'bind-src');
    const dst = join(tmp.dir, 'bind-dst');
    await mkdir(src);
    await mkdir(dst);
    await writeFile(join(src, 'f'), 'x');
    mountFilesystem({ source: src, target: dst, fstype: '', options: parseMountOptions(['bind', 'ro', 'nosuid', 'shared']), pinTarget: true, pinSource: true });
    const m = await mountAt(dst);
    assert.ok(m);
    assert.ok(m.mountOptions.includes('ro'), m.mountOptions.join(','));
    assert.ok(m.mountOptions.includes('nosuid'), m.mountOptions.join(','));
    assert.ok(m.optionalFields.some((f) => f.startsWith('shared:')), `a peer group: ${m.optionalFields.join(' ')}`);
    await assert.rejects(writeFile(join(dst, 'f'), 'y'), (e: NodeJS.ErrnoException) => e.code === 'EROFS');
    unmount(dst);
  });

  test('the calls mount(8) would make, in order', () => {
    const calls: Array<[string | null, number]> = [];
    const sys: MountSyscalls = {
      mount: (source, _t, _f, flags) => void calls.push([source, flags]),
      umount2: () => assert.fail('no unmount expected'),
    };
    mountFilesystem({ source: '/src', target: '/dst', fstype: 'bind', options: parseMountOptions(['rbind', 'ro', 'nodev', 'rslave']) }, sys);
    assert.deepEqual(calls, [
      ['/src', MS.BIND | MS.REC | MS.RDONLY | MS.NODEV],
      [null, MS.SLAVE | MS.REC],
      [null, MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NODEV],
    ]);
  });

  test('a failing later step undoes the mount the first step made', () => {
    const unmounts: Array<[string, number]> = [];
    let n = 0;
    const sys: MountSyscalls = {
      mount: () => {
        if (++n === 2) throw Object.assign(new Error('mount failed: Invalid argument (EINVAL)'), { code: 'EINVAL' });
      },
      umount2: (t, f) => void unmounts.push([t, f]),
    };
    assert.throws(
      () => mountFilesystem({ source: 'x', target: '/dst', fstype: 'tmpfs', options: parseMountOptions(['shared']) }, sys),
      (e: unknown) => e instanceof MountSyscallError && e.code === 'EINVAL' && /propagation/.test(e.message),
    );
    assert.deepEqual(unmounts, [['/dst', MNT.DETACH | MNT.UMOUNT_NOFOLLOW]]);
  });

  test('a busy mount is detached lazily, or refused when asked not to', async () => {
    const target = join(tmp.dir, 'busy');
    await mkdir(target);
    mountFilesystem({ source: 'busy', target, fstype: 'tmpfs', options: parseMountOptions([]) });
    const fh = await open(join(target, 'open-file'), 'w');
    try {
      assert.throws(() => unmount(target, { detachIfBusy: false }), (e: unknown) => e instanceof MountSyscallError && e.code === 'EBUSY');
      assert.equal(unmount(target), 'detached');
      assert.equal(await isMountPoint(target), false);
    } finally {
      await fh.close();
    }
  });

  test('withPinnedPath refuses a symlink and a non-canonical path', async () => {
    const link = join(tmp.dir, 'link');
    await symlink(tmp.outside, link);
    assert.throws(() => withPinnedPath(link, () => 'never'), PinnedPathMismatchError);
    assert.throws(() => withPinnedPath(`${tmp.root}/../root`, () => 'never'), PinnedPathMismatchError);
    assert.equal(withPinnedPath(tmp.root, (p) => p.startsWith('/proc/self/fd/')), true);
  });
});
