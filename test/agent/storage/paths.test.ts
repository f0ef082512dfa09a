import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { InvalidStorageError, PathEscapeError } from '../../../src/agent/storage/errors.js';
import { ensurePathInRoot, existingPathInRoot, resolveInRoot } from '../../../src/agent/storage/paths.js';
import { createTempRoot, type TempRoot } from '../mount/helpers.js';

describe('resolveInRoot / ensurePathInRoot', () => {
  let tmp: TempRoot;
  before(async () => {
    tmp = await createTempRoot('kata-ts-paths-');
    const r = tmp.root;
    await mkdir(join(r, 'a/b'), { recursive: true });
    await writeFile(join(r, 'a/file'), '');
    await symlink('b', join(r, 'a/rel-inside')); // a/rel-inside -> a/b
    await symlink(join(r, 'a'), join(r, 'abs-inside')); // absolute, inside
    await symlink(tmp.outside, join(r, 'abs-outside'));
    await symlink('../../outside', join(r, 'a/rel-outside'));
    await symlink('/', join(r, 'to-slash'));
    await symlink('loop2', join(r, 'loop1'));
    await symlink('loop1', join(r, 'loop2'));
  });
  after(() => tmp.cleanup());

  test('plain paths, "." and ".." that stay inside resolve lexically', async () => {
    assert.deepEqual(await resolveInRoot(tmp.root, join(tmp.root, 'a/b'), 'mount_point'), { path: join(tmp.root, 'a/b'), missing: 0 });
    assert.deepEqual(await resolveInRoot(tmp.root, `${tmp.root}/a/./b/../b/`, 'mount_point'), { path: join(tmp.root, 'a/b'), missing: 0 });
    assert.deepEqual(await resolveInRoot(tmp.root, `${tmp.root}/a/new/x`, 'mount_point'), { path: join(tmp.root, 'a/new/x'), missing: 2 });
    // a missing component popped by ".." does not hide a symlink after it
    await assert.rejects(resolveInRoot(tmp.root, `${tmp.root}/gone/../abs-outside/x`, 'mount_point'), PathEscapeError);
  });

  test('symlinks that stay inside are followed to their canonical path', async () => {
    assert.equal((await resolveInRoot(tmp.root, `${tmp.root}/a/rel-inside`, 'f')).path, join(tmp.root, 'a/b'));
    assert.equal((await resolveInRoot(tmp.root, `${tmp.root}/abs-inside/b/c`, 'f')).path, join(tmp.root, 'a/b/c'));
  });

  const escapes: Array<[string, (t: TempRoot) => string, RegExp]> = [
    ['".." above the root', (t) => `${t.root}/../outside`, /leaves .* through "\.\."/],
    ['".." after a component', (t) => `${t.root}/a/../../outside/x`, /leaves .* through "\.\."/],
    ['an absolute symlink to outside', (t) => `${t.root}/abs-outside/x`, /through the symlink .*abs-outside ->/],
    ['a relative symlink climbing out', (t) => `${t.root}/a/rel-outside`, /through "\.\."/],
    ['a symlink to /', (t) => `${t.root}/to-slash/etc`, /through the symlink/],
    ['a path not below the root', (t) => `${t.outside}/x`, /is not below/],
    ['the root itself', (t) => t.root, /the root .* itself/],
    ['a symlink loop', (t) => `${t.root}/loop1`, /too many levels of symbolic links/],
  ];
  for (const [what, path, message] of escapes) {
    test(`refused: ${what}, naming the field`, async () => {
      await assert.rejects(resolveInRoot(tmp.root, path(tmp), 'mount_point'), (e: unknown) => {
        assert.ok(e instanceof PathEscapeError, String(e));
        assert.equal(e.code, 'INVALID_ARGUMENT');
        assert.match(e.message, /^mount_point: /);
        assert.match(e.message, message);
        return true;
      });
    });
  }

  test('relative and empty paths, and files in the middle, are refused', async () => {
    await assert.rejects(resolveInRoot(tmp.root, 'a/b', 'source'), (e: unknown) => e instanceof InvalidStorageError && /^source: "a\/b" must be an absolute path/.test(e.message));
    await assert.rejects(resolveInRoot(tmp.root, '', 'source'), /source: must not be empty/);
    await assert.rejects(resolveInRoot(tmp.root, `${tmp.root}/a/file/x`, 'source'), /is not a directory/);
  });

  test('ensurePathInRoot creates what is missing and records it, parents first', async () => {
    const created: string[] = [];
    const p = await ensurePathInRoot({ rootDir: tmp.root, createdPaths: created }, `${tmp.root}/abs-inside/n1/n2`, 'mount_point');
    assert.equal(p, join(tmp.root, 'a/n1/n2'));
    assert.deepEqual(created, [join(tmp.root, 'a/n1'), join(tmp.root, 'a/n1/n2')]);
    assert.ok((await stat(p)).isDirectory());

    const file = await ensurePathInRoot({ rootDir: tmp.root, createdPaths: created }, `${tmp.root}/a/n1/target-file`, 'mount_point', 'file');
    assert.ok((await stat(file)).isFile());
    assert.equal(created.at(-1), file);
  });

  test('ensurePathInRoot refuses an existing file where a directory is wanted, and escapes before creating anything', async () => {
    await assert.rejects(ensurePathInRoot({ rootDir: tmp.root, createdPaths: [] }, `${tmp.root}/a/file`, 'mount_point'), /exists and is not a directory/);
    const created: string[] = [];
    await assert.rejects(ensurePathInRoot({ rootDir: tmp.root, createdPaths: created }, `${tmp.root}/abs-outside/made-by-attack`, 'mount_point'), PathEscapeError);
    assert.deepEqual(created, []);
    await assert.rejects(stat(join(tmp.outside, 'made-by-attack')), { code: 'ENOENT' });
  });

  test('existingPathInRoot wants the path to exist', async () => {
    assert.equal(await existingPathInRoot(tmp.root, `${tmp.root}/a/rel-inside`, 'source'), join(tmp.root, 'a/b'));
    await assert.rejects(existingPathInRoot(tmp.root, `${tmp.root}/nope`, 'source'), (e: unknown) => e instanceof InvalidStorageError && e.code === 'NOT_FOUND');
  });
});
