// The kata-ts-image command line: help names the default image directory,
// and a bad input is a one-line error and exit status 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binPath, run } from '../helpers/processes.js';
import { defaultImageDir } from '../../src/image/paths.js';

const IMAGE = binPath('kata-ts-image');

test('build --help documents the default image directory', async () => {
  const res = await run(IMAGE, ['build', '--help']);
  assert.equal(res.code, 0, res.stderr);
  assert.ok(res.stdout.replace(/\s+/g, ' ').includes(defaultImageDir()), res.stdout);
  assert.match(res.stdout, /--force/);
});

test('an unknown kernel package is a clear error, and nothing is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kata-image-cli-'));
  try {
    const out = join(dir, 'image');
    const res = await run(IMAGE, ['build', '--out', out, '--cache-dir', join(dir, 'cache'), '--kernel-package', 'linux-image-no-such-kernel']);
    assert.equal(res.code, 1);
    assert.equal(res.stderr, 'kata-ts-image: package linux-image-no-such-kernel is unknown to apt (run apt-get update?)\n');
    assert.equal(existsSync(out), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
