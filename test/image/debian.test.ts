// Parsers of apt, dpkg and ldd output.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelDependency, parseDpkgSearch, parsePackageStanza, parsePackageStanzas, usrMergeAlias } from '../../src/image/debian.js';
import { parseLdd, sharedLibraries } from '../../src/image/host-programs.js';

describe('apt and dpkg output', () => {
  const show = [
    'Package: linux-image-amd64',
    'Version: 6.1.192-2',
    'Architecture: amd64',
    'Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)',
    'SHA256: aaaa',
    '',
    'Package: linux-image-6.1.0-56-amd64',
    'Source: linux-signed-amd64 (6.1.192+2)',
    'Version: 6.1.192-2',
    'Architecture: amd64',
    'Depends: kmod, linux-base (>= 4.3~), initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool',
    'SHA256: 0123abcd',
    '',
  ].join('\n');

  test('stanzas by package; the metapackage names its kernel; fields are read', () => {
    const stanzas = parsePackageStanzas(show);
    assert.deepEqual([...stanzas.keys()], ['linux-image-amd64', 'linux-image-6.1.0-56-amd64']);
    assert.equal(kernelDependency(stanzas.get('linux-image-amd64')!, 'linux-image-amd64'), 'linux-image-6.1.0-56-amd64');
    assert.deepEqual(parsePackageStanza(stanzas.get('linux-image-6.1.0-56-amd64')!, 'linux-image-6.1.0-56-amd64'), {
      name: 'linux-image-6.1.0-56-amd64',
      version: '6.1.192-2',
      architecture: 'amd64',
      sha256: '0123abcd',
    });
    assert.throws(() => kernelDependency('Package: x\nDepends: libc6\n', 'x'), /x depends on no linux-image-\* package/);
    assert.throws(() => parsePackageStanza('Package: y\n', 'y'), /apt-cache show y: no Version/);
  });

  test('dpkg -S lines map paths to packages, architecture dropped', () => {
    const owners = parseDpkgSearch(
      'libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6\nnodejs: /usr/bin/node\ndiversion by foo from: /bin/x\ndpkg-query: no path found matching pattern /nope\n',
    );
    assert.deepEqual([...owners], [
      ['/lib/x86_64-linux-gnu/libc.so.6', 'libc6'],
      ['/usr/bin/node', 'nodejs'],
    ]);
  });

  test('merged-/usr aliases', () => {
    assert.equal(usrMergeAlias('/usr/sbin/ip'), '/sbin/ip');
    assert.equal(usrMergeAlias('/lib64/ld-linux-x86-64.so.2'), '/usr/lib64/ld-linux-x86-64.so.2');
    assert.equal(usrMergeAlias('/usr/share/doc'), undefined);
    assert.equal(usrMergeAlias('/opt/x'), undefined);
  });
});

describe('ldd output', () => {
  test('libraries and the interpreter, not the vDSO', () => {
    const text = [
      '\tlinux-vdso.so.1 (0x00007ffd)',
      '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f00)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f01)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f02)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f01)',
    ].join('\n');
    assert.deepEqual(parseLdd(text, 'node'), [
      '/lib/x86_64-linux-gnu/libstdc++.so.6',
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib64/ld-linux-x86-64.so.2',
    ]);
    assert.deepEqual(parseLdd('\tnot a dynamic executable\n', 'busybox'), []);
    assert.throws(() => parseLdd('\tlibfoo.so.1 => not found\n', '/usr/bin/x'), /\/usr\/bin\/x needs libfoo\.so\.1, which the host does not have/);
  });

  test("the host's node needs libc and the ELF interpreter; static busybox needs nothing", async () => {
    const libs = await sharedLibraries('/usr/bin/node');
    assert.ok(libs.some((l) => /\/libc\.so\.6$/.test(l)), libs.join(' '));
    assert.ok(libs.some((l) => /\/ld-linux-x86-64\.so\.2$/.test(l)), libs.join(' '));
    assert.deepEqual(await sharedLibraries('/usr/bin/busybox'), []);
  });
});
