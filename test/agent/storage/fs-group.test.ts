import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { create } from '@bufbuild/protobuf';

import { applyFsGroup, rootModeSatisfied } from '../../../src/agent/storage/fs-group.js';
import { FSGroupSchema } from '../../../src/protocols/gen/agent_pb.js';
import { FSGroupChangePolicy } from '../../../src/protocols/gen/types_pb.js';
import { createTempRoot, type TempRoot } from '../mount/helpers.js';

const group = (groupId: number, groupChangePolicy: FSGroupChangePolicy) => create(FSGroupSchema, { groupId, groupChangePolicy });

describe('applyFsGroup', { skip: process.getuid?.() === 0 ? undefined : 'needs root (chown)' }, () => {
  let tmp: TempRoot;
  let vol: string;
  before(async () => {
    tmp = await createTempRoot('kata-ts-fsgroup-');
    vol = join(tmp.root, 'vol');
    await mkdir(join(vol, 'sub'), { recursive: true });
    await writeFile(join(vol, 'sub/f'), 'x', { mode: 0o600 });
    await writeFile(join(tmp.outside, 'target'), 'not ours', { mode: 0o600 });
    await symlink(join(tmp.outside, 'target'), join(vol, 'link'));
    await chmod(vol, 0o700);
  });
  after(() => tmp.cleanup());

  test('Always, read-write: group rw on files, rwx+setgid on directories; symlink targets untouched', async () => {
    await applyFsGroup(vol, group(1500, FSGroupChangePolicy.Always), false);
    const f = await stat(join(vol, 'sub/f'));
    assert.equal(f.gid, 1500);
    assert.equal(f.mode & 0o7777, 0o660);
    for (const d of [vol, join(vol, 'sub')]) {
      const st = await stat(d);
      assert.equal(st.gid, 1500);
      assert.equal(st.mode & 0o2070, 0o2070, d);
    }
    const target = await stat(join(tmp.outside, 'target'));
    assert.equal(target.gid, 0);
    assert.equal(target.mode & 0o777, 0o600);
    assert.equal((await lstat(join(vol, 'link'))).gid, 0);
  });

  test('read-only adds only group read (and search on directories)', async () => {
    const ro = join(tmp.root, 'ro');
    await mkdir(ro, { mode: 0o700 });
    await writeFile(join(ro, 'f'), '', { mode: 0o600 });
    await applyFsGroup(ro, group(1600, FSGroupChangePolicy.Always), true);
    assert.equal((await stat(join(ro, 'f'))).mode & 0o777, 0o640);
    assert.equal((await stat(ro)).mode & 0o7777, 0o2750);
  });

  test('OnRootMismatch skips the walk when the root already matches, walks when it does not', async () => {
    // the root matches (from the first test), a file below does not: left alone
    await chown(join(vol, 'sub/f'), 0, 0);
    await applyFsGroup(vol, group(1500, FSGroupChangePolicy.OnRootMismatch), false);
    assert.equal((await stat(join(vol, 'sub/f'))).gid, 0);
    // another group: the root mismatches, so everything changes
    await applyFsGroup(vol, group(1700, FSGroupChangePolicy.OnRootMismatch), false);
    assert.equal((await stat(join(vol, 'sub/f'))).gid, 1700);
  });

  test('no fs_group: nothing happens', async () => {
    const before = await stat(vol);
    await applyFsGroup(vol, undefined, false);
    assert.equal((await stat(vol)).gid, before.gid);
  });

  test('rootModeSatisfied needs the permissions and setgid', () => {
    assert.equal(rootModeSatisfied(0o2770, false), true);
    assert.equal(rootModeSatisfied(0o770, false), false);
    assert.equal(rootModeSatisfied(0o2750, false), false);
    assert.equal(rootModeSatisfied(0o2750, true), true);
  });
});
