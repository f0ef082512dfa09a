// Which shim serves a container: the pod's, by the CRI plugin's annotations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRI_CONTAINER_TYPE, CRI_SANDBOX_ID, groupingOf, readBundleFacts } from '../../../src/runtime/shim/grouping.js';

test('a pod\'s sandbox and containers without annotations get their own shim', () => {
  assert.deepEqual(groupingOf('c1', {}), { kind: 'own', groupId: 'c1' });
  assert.deepEqual(groupingOf('pod', { [CRI_CONTAINER_TYPE]: 'sandbox', [CRI_SANDBOX_ID]: 'pod' }), { kind: 'own', groupId: 'pod' });
});

test('a pod\'s container joins its sandbox\'s shim', () => {
  assert.deepEqual(groupingOf('app', { [CRI_CONTAINER_TYPE]: 'container', [CRI_SANDBOX_ID]: 'pod' }), {
    kind: 'pod-member',
    groupId: 'pod',
    sandboxId: 'pod',
  });
});

test('a container without its sandbox id is refused', () => {
  assert.throws(() => groupingOf('app', { [CRI_CONTAINER_TYPE]: 'container' }), new RegExp(`needs ${CRI_SANDBOX_ID.replace(/\./g, '\\.')}`));
});

test('readBundleFacts takes annotations and hostname; bad specs are named errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kata-ts-shim-bundle-'));
  try {
    await writeFile(join(dir, 'config.json'), JSON.stringify({ hostname: 'h1', annotations: { a: 'b' }, process: {} }));
    assert.deepEqual(readBundleFacts(dir), { annotations: { a: 'b' }, hostname: 'h1' });
    await writeFile(join(dir, 'config.json'), JSON.stringify({ annotations: { a: 1 } }));
    assert.throws(() => readBundleFacts(dir), /annotations\.a: not a string/);
    await writeFile(join(dir, 'config.json'), '{');
    assert.throws(() => readBundleFacts(dir), /cannot read the bundle's spec .*config\.json/);
    await rm(join(dir, 'config.json'));
    assert.throws(() => readBundleFacts(dir), /config\.json/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
