// CopyFile below a temporary root: chunked copies, modes and owners,
// directories and symlinks, and every way out of the root refused.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';

import { copyFile, pathBelowRoot, S_IFDIR, S_IFLNK, S_IFREG, tempNameFor, type CopyFileRequestFields } from '../../../src/agent/guest/copy-file.js';
import { GuestError } from '../../../src/agent/guest/errors.js';

const MiB = 1024 * 1024;

let work: string;
let root: string;
let outside: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'kata-copyfile-'));
  outside = join(work, 'outside');
});
beforeEach(async () => {
  // A fresh root (not yet existing: copyFile creates it) and an empty outside.
  root = join(work, `root-${randomBytes(4).toString('hex')}`);
  await rm(outside, { recursive: true, force: true });
  await mkdir(outside);
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

function request(path: string, fields: Partial<CopyFileRequestFields> = {}): CopyFileRequestFields {
  const data = fields.data ?? new Uint8Array(0);
  return {
    path,
    fileSize: BigInt(data.length),
    fileMode: S_IFREG | 0o644,
    dirMode: 0o755,
    uid: -1,
    gid: -1,
    offset: 0n,
    data,
    ...fields,
  };
}

function invalid(field: string, message?: RegExp) {
  return (err: unknown) =>
    err instanceof GuestError && err.grpcCode === 3 && err.message.startsWith(`copy_file.${field}: `) && (message === undefined || message.test(err.message));
}

/**
 * Every entry below `dir`, recursively, as relative paths, without following
 * symlinks (Node 20's recursive readdir follows them). A missing `dir` is empty.
 */
async function tree(dir: string, prefix = ''): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: string[] = [];
  for (const entry of entries) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    out.push(rel);
    if (entry.isDirectory()) out.push(...(await tree(join(dir, entry.name), rel)));
  }
  return out.sort();
}

describe('CopyFile', () => {
  test('a 3 MiB file in 1 MiB chunks arrives byte-exact, only after the last chunk', async () => {
    const content = randomBytes(3 * MiB);
    const path = join(root, 'shared', 'ctr', 'big.bin');
    for (let i = 0; i < 3; i++) {
      const out = await copyFile(
        request(path, { fileSize: BigInt(content.length), offset: BigInt(i * MiB), data: content.subarray(i * MiB, (i + 1) * MiB), dirMode: 0o750 }),
        { root },
      );
      assert.deepEqual(out, { kind: 'file', target: path, complete: i === 2 });
      if (i < 2) await assert.rejects(stat(path), { code: 'ENOENT' });
    }
    assert.ok((await readFile(path)).equals(content));
    // Parents created with dir_mode; no temporary file left.
    assert.equal((await stat(join(root, 'shared'))).mode & 0o7777, 0o750);
    assert.equal((await stat(join(root, 'shared', 'ctr'))).mode & 0o7777, 0o750);
    assert.deepEqual(await readdir(join(root, 'shared', 'ctr')), ['big.bin']);
  });

  test('a chunk sent again (offset within what was received) is rewritten in place', async () => {
    const content = randomBytes(300);
    const path = join(root, 'f');
    const chunk = (offset: number, end: number) => request(path, { fileSize: 300n, offset: BigInt(offset), data: content.subarray(offset, end) });
    await copyFile(chunk(0, 100), { root });
    await copyFile(chunk(100, 200), { root });
    await copyFile(chunk(100, 200), { root });
    assert.equal((await copyFile(chunk(200, 300), { root })).kind, 'file');
    assert.ok((await readFile(path)).equals(content));
  });

  test('file_mode (with setuid) and uid/gid are applied; -1 keeps the owner; umask does not interfere', async () => {
    const a = join(root, 'owned');
    await copyFile(request(a, { data: Buffer.from('x'), fileMode: S_IFREG | 0o4750, uid: 1234, gid: 5678 }), { root });
    const st = await stat(a);
    assert.ok(st.isFile());
    assert.equal(st.mode & 0o7777, 0o4750);
    assert.equal(st.uid, 1234);
    assert.equal(st.gid, 5678);

    const b = join(root, 'd1', 'd2', 'kept-owner');
    await copyFile(request(b, { data: Buffer.from('y'), fileMode: 0o666, dirMode: 0o777, uid: -1, gid: -1 }), { root });
    const sb = await stat(b);
    assert.equal(sb.mode & 0o7777, 0o666); // no type bits means a regular file
    assert.equal(sb.uid, process.getuid?.());
    assert.equal((await stat(join(root, 'd1'))).mode & 0o7777, 0o777);

    // Created parents get the request's owner too.
    const c = join(root, 'owned-dir', 'f');
    await copyFile(request(c, { data: Buffer.from('z'), uid: 42, gid: 43 }), { root });
    const sd = await stat(join(root, 'owned-dir'));
    assert.deepEqual([sd.uid, sd.gid], [42, 43]);
  });

  test('concurrent copies into the same new directories both succeed', async () => {
    const names = ['one', 'two', 'three', 'four'];
    await Promise.all(names.map((n) => copyFile(request(join(root, 'p', 'q', 'r', n), { data: Buffer.from(n) }), { root })));
    for (const n of names) assert.equal(await readFile(join(root, 'p', 'q', 'r', n), 'utf8'), n);
  });

  test('an empty file is complete at once', async () => {
    const path = join(root, 'empty');
    assert.deepEqual(await copyFile(request(path), { root }), { kind: 'file', target: path, complete: true });
    assert.equal((await stat(path)).size, 0);
  });

  test('a finished copy replaces a file, a directory, or a symlink (without following it)', async () => {
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'was-file'), 'old');
    await mkdir(join(root, 'was-dir', 'sub'), { recursive: true });
    await writeFile(join(outside, 'victim'), 'untouched');
    await symlink(join(outside, 'victim'), join(root, 'was-link'));
    for (const name of ['was-file', 'was-dir', 'was-link']) {
      await copyFile(request(join(root, name), { data: Buffer.from('new') }), { root });
      const st = await lstat(join(root, name));
      assert.ok(st.isFile(), name);
      assert.equal(await readFile(join(root, name), 'utf8'), 'new');
    }
    assert.equal(await readFile(join(outside, 'victim'), 'utf8'), 'untouched');
    assert.deepEqual(await tree(root), ['was-dir', 'was-file', 'was-link']);
  });

  test('S_IFDIR makes a directory with file_mode and owner; an existing one keeps its content', async () => {
    const dir = join(root, 'a', 'dir');
    assert.deepEqual(await copyFile(request(dir, { fileMode: S_IFDIR | 0o1775, uid: 7, gid: 8 }), { root }), { kind: 'directory', target: dir });
    let st = await lstat(dir);
    assert.ok(st.isDirectory());
    assert.equal(st.mode & 0o7777, 0o1775);
    assert.deepEqual([st.uid, st.gid], [7, 8]);

    await writeFile(join(dir, 'inside'), 'keep');
    await copyFile(request(dir, { fileMode: S_IFDIR | 0o700 }), { root });
    st = await lstat(dir);
    assert.equal(st.mode & 0o7777, 0o700);
    assert.equal(await readFile(join(dir, 'inside'), 'utf8'), 'keep');

    // A file, or a symlink (not followed), at the path gives way to the directory.
    await writeFile(join(root, 'a', 'was-file'), 'x');
    await symlink(outside, join(root, 'a', 'was-link'));
    for (const name of ['was-file', 'was-link']) {
      await copyFile(request(join(root, 'a', name), { fileMode: S_IFDIR | 0o755 }), { root });
      assert.ok((await lstat(join(root, 'a', name))).isDirectory(), name);
    }
    assert.deepEqual(await tree(outside), []);
  });

  test('S_IFLNK makes a symlink to data (never followed), owned by uid/gid, replacing what was there', async () => {
    const link = join(root, 'links', 'passwd');
    const out = await copyFile(request(link, { fileMode: S_IFLNK | 0o777, data: Buffer.from('/etc/passwd'), uid: 11, gid: 12 }), { root });
    assert.deepEqual(out, { kind: 'symlink', target: link });
    const st = await lstat(link);
    assert.ok(st.isSymbolicLink());
    assert.equal(await readlink(link), '/etc/passwd');
    assert.deepEqual([st.uid, st.gid], [11, 12]);

    await writeFile(join(root, 'links', 'file'), 'x');
    await mkdir(join(root, 'links', 'dir', 'sub'), { recursive: true });
    for (const name of ['file', 'dir', 'passwd']) {
      await copyFile(request(join(root, 'links', name), { fileMode: S_IFLNK, data: Buffer.from('relative/target') }), { root });
      assert.equal(await readlink(join(root, 'links', name)), 'relative/target');
    }
    assert.deepEqual(await tree(join(root, 'links')), ['dir', 'file', 'passwd']);
    await assert.rejects(copyFile(request(join(root, 'links', 'x'), { fileMode: S_IFLNK }), { root }), invalid('data'));
    await assert.rejects(copyFile(request(join(root, 'links', 'x'), { fileMode: S_IFLNK, data: Buffer.from('a\0b') }), { root }), invalid('data'));
  });

  test('symlinks that stay below the root are followed', async () => {
    await mkdir(join(root, 'real', 'sub'), { recursive: true });
    await symlink('real', join(root, 'rel-link'));
    await symlink(join(root, 'real'), join(root, 'abs-link'));
    await symlink('../../real', join(root, 'real', 'sub', 'up-link'));
    await copyFile(request(join(root, 'rel-link', 'a'), { data: Buffer.from('1') }), { root });
    await copyFile(request(join(root, 'abs-link', 'b'), { data: Buffer.from('2') }), { root });
    await copyFile(request(join(root, 'real', 'sub', 'up-link', 'sub', 'c'), { data: Buffer.from('3') }), { root });
    assert.deepEqual((await readdir(join(root, 'real'))).sort(), ['a', 'b', 'sub']);
    assert.deepEqual((await readdir(join(root, 'real', 'sub'))).sort(), ['c', 'up-link']);
  });

  test('every way out of the root is refused naming path, and nothing is created', async () => {
    await mkdir(join(root, 'd'), { recursive: true });
    await symlink(outside, join(root, 'abs-out'));
    await symlink('../outside', join(root, 'rel-out'));
    await symlink(`../../${outside.split('/').pop()}`, join(root, 'd', 'nested-out'));
    await symlink('l2', join(root, 'l1'));
    await symlink('/', join(root, 'l2'));
    await symlink('loop2', join(root, 'loop1'));
    await symlink('loop1', join(root, 'loop2'));
    await writeFile(join(root, 'plain-file'), '');
    const before = await tree(root);

    const refused: Array<[string, RegExp?]> = [
      ['run/kata-containers/x', /not an absolute path/],
      ['', /is empty/],
      [`${root}/d/../../outside/x`, /contains "\.\."/],
      [`${root}/../outside/x`, /contains "\.\."/],
      [join(outside, 'x'), /is not below/],
      [`${root}-evil/x`, /is not below/],
      [root, /is not below/],
      [`${root}/x\0y`, /NUL/],
      [join(root, 'abs-out', 'x'), /leads out of the copy root/],
      [join(root, 'rel-out', 'x'), /leads out of the copy root/],
      [join(root, 'd', 'nested-out', 'x'), /leads out of the copy root/],
      [join(root, 'abs-out', 'new-dir', 'x'), /leads out of the copy root/],
      [join(root, 'l1', 'x'), /leads out of the copy root/],
      [join(root, 'loop1', 'x'), /too many levels of symlinks/],
      [join(root, 'plain-file', 'x'), /not a directory/],
    ];
    for (const [path, message] of refused) {
      for (const fileMode of [S_IFREG | 0o644, S_IFDIR | 0o755, S_IFLNK | 0o777]) {
        await assert.rejects(copyFile(request(path, { fileMode, data: Buffer.from('payload'), fileSize: 7n }), { root }), invalid('path', message), `${JSON.stringify(path)} mode 0o${fileMode.toString(8)}`);
      }
    }
    assert.deepEqual(await tree(outside), []);
    assert.deepEqual(await tree(root), before);
  });

  test('offsets: past what was received, or with no copy started, are INVALID_ARGUMENT; the bad copy is dropped', async () => {
    const path = join(root, 'chunked');
    await copyFile(request(path, { fileSize: 30n, data: Buffer.alloc(10, 1) }), { root });
    await assert.rejects(
      copyFile(request(path, { fileSize: 30n, offset: 20n, data: Buffer.alloc(10, 2) }), { root }),
      invalid('offset', /20 is past the 10 bytes received so far/),
    );
    assert.deepEqual(await tree(root), []); // temp removed, target never created

    // No chunk at offset 0 first: refused, and no parent directory is made.
    await assert.rejects(copyFile(request(join(root, 'new', 'f'), { fileSize: 30n, offset: 10n, data: Buffer.alloc(10) }), { root }), invalid('offset', /no copy of .* is in progress/));
    await assert.rejects(copyFile(request(join(root, 'f2'), { fileSize: 30n, offset: 10n, data: Buffer.alloc(10) }), { root }), invalid('offset', /no copy of .* is in progress/));
    assert.deepEqual(await tree(root), []);

    // Data running past file_size; negative sizes; a file size that changes between chunks.
    await assert.rejects(copyFile(request(path, { fileSize: 5n, data: Buffer.alloc(10) }), { root }), invalid('offset', /end past file_size 5/));
    await assert.rejects(copyFile(request(path, { fileSize: -1n }), { root }), invalid('file_size'));
    await assert.rejects(copyFile(request(path, { offset: -1n }), { root }), invalid('offset'));
    await copyFile(request(path, { fileSize: 30n, data: Buffer.alloc(20) }), { root });
    await assert.rejects(copyFile(request(path, { fileSize: 15n, offset: 10n, data: Buffer.alloc(5) }), { root }), invalid('file_size', /changed between chunks/));
    assert.deepEqual(await tree(root), []);
  });

  test('other fields are checked: file type, ids', async () => {
    const path = join(root, 'x');
    await assert.rejects(copyFile(request(path, { fileMode: 0o140000 | 0o644 }), { root }), invalid('file_mode')); // socket
    await assert.rejects(copyFile(request(path, { fileMode: 0o020000 }), { root }), invalid('file_mode')); // char device
    await assert.rejects(copyFile(request(path, { uid: -2 }), { root }), invalid('uid'));
    await assert.rejects(copyFile(request(path, { gid: 1.5 }), { root }), invalid('gid'));
    await assert.rejects(copyFile(request(path, { dirMode: -1 }), { root }), invalid('dir_mode'));
    await assert.rejects(stat(root), { code: 'ENOENT' }); // nothing was even created
  });

  test('the default root is /run/kata-containers (checked lexically only); temp names fit NAME_MAX', () => {
    assert.deepEqual(pathBelowRoot('/run/kata-containers/shared//a/./b', '/run/kata-containers'), ['shared', 'a', 'b']);
    assert.throws(() => pathBelowRoot('/run/kata-containersX/b', '/run/kata-containers'), invalid('path'));
    assert.throws(() => pathBelowRoot('/run/kata-containers', '/run/kata-containers'), invalid('path'));
    assert.equal(tempNameFor('a.txt'), '.a.txt.kata-copy');
    const long = 'n'.repeat(250);
    assert.ok(Buffer.byteLength(tempNameFor(long)) <= 255);
    assert.notEqual(tempNameFor(long), tempNameFor(`${long}x`.slice(1)));
  });
});
