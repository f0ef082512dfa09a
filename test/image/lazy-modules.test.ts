// Stand-ins that load a module on first use: which imports get one, that
// listing or copying their keys loads nothing, that reading one loads the
// real module once, and the same in a real bundle run by node.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleAgent, scriptFileOf } from '../../src/image/agent-bundle.js';
import { lazyModuleSource, lazyTarget, LAZY_PACKAGES, SNAPSHOT_SAFE_BUILTINS } from '../../src/image/lazy-modules.js';
import { repoRoot } from '../../src/image/paths.js';

/** Evaluates a stand-in's source with a counting require. */
function standIn(target: string, real: Record<string, unknown>): { exports: Record<string, unknown>; loads: () => number } {
  let loads = 0;
  const module = { exports: {} as Record<string, unknown> };
  const fakeRequire = (id: string) => {
    assert.equal(id, target);
    loads += 1;
    return real;
  };
  new Function('require', 'module', lazyModuleSource(target, Object.keys(real)))(fakeRequire, module);
  return { exports: module.exports, loads: () => loads };
}

describe('lazy modules', () => {
  test('built-ins node does not vouch for in snapshots and listed packages get a stand-in; the rest load as usual', () => {
    assert.equal(lazyTarget('node:http'), 'node:http');
    assert.equal(lazyTarget('child_process'), 'node:child_process');
    assert.equal(lazyTarget('node:net'), 'node:net');
    assert.equal(lazyTarget('node:fs'), undefined);
    assert.equal(lazyTarget('fs/promises'), undefined);
    assert.equal(lazyTarget('node:v8'), undefined);
    assert.equal(lazyTarget('prom-client'), 'prom-client');
    assert.equal(lazyTarget('pino'), undefined);
    assert.equal(lazyTarget('./local.js'), undefined);
    assert.ok(SNAPSHOT_SAFE_BUILTINS.has('stream') && !SNAPSHOT_SAFE_BUILTINS.has('net'));
    for (const [name, why] of LAZY_PACKAGES) assert.ok(why.length > 0, `${name} says why`);
  });

  test('listing, describing and copying the keys loads nothing; the first read loads the module once', () => {
    const real = { spawn: () => 'spawned', constant: 42 };
    const { exports: m, loads } = standIn('node:child_process', real);
    assert.deepEqual(Object.keys(m), ['spawn', 'constant']);
    assert.equal(Object.getOwnPropertyDescriptor(m, 'constant')?.enumerable, true);
    const copy = {};
    // What esbuild's interop does for `import * as x` and default imports.
    for (const key of Object.getOwnPropertyNames(m)) {
      Object.defineProperty(copy, key, { get: () => m[key], enumerable: Object.getOwnPropertyDescriptor(m, key)?.enumerable ?? true });
    }
    assert.equal(loads(), 0, 'nothing loaded yet');
    assert.equal((m.spawn as () => string)(), 'spawned');
    assert.equal((copy as { constant: number }).constant, 42);
    assert.equal(m.missing, undefined);
    assert.equal(loads(), 1, 'loaded once');
    assert.ok('spawn' in m);
  });

  test('in a bundle run by node: node:http stays unloaded until used; prom-client is behind a stand-in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-lazy-'));
    try {
      const out = join(dir, 'probe.mjs');
      await bundleAgent(repoRoot(), out, 'test/image/fixtures/lazy-probe.ts');
      const res = spawnSync(process.execPath, [out], { encoding: 'utf8' });
      assert.equal(res.status, 0, res.stderr);
      const report = JSON.parse(res.stdout) as { before: { http: boolean; keys: boolean }; after: Record<string, unknown> };
      assert.deepEqual(report.before, { http: false, keys: true });
      assert.deepEqual(report.after, { http: true, status: 'Not Found', server: 'function', registry: 'text/plain; version=0.0.4; charset=utf-8' });
      // esbuild names each bundled module in a comment; the stand-in's name is its namespace and target.
      assert.ok(readFileSync(scriptFileOf(out), 'utf8').includes('// kata-ts-lazy:prom-client\n'), 'prom-client is behind a stand-in');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
