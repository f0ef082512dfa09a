// setHostname(): validation, and a real change inside a private UTS namespace
// that leaves this machine's hostname alone.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname as osHostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

import { setHostname, validateHostname } from '../../../src/agent/sandbox/hostname.js';
import { SandboxError } from '../../../src/agent/sandbox/errors.js';

const CHILD = fileURLToPath(new URL('./hostname-child.ts', import.meta.url));

function isInvalidHostname(err: unknown): boolean {
  return err instanceof SandboxError && err.grpcCode === 3 && err.message.startsWith('create_sandbox.hostname: ');
}

describe('sandbox hostname', () => {
  test('accepts RFC 1123 names up to 64 characters, and the empty string', () => {
    for (const ok of ['', 'a', 'pod-1', 'Kata0', 'node.example.com', 'a'.repeat(63), `${'a'.repeat(31)}.${'b'.repeat(32)}`]) {
      assert.doesNotThrow(() => validateHostname(ok), ok);
    }
  });

  test('refuses names too long or with characters outside labels', () => {
    for (const bad of [
      'a'.repeat(65),
      'a'.repeat(64), // one label longer than 63
      '-lead',
      'trail-',
      'under_score',
      'two..dots',
      '.lead',
      'sp ace',
      'semi;colon',
      'new\nline',
      'nul\0',
      'ünïcode',
    ]) {
      assert.throws(() => validateHostname(bad), isInvalidHostname, JSON.stringify(bad));
    }
  });

  test('an empty hostname changes nothing; a missing proc file is an INTERNAL error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kata-hostname-'));
    try {
      const file = join(dir, 'hostname');
      await writeFile(file, 'before\n');
      assert.equal(await setHostname('', { procFile: file }), false);
      assert.equal(await readFile(file, 'utf8'), 'before\n');
      assert.equal(await setHostname('after', { procFile: file }), true);
      assert.equal(await readFile(file, 'utf8'), 'after');
      await assert.rejects(setHostname('x', { procFile: join(dir, 'absent') }), (err: unknown) => {
        return err instanceof SandboxError && err.grpcCode === 13 && /^create_sandbox\.hostname: /.test(err.message);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('sets the UTS hostname inside a private UTS namespace only', () => {
    const before = execFileSync('hostname', { encoding: 'utf8' }).trim();
    const wanted = before === 'kata-ts-sandbox-test' ? 'kata-ts-sandbox-test-2' : 'kata-ts-sandbox-test';
    const res = spawnSync('unshare', ['--uts', '--', process.execPath, '--import', 'tsx', CHILD, wanted], {
      encoding: 'utf8',
      cwd: process.cwd(),
    });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout.trim(), `true ${wanted}`);
    // The machine's own hostname is untouched.
    assert.equal(execFileSync('hostname', { encoding: 'utf8' }).trim(), before);
    assert.equal(osHostname(), before);
  });
});
