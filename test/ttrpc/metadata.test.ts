import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metadataFromKeyValues, metadataToKeyValues } from '../../src/ttrpc/metadata.js';

test('metadataToKeyValues: one pair per value, keys lower-cased, order kept', () => {
  const pairs = metadataToKeyValues({ 'Agent-Ctl-Cfg': 'auto-values', Trace: ['a', 'b'] });
  assert.deepEqual(
    pairs.map((p) => [p.key, p.value]),
    [['agent-ctl-cfg', 'auto-values'], ['trace', 'a'], ['trace', 'b']],
  );
  assert.deepEqual(metadataToKeyValues(undefined), []);
  assert.deepEqual(
    metadataToKeyValues(new Map([['X', ['1']]])).map((p) => [p.key, p.value]),
    [['x', '1']],
  );
});

test('metadataFromKeyValues groups values by lower-cased key', () => {
  const md = metadataFromKeyValues(metadataToKeyValues({ a: ['1', '2'] }).concat(metadataToKeyValues({ A: '3', b: '' })));
  assert.deepEqual([...md.entries()], [['a', ['1', '2', '3']], ['b', ['']]]);
});
