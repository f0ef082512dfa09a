import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import {
  MS,
  formatMountOptions,
  isFlagOption,
  optionValue,
  parseMountOptions,
  splitMountOptions,
} from '../../../src/agent/mount/options.js';

describe('parseMountOptions: one word at a time (util-linux names)', () => {
  // [word, bits it sets in mountFlags]
  const setters: Array<[string, number]> = [
    ['ro', MS.RDONLY],
    ['nosuid', MS.NOSUID],
    ['nodev', MS.NODEV],
    ['noexec', MS.NOEXEC],
    ['sync', MS.SYNCHRONOUS],
    ['remount', MS.REMOUNT],
    ['mand', MS.MANDLOCK],
    ['dirsync', MS.DIRSYNC],
    ['nosymfollow', MS.NOSYMFOLLOW],
    ['noatime', MS.NOATIME],
    ['nodiratime', MS.NODIRATIME],
    ['bind', MS.BIND],
    ['rbind', MS.BIND | MS.REC],
    ['move', MS.MOVE],
    ['silent', MS.SILENT],
    ['relatime', MS.RELATIME],
    ['iversion', MS.I_VERSION],
    ['strictatime', MS.STRICTATIME],
    ['lazytime', MS.LAZYTIME],
  ];
  for (const [word, bits] of setters) {
    test(`${word} sets 0x${bits.toString(16)}`, () => {
      const p = parseMountOptions([word]);
      assert.equal(p.mountFlags, bits);
      assert.equal(p.flags, bits);
      assert.equal(p.data, '');
      assert.deepEqual(p.propagation, []);
      assert.equal(isFlagOption(word), true);
    });
  }

  // [setter, its inverse]: the inverse clears what the setter set.
  const inverses: Array<[string, string]> = [
    ['ro', 'rw'],
    ['nosuid', 'suid'],
    ['nodev', 'dev'],
    ['noexec', 'exec'],
    ['sync', 'async'],
    ['mand', 'nomand'],
    ['noatime', 'atime'],
    ['nodiratime', 'diratime'],
    ['relatime', 'norelatime'],
    ['strictatime', 'nostrictatime'],
    ['lazytime', 'nolazytime'],
    ['silent', 'loud'],
    ['iversion', 'noiversion'],
    ['nosymfollow', 'symfollow'],
  ];
  for (const [on, off] of inverses) {
    test(`${off} undoes ${on}; the later word wins`, () => {
      assert.equal(parseMountOptions([on, off]).mountFlags, 0);
      assert.equal(parseMountOptions([off, on]).mountFlags, parseMountOptions([on]).mountFlags);
      assert.equal(parseMountOptions([off]).mountFlags, 0);
    });
  }

  const propagation: Array<[string, number]> = [
    ['private', MS.PRIVATE],
    ['rprivate', MS.PRIVATE | MS.REC],
    ['shared', MS.SHARED],
    ['rshared', MS.SHARED | MS.REC],
    ['slave', MS.SLAVE],
    ['rslave', MS.SLAVE | MS.REC],
    ['unbindable', MS.UNBINDABLE],
    ['runbindable', MS.UNBINDABLE | MS.REC],
  ];
  for (const [word, bits] of propagation) {
    test(`${word} is a propagation change 0x${bits.toString(16)}, not a mount flag`, () => {
      const p = parseMountOptions([word]);
      assert.equal(p.mountFlags, 0);
      assert.deepEqual(p.propagation, [bits]);
      assert.equal(p.flags, bits);
    });
  }

  test('defaults means nothing', () => {
    assert.deepEqual(parseMountOptions(['defaults']), { mountFlags: 0, propagation: [], flags: 0, dataOptions: [], data: '' });
  });
});

describe('parseMountOptions: whole option lists', () => {
  test('the sandbox /dev/shm storage from the runtime', () => {
    const p = parseMountOptions(['noexec', 'nosuid', 'nodev', 'mode=1777', 'size=67108864']);
    assert.equal(p.mountFlags, MS.NOEXEC | MS.NOSUID | MS.NODEV);
    assert.equal(p.data, 'mode=1777,size=67108864');
  });

  test('the 9p shared directory: flags out, transport options kept in order', () => {
    const p = parseMountOptions(['trans=virtio', 'version=9p2000.L', 'cache=mmap', 'nodev', 'msize=8192']);
    assert.equal(p.mountFlags, MS.NODEV);
    assert.deepEqual(p.dataOptions, ['trans=virtio', 'version=9p2000.L', 'cache=mmap', 'msize=8192']);
    assert.equal(p.data, 'trans=virtio,version=9p2000.L,cache=mmap,msize=8192');
  });

  test('unknown words, words with values and near-misses go to data in order', () => {
    const p = parseMountOptions(['nouuid', 'ro=1', 'RO', 'dax', 'x-systemd.foo', 'noauto']);
    assert.equal(p.mountFlags, 0);
    assert.deepEqual(p.dataOptions, ['nouuid', 'ro=1', 'RO', 'dax', 'x-systemd.foo', 'noauto']);
  });

  test('entries are split at commas like mount -o; empty words dropped', () => {
    assert.deepEqual(splitMountOptions(['pagesize=2097152,size=4194304', 'ro,,nodev,', ' noexec ']), [
      'pagesize=2097152',
      'size=4194304',
      'ro',
      'nodev',
      'noexec',
    ]);
    const p = parseMountOptions(['pagesize=2097152,size=4194304', 'ro,nodev']);
    assert.equal(p.mountFlags, MS.RDONLY | MS.NODEV);
    assert.equal(p.data, 'pagesize=2097152,size=4194304');
  });

  test('bind with a later rprivate keeps bind non-recursive; the recursion belongs to the propagation call', () => {
    const p = parseMountOptions(['bind', 'ro', 'rprivate']);
    assert.equal(p.mountFlags, MS.BIND | MS.RDONLY);
    assert.deepEqual(p.propagation, [MS.PRIVATE | MS.REC]);
    assert.equal(p.flags, MS.BIND | MS.RDONLY | MS.PRIVATE | MS.REC);
  });

  test('several propagation changes are kept in order', () => {
    assert.deepEqual(parseMountOptions(['rshared', 'private', 'unbindable']).propagation, [
      MS.SHARED | MS.REC,
      MS.PRIVATE,
      MS.UNBINDABLE,
    ]);
  });

  test('optionValue: the last key= wins; absent is undefined', () => {
    assert.equal(optionValue(['size=1', 'mode=0755', 'size=2'], 'size'), '2');
    assert.equal(optionValue(['sizes=1'], 'size'), undefined);
    assert.equal(optionValue(['fsgid='], 'fsgid'), '');
  });
});

describe('formatMountOptions: the way back', () => {
  test('canonical words for a few lists', () => {
    assert.deepEqual(formatMountOptions(parseMountOptions(['rw', 'nodev', 'rbind', 'ro', 'rslave', 'size=1'])), [
      'rbind',
      'ro',
      'nodev',
      'rslave',
      'size=1',
    ]);
    assert.deepEqual(formatMountOptions(parseMountOptions(['defaults', 'rw', 'suid'])), []);
  });

  test('bits without a name are refused', () => {
    assert.throws(() => formatMountOptions({ mountFlags: MS.REC, propagation: [], dataOptions: [] }), RangeError);
    assert.throws(() => formatMountOptions({ mountFlags: 0, propagation: [MS.PRIVATE | MS.SHARED], dataOptions: [] }), RangeError);
  });

  test('round trip: parse(format(parse(x))) equals parse(x) for any list of words', () => {
    const flagWords = [
      'defaults', 'ro', 'rw', 'nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec', 'sync', 'async', 'remount',
      'mand', 'nomand', 'dirsync', 'noatime', 'atime', 'nodiratime', 'diratime', 'bind', 'rbind', 'move',
      'silent', 'loud', 'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'lazytime', 'nolazytime',
      'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable',
    ];
    const dataWord = fc
      .stringMatching(/^[a-z][a-z0-9_.]{0,8}(=[A-Za-z0-9/:._-]{0,12})?$/)
      .filter((w) => !isFlagOption(w));
    const word = fc.oneof(fc.constantFrom(...flagWords), dataWord);
    fc.assert(
      fc.property(fc.array(word, { maxLength: 12 }), (words) => {
        const once = parseMountOptions(words);
        const twice = parseMountOptions(formatMountOptions(once));
        assert.deepEqual(twice, once);
        // data words survive untouched and in order
        assert.deepEqual(once.dataOptions, words.filter((w) => !isFlagOption(w)));
      }),
      { numRuns: 500 },
    );
  });
});
