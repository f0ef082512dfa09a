import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';

import { InvalidMountOptionError, PathEscapeError } from '../../../src/agent/storage/errors.js';
import { LocalHandler } from '../../../src/agent/storage/local-handler.js';
import { createTempRoot, mountTestsSkipReason, mountsBelow, storage, type TempRoot } from '../mount/helpers.js';
import { handlerContext } from './context.js';

describe('local handler (a directory, no mount)', { skip: process.getuid?.() === 0 ? undefined : 'needs root (chown)' }, () => {
  let tmp: TempRoot;
  before(async () => {
    tmp = await createTempRoot('kata-ts-local-');
  });
  after(() => tmp.cleanup());

  test('mode=0777 as the runtime sends it: the directory with exactly that mode', async () => {
    const ctx = handlerContext(tmp);
    const path = await new LocalHandler().mount(
      storage({ driver: 'local', source: 'local', fstype: 'local', mountPoint: `${tmp.root}/shared/containers/sid/rootfs/local/vol`, options: ['mode=0777'] }),
      ctx,
    );
    assert.equal(path, join(tmp.root, 'shared/containers/sid/rootfs/local/vol'));
    const st = await stat(path);
    assert.ok(st.isDirectory());
    assert.equal(st.mode & 0o7777, 0o777);
    assert.equal(ctx.createdPaths.at(-1), path);
    assert.equal(ctx.createdPaths[0], join(tmp.root, 'shared'));
    if (mountTestsSkipReason() === undefined) assert.deepEqual(await mountsBelow(tmp.root), []);
  });

  test('mode and fsgid: group set, setgid added to the mode', async () => {
    const path = await new LocalHandler().mount(storage({ driver: 'local', mountPoint: `${tmp.root}/g`, options: ['mode=0770', 'fsgid=2345'] }), handlerContext(tmp));
    const st = await stat(path);
    assert.equal(st.gid, 2345);
    assert.equal(st.mode & 0o7777, 0o2770);
  });

  test('fsgid without mode: only the group changes', async () => {
    const path = await new LocalHandler().mount(storage({ driver: 'local', mountPoint: `${tmp.root}/g2`, options: ['fsgid=77'] }), handlerContext(tmp));
    const st = await stat(path);
    assert.equal(st.gid, 77);
    assert.equal(st.mode & 0o2000, 0);
  });

  test('an existing directory is reused', async () => {
    await mkdir(join(tmp.root, 'exists'));
    const ctx = handlerContext(tmp);
    await new LocalHandler().mount(storage({ driver: 'local', mountPoint: `${tmp.root}/exists`, options: ['mode=0700'] }), ctx);
    assert.deepEqual(ctx.createdPaths, []);
    assert.equal((await stat(join(tmp.root, 'exists'))).mode & 0o7777, 0o700);
  });

  test('bad modes and escapes are refused, nothing created outside', async () => {
    await assert.rejects(
      new LocalHandler().mount(storage({ driver: 'local', mountPoint: `${tmp.root}/m`, options: ['mode=999'] }), handlerContext(tmp)),
      (e: unknown) => e instanceof InvalidMountOptionError && e.message === 'options: option "mode=999" must be an octal mode of at most 4 digits',
    );
    await symlink(tmp.outside, join(tmp.root, 'evil'));
    await assert.rejects(
      new LocalHandler().mount(storage({ driver: 'local', mountPoint: `${tmp.root}/evil/vol`, options: ['mode=0777'] }), handlerContext(tmp)),
      PathEscapeError,
    );
    await assert.rejects(stat(join(tmp.outside, 'vol')), { code: 'ENOENT' });
  });
});
