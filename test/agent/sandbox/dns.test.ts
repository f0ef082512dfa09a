// The sandbox DNS file: validation of the lines, the atomic write below the
// state directory, and the bind mount over a resolv.conf (a temp file here).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  bindMountResolvConf,
  sandboxResolvConfPath,
  setupSandboxDns,
  validateDnsLines,
  writeSandboxResolvConf,
  type MountFunction,
} from '../../../src/agent/sandbox/dns.js';
import { SandboxError } from '../../../src/agent/sandbox/errors.js';
import { nativeMountSyscalls, MNT } from '../../../src/agent/mount/mount.js';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'kata-dns-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

function isDnsError(code: number, field: RegExp) {
  return (err: unknown) => err instanceof SandboxError && err.grpcCode === code && field.test(err.message);
}

describe('sandbox DNS', () => {
  test('accepts directives, comments and blank lines, and trims them', () => {
    const lines = validateDnsLines(['# Generated', 'nameserver 10.0.0.1 ', '\tsearch a.svc b.svc', 'options ndots:5', 'domain x', 'sortlist 10.0.0.0/8', '', '; old style']);
    assert.deepEqual(lines, ['# Generated', 'nameserver 10.0.0.1', 'search a.svc b.svc', 'options ndots:5', 'domain x', 'sortlist 10.0.0.0/8', '', '; old style']);
  });

  test('refuses unknown directives, missing values, NUL and inner line breaks, naming the line', () => {
    const cases: Array<[string[], RegExp]> = [
      [['nameserver 1.1.1.1', 'lookup file bind'], /^create_sandbox\.dns\[1\]: /],
      [['nameserver'], /^create_sandbox\.dns\[0\]: /],
      [['nameserver 1.1.1.1\0'], /^create_sandbox\.dns\[0\]: contains a NUL/],
      [['nameserver 1.1.1.1\nnameserver 6.6.6.6'], /^create_sandbox\.dns\[0\]: contains a line break/],
      [['search a\rb'], /^create_sandbox\.dns\[0\]: contains a line break/],
    ];
    for (const [dns, field] of cases) {
      assert.throws(() => validateDnsLines(dns), isDnsError(3, field), JSON.stringify(dns));
    }
  });

  test('writes <stateDir>/sandbox/resolv.conf atomically, replacing an older one, leaving no temp file', async () => {
    const stateDir = join(work, 'state-write');
    const path = await writeSandboxResolvConf(['nameserver 10.0.0.1', 'search svc'], { stateDir });
    assert.equal(path, join(stateDir, 'sandbox', 'resolv.conf'));
    assert.equal(path, sandboxResolvConfPath(stateDir));
    assert.equal(await readFile(path, 'utf8'), 'nameserver 10.0.0.1\nsearch svc\n');
    assert.equal((await stat(path)).mode & 0o777, 0o644);

    await writeSandboxResolvConf(['nameserver 10.0.0.2', ''], { stateDir });
    assert.equal(await readFile(path, 'utf8'), 'nameserver 10.0.0.2\n');
    assert.deepEqual(await readdir(join(stateDir, 'sandbox')), ['resolv.conf']);
  });

  test('empty dns writes nothing; a bad line writes nothing', async () => {
    const stateDir = join(work, 'state-empty');
    assert.equal(await writeSandboxResolvConf([], { stateDir }), undefined);
    await assert.rejects(writeSandboxResolvConf(['nameserver 1.1.1.1', 'bogus x'], { stateDir }), isDnsError(3, /dns\[1\]/));
    await assert.rejects(stat(stateDir), { code: 'ENOENT' });
  });

  test('the bind step: skipped without a target, refused on a directory, mount errors are INTERNAL', async () => {
    const calls: unknown[][] = [];
    const recording: MountFunction = (...args) => {
      calls.push(args);
    };
    assert.equal(await bindMountResolvConf('/src', { target: join(work, 'absent'), mount: recording }), false);
    assert.equal(calls.length, 0);

    const dirTarget = join(work, 'dir-target');
    await mkdir(dirTarget);
    await assert.rejects(bindMountResolvConf('/src', { target: dirTarget, mount: recording }), isDnsError(9, /^create_sandbox\.dns: .* is a directory/));
    assert.equal(calls.length, 0);

    const fileTarget = join(work, 'file-target');
    await writeFile(fileTarget, '');
    assert.equal(await bindMountResolvConf('/src', { target: fileTarget, mount: recording }), true);
    assert.deepEqual(calls, [['/src', fileTarget, null, 0x1000, null]]);

    const failing: MountFunction = () => {
      throw Object.assign(new Error('mount failed: EPERM'), { code: 'EPERM' });
    };
    await assert.rejects(bindMountResolvConf('/src', { target: fileTarget, mount: failing }), isDnsError(13, /^create_sandbox\.dns: bind-mounting/));
  });

  test('setupSandboxDns really bind-mounts the file over a resolv.conf (a temp file), then it is unmounted', async () => {
    const stateDir = join(work, 'state-bind');
    const target = join(work, 'etc-resolv.conf');
    await writeFile(target, 'nameserver 127.0.0.53\n');
    const syscalls = nativeMountSyscalls();
    let mounted = false;
    try {
      const written = await setupSandboxDns(['nameserver 192.0.2.1'], {
        stateDir,
        target,
        mount: (...args) => {
          syscalls.mount(...args);
          mounted = true;
        },
      });
      assert.equal(written, sandboxResolvConfPath(stateDir));
      assert.ok(mounted);
      assert.equal(await readFile(target, 'utf8'), 'nameserver 192.0.2.1\n');
    } finally {
      if (mounted) syscalls.umount2(target, MNT.DETACH);
    }
    assert.equal(await readFile(target, 'utf8'), 'nameserver 127.0.0.53\n');
  });
});
