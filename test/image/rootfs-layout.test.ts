// The guest tree model: parents first, paths through layout symlinks
// resolved, conflicts refused, and the mapping to cpio members.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { layoutToCpio, RootfsLayout } from '../../src/image/rootfs-layout.js';
import { S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG } from '../../src/image/initrd-cpio.js';

describe('RootfsLayout', () => {
  test('adding a deep path creates its parents first', () => {
    const l = new RootfsLayout();
    l.addData('/a/b/c/file', 'x');
    assert.deepEqual(
      l.entries().map((e) => [e.kind, e.path]),
      [
        ['dir', '/a'],
        ['dir', '/a/b'],
        ['dir', '/a/b/c'],
        ['data', '/a/b/c/file'],
      ],
    );
  });

  test('paths through a symlink land at its target (merged /usr)', () => {
    const l = new RootfsLayout();
    l.addDir('/usr/lib');
    l.addSymlink('/lib', 'usr/lib');
    l.addSymlink('/lib64', '/usr/lib64');
    l.addFile('/lib/x86_64-linux-gnu/libc.so.6', '/host/libc.so.6', 0o755);
    l.addFile('/lib64/ld-linux-x86-64.so.2', '/host/ld.so', 0o755);
    const paths = l.entries().map((e) => e.path);
    assert.ok(paths.includes('/usr/lib/x86_64-linux-gnu/libc.so.6'));
    assert.ok(paths.includes('/usr/lib64/ld-linux-x86-64.so.2'));
    assert.ok(!paths.some((p) => p.startsWith('/lib/')), 'nothing below the /lib symlink itself');
    assert.ok(l.has('/lib/x86_64-linux-gnu/libc.so.6'));
    assert.equal(l.resolve('/lib/../lib/x'), '/usr/lib/x');
  });

  test('chained symlinks resolve, loops are reported', () => {
    const l = new RootfsLayout();
    l.addSymlink('/a', 'b');
    l.addSymlink('/b', 'c');
    assert.equal(l.resolve('/a/file'), '/c/file');
    const loop = new RootfsLayout();
    loop.addSymlink('/x', 'y');
    loop.addSymlink('/y', 'x');
    assert.throws(() => loop.resolve('/x/file'), /too many levels of symbolic links/);
  });

  test('the same entry twice is fine, a different one is a conflict naming the path', () => {
    const l = new RootfsLayout();
    l.addFile('/usr/bin/node', '/host/node', 0o755);
    l.addFile('/usr/bin/node', '/host/node', 0o755);
    assert.throws(() => l.addFile('/usr/bin/node', '/other/node', 0o755), /guest path \/usr\/bin\/node: a copy of \/other\/node conflicts with a copy of \/host\/node/);
    assert.throws(() => l.addSymlink('/usr/bin/node', 'busybox'), /conflicts/);
    assert.throws(() => l.addData('/usr/bin/node/x', 'y'), /parent \/usr\/bin\/node is a file/);
    assert.throws(() => l.addDir('relative'), /not absolute/);
  });

  test('a directory added again takes the new mode', () => {
    const l = new RootfsLayout();
    l.addData('/tmp/x', 'y');
    l.addDir('/tmp', 0o1777);
    assert.deepEqual(l.get('/tmp'), { kind: 'dir', path: '/tmp', mode: 0o1777 });
  });

  test('layoutToCpio gives relative names and file-type bits', () => {
    const l = new RootfsLayout();
    l.addDir('/dev');
    l.addCharDevice('/dev/null', 1, 3, 0o666);
    l.addSymlink('/bin', 'usr/bin');
    l.addData('/init', '#!/bin/sh\n', 0o755);
    l.addFile('/etc/f', '/host/f', 0o644);
    assert.deepEqual(layoutToCpio(l.entries()), [
      { name: 'dev', mode: S_IFDIR | 0o755 },
      { name: 'dev/null', mode: S_IFCHR | 0o666, rdevMajor: 1, rdevMinor: 3 },
      { name: 'bin', mode: S_IFLNK | 0o777, body: Buffer.from('usr/bin') },
      { name: 'init', mode: S_IFREG | 0o755, body: Buffer.from('#!/bin/sh\n') },
      { name: 'etc', mode: S_IFDIR | 0o755 },
      { name: 'etc/f', mode: S_IFREG | 0o644, body: { path: '/host/f' } },
    ]);
  });
});
