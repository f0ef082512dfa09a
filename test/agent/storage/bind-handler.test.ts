import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { unmount } from '../../../src/agent/mount/mount.js';
import { BindHandler } from '../../../src/agent/storage/bind-handler.js';
import { PathEscapeError } from '../../../src/agent/storage/errors.js';
import { createTempRoot, mountAt, mountTestsSkipReason, mountsBelow, storage, type TempRoot } from '../mount/helpers.js';
import { handlerContext } from './context.js';

describe('bind handler (real bind mounts)', { skip: mountTestsSkipReason() }, () => {
  let tmp: TempRoot;
  before(async () => {
    tmp = await createTempRoot('kata-ts-bind-');
    await mkdir(join(tmp.root, 'src/dir'), { recursive: true });
    await writeFile(join(tmp.root, 'src/dir/hello'), 'hello');
    await writeFile(join(tmp.root, 'src/file'), 'a file');
    await writeFile(join(tmp.outside, 'secret'), 'secret');
    await symlink(tmp.outside, join(tmp.root, 'src/out'));
  });
  after(() => tmp.cleanup());

  test('a directory, read-write', async () => {
    const path = await new BindHandler().mount(storage({ driver: 'bind', source: `${tmp.root}/src/dir`, mountPoint: `${tmp.root}/dst/dir` }), handlerContext(tmp));
    assert.equal(await readFile(join(path, 'hello'), 'utf8'), 'hello');
    const m = await mountAt(path);
    assert.ok(m);
    assert.ok(m.mountOptions.includes('rw'));
    await writeFile(join(path, 'written'), 'w');
    assert.equal(await readFile(join(tmp.root, 'src/dir/written'), 'utf8'), 'w');
    unmount(path);
  });

  test('a file onto a file created for it; read-only', async () => {
    const ctx = handlerContext(tmp);
    const path = await new BindHandler().mount(storage({ driver: 'bind', source: `${tmp.root}/src/file`, mountPoint: `${tmp.root}/dst/file`, options: ['ro'] }), ctx);
    assert.ok((await stat(path)).isFile());
    assert.equal(ctx.createdPaths.at(-1), path);
    assert.equal(await readFile(path, 'utf8'), 'a file');
    assert.ok((await mountAt(path))?.mountOptions.includes('ro'));
    await assert.rejects(writeFile(path, 'x'), { code: 'EROFS' });
    unmount(path);
  });

  test('sources outside the root, directly or through a symlink, are refused; nothing mounted', async () => {
    for (const source of [`${tmp.outside}`, `${tmp.root}/src/out`, `${tmp.root}/../outside`]) {
      await assert.rejects(
        new BindHandler().mount(storage({ driver: 'bind', source, mountPoint: `${tmp.root}/dst/evil` }), handlerContext(tmp)),
        (e: unknown) => e instanceof PathEscapeError && e.message.startsWith('source: '),
        source,
      );
    }
    assert.deepEqual(await mountsBelow(tmp.root), []);
  });
});
