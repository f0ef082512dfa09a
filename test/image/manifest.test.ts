// The input key and file hashing behind "up to date".
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeInputKey, hashInputs, readManifest } from '../../src/image/manifest.js';
import { sha256 } from '../../src/image/hashing.js';

const kernel = { name: 'linux-image-x', version: '1', architecture: 'amd64', sha256: 'k1' };

describe('input key', () => {
  test('independent of file order; changes with any file hash, the config or the kernel package', () => {
    const files = [
      { path: 'src/a.ts', sha256: '1' },
      { path: '/usr/bin/node', sha256: '2' },
    ];
    const key = computeInputKey({ modules: ['a'] }, kernel, files);
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.equal(computeInputKey({ modules: ['a'] }, kernel, [...files].reverse()), key);
    assert.notEqual(computeInputKey({ modules: ['a'] }, kernel, [files[0]!, { path: '/usr/bin/node', sha256: '3' }]), key);
    assert.notEqual(computeInputKey({ modules: ['a'] }, kernel, [files[0]!]), key);
    assert.notEqual(computeInputKey({ modules: ['a', 'b'] }, kernel, files), key);
    assert.notEqual(computeInputKey({ modules: ['a'] }, { ...kernel, version: '2' }, files), key);
    // stat data is a hashing shortcut, not an input
    assert.equal(computeInputKey({ modules: ['a'] }, kernel, files.map((f) => ({ ...f, bytes: 9, mtimeMs: 1 }))), key);
  });

  test('hashInputs: relative to the root, missing files marked, unchanged stat reuses the known hash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-manifest-'));
    try {
      writeFileSync(join(dir, 'a'), 'one');
      const [first, missing] = await hashInputs(dir, ['a', 'nope']);
      assert.equal(first!.sha256, sha256('one'));
      assert.equal(first!.bytes, 3);
      assert.deepEqual(missing, { path: 'nope', sha256: 'missing' });

      // Same size and mtime: the recorded hash is trusted (here deliberately a fake one).
      const [reused] = await hashInputs(dir, ['a'], [{ ...first!, sha256: 'recorded' }]);
      assert.equal(reused!.sha256, 'recorded');
      // A touched file is hashed again.
      utimesSync(join(dir, 'a'), new Date(), new Date(Date.now() + 5000));
      const [rehashed] = await hashInputs(dir, ['a'], [{ ...first!, sha256: 'recorded' }]);
      assert.equal(rehashed!.sha256, sha256('one'));
      // Absolute paths are used as they are.
      const [abs] = await hashInputs('/nonexistent', [join(dir, 'a')]);
      assert.equal(abs!.sha256, sha256('one'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('readManifest ignores files that are not a manifest of this format', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-manifest-'));
    try {
      assert.equal(await readManifest(join(dir, 'absent.json')), undefined);
      writeFileSync(join(dir, 'bad.json'), '{not json');
      assert.equal(await readManifest(join(dir, 'bad.json')), undefined);
      writeFileSync(join(dir, 'old.json'), JSON.stringify({ format: 0, inputKey: 'x', inputs: { files: [] } }));
      assert.equal(await readManifest(join(dir, 'old.json')), undefined);
      writeFileSync(join(dir, 'ok.json'), JSON.stringify({ format: 1, inputKey: 'x', inputs: { files: [] } }));
      assert.equal((await readManifest(join(dir, 'ok.json')))?.inputKey, 'x');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
