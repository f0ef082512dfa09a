// The newc writer, read back by the cpio tool: names, types, contents,
// symlink targets, modes and device numbers survive the round trip.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { encodeHeader, S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG, writeNewcCpio, type CpioEntry } from '../../src/image/initrd-cpio.js';
import { sha256 } from '../../src/image/hashing.js';

function cpio(args: string[], cwd: string, input?: Buffer): string {
  const res = spawnSync('cpio', args, { cwd, input, encoding: 'buffer' });
  assert.equal(res.status, 0, `cpio ${args.join(' ')}: ${res.stderr.toString()}`);
  return res.stdout.toString() + res.stderr.toString();
}

function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-cpio-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

describe('newc cpio writer', () => {
  test('members of every kind read back with cpio -t and extract identically', () =>
    withTempDir(async (dir) => {
      const hostFile = join(dir, 'host-file');
      writeFileSync(hostFile, 'contents read from a host file\n');
      const entries: CpioEntry[] = [
        { name: 'etc', mode: S_IFDIR | 0o755 },
        { name: 'etc/empty', mode: S_IFREG | 0o644, body: Buffer.alloc(0) },
        { name: 'etc/one', mode: S_IFREG | 0o600, body: Buffer.from('x') },
        { name: 'etc/five5', mode: S_IFREG | 0o644, body: Buffer.from('12345') },
        { name: 'etc/from-host', mode: S_IFREG | 0o755, body: { path: hostFile } },
        { name: 'tmp', mode: S_IFDIR | 0o1777 },
        { name: 'link', mode: S_IFLNK | 0o777, body: Buffer.from('etc/five5') },
        { name: 'dev', mode: S_IFDIR | 0o755 },
        { name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
      ];
      const archive = join(dir, 'a.cpio');
      const result = await writeNewcCpio(entries, archive);
      const bytes = readFileSync(archive);
      assert.equal(result.bytes, bytes.length);
      assert.equal(result.sha256, sha256(bytes));
      assert.equal(result.members, entries.length);
      assert.equal(bytes.length % 4, 0, 'the archive is 4-byte aligned');

      const listing = cpio(['-itv', '--quiet', '-F', archive], dir);
      const names = cpio(['-it', '--quiet', '-F', archive], dir).trim().split('\n');
      assert.deepEqual(names, entries.map((e) => e.name));
      assert.match(listing, /^drwxrwxrwt .* tmp$/m);
      assert.match(listing, /^lrwxrwxrwx .* link -> etc\/five5$/m);
      assert.match(listing, /^crw------- .* 5,\s*1 .* dev\/console$/m);
      assert.match(listing, /^-rwxr-xr-x .* etc\/from-host$/m);

      const out = join(dir, 'out');
      mkdirSync(out);
      cpio(['-idm', '--quiet', '--no-absolute-filenames', '-F', archive], out);
      assert.equal(readFileSync(join(out, 'etc/empty'), 'utf8'), '');
      assert.equal(readFileSync(join(out, 'etc/one'), 'utf8'), 'x');
      assert.equal(readFileSync(join(out, 'etc/five5'), 'utf8'), '12345');
      assert.equal(readFileSync(join(out, 'etc/from-host'), 'utf8'), 'contents read from a host file\n');
      assert.equal(lstatSync(join(out, 'etc/one')).mode & 0o7777, 0o600);
      assert.equal(readlinkSync(join(out, 'link')), 'etc/five5');
      const console = lstatSync(join(out, 'dev/console'));
      assert.ok(console.isCharacterDevice());
      assert.equal(console.rdev, (5 << 8) | 1);
      assert.equal(lstatSync(join(out, 'etc/five5')).mtimeMs, 0, 'every member has mtime 0');
    }));

  test('property: any set of files with any sizes extracts byte for byte', async () => {
    const file = fc.record({
      name: fc.stringMatching(/^[a-z0-9_.-]{1,40}$/).filter((n) => n !== '.' && n !== '..'),
      data: fc.uint8Array({ maxLength: 37 }),
      mode: fc.constantFrom(0o644, 0o600, 0o755, 0o400),
    });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(file, { selector: (f) => f.name, minLength: 1, maxLength: 12 }), (files) =>
        withTempDir(async (dir) => {
          const archive = join(dir, 'p.cpio');
          await writeNewcCpio(
            [{ name: 'd', mode: S_IFDIR | 0o755 }, ...files.map((f) => ({ name: `d/${f.name}`, mode: S_IFREG | f.mode, body: Buffer.from(f.data) }))],
            archive,
          );
          const out = join(dir, 'out');
          mkdirSync(out);
          cpio(['-idm', '--quiet', '--no-absolute-filenames', '-F', archive], out);
          for (const f of files) {
            assert.deepEqual(readFileSync(join(out, 'd', f.name)), Buffer.from(f.data), f.name);
            assert.equal(lstatSync(join(out, 'd', f.name)).mode & 0o7777, f.mode, f.name);
          }
        }),
      ),
      { numRuns: 25 },
    );
  });

  test('headers are 110 bytes of hex fields, name padded to 4', () => {
    for (const name of ['a', 'ab', 'abc', 'abcd', 'TRAILER!!!']) {
      const h = encodeHeader({ ino: 1, mode: S_IFREG | 0o644, uid: 0, gid: 0, nlink: 1, mtime: 0, filesize: 3, rdevMajor: 0, rdevMinor: 0, name });
      assert.equal(h.subarray(0, 6).toString(), '070701');
      assert.equal(h.length % 4, 0);
      assert.equal(h.length, 110 + name.length + 1 + ((4 - ((110 + name.length + 1) % 4)) % 4));
      assert.equal(h.subarray(110, 110 + name.length).toString(), name);
      assert.equal(h[110 + name.length], 0, 'name is NUL-terminated');
      assert.equal(h.subarray(6 + 6 * 8, 6 + 7 * 8).toString(), '00000003', 'filesize field');
    }
  });

  test('absolute, empty and duplicate names are refused', () =>
    withTempDir(async (dir) => {
      const out = join(dir, 'x.cpio');
      await assert.rejects(writeNewcCpio([{ name: '/etc', mode: S_IFDIR | 0o755 }], out), /not a relative path/);
      await assert.rejects(writeNewcCpio([{ name: '', mode: S_IFDIR | 0o755 }], out), /not a relative path/);
      await assert.rejects(
        writeNewcCpio([{ name: 'a', mode: S_IFDIR | 0o755 }, { name: 'a', mode: S_IFDIR | 0o755 }], out),
        /member a appears twice/,
      );
    }));
});
