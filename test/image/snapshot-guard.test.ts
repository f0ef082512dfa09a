// The snapshot build's check of what it loaded: Node's warning is recognised,
// the listed built-ins pass, any other fails naming it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkUnverifiedBuiltins, LOADED_WHILE_BUILDING, unverifiedBuiltin } from '../../src/image/snapshot-guard.js';

/** The warning Node 20's snapshot builder emits (its wording). */
function builderWarning(module: string): Error {
  const w = new Error(`It's not yet fully verified whether built-in module "${module}" works in user snapshot builder scripts.\nIt may still work in some cases...`);
  w.name = 'Warning';
  return w;
}

describe('snapshot guard', () => {
  test("Node's warning names the built-in; other warnings are not about built-ins", () => {
    assert.equal(unverifiedBuiltin(builderWarning('node:child_process')), 'child_process');
    assert.equal(unverifiedBuiltin(builderWarning('worker_threads')), 'worker_threads');
    assert.equal(unverifiedBuiltin(new Error('ExperimentalWarning: something else')), undefined);
  });

  test('the listed built-ins pass, with a reason each; any other fails, named', () => {
    assert.doesNotThrow(() => checkUnverifiedBuiltins([...LOADED_WHILE_BUILDING.keys()]));
    assert.doesNotThrow(() => checkUnverifiedBuiltins([]));
    for (const why of LOADED_WHILE_BUILDING.values()) assert.ok(why.length > 0);
    assert.throws(() => checkUnverifiedBuiltins(['module', 'http', 'http', 'net']), (err: Error) => {
      assert.match(err.message, /loaded http, net, which node does not vouch for/);
      assert.match(err.message, /src\/image\/lazy-modules\.ts/);
      return true;
    });
  });
});
