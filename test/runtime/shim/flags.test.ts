// The shim's command line, as containerd 1.6 writes it (runtime/v2 binary.go
// and shim/util.go) and as Go's flag package reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, parseShimFlags } from '../../../src/runtime/shim/flags.js';

test('containerd\'s start command line', () => {
  const f = parseShimFlags([
    '-namespace', 'k8s.io',
    '-address', '/run/containerd/containerd.sock',
    '-publish-binary', '/usr/bin/containerd',
    '-id', 'abc',
    '-debug',
    'start',
  ]);
  assert.equal(f.namespace, 'k8s.io');
  assert.equal(f.address, '/run/containerd/containerd.sock');
  assert.equal(f.publishBinary, '/usr/bin/containerd');
  assert.equal(f.id, 'abc');
  assert.equal(f.debug, true);
  assert.equal(f.action, 'start');
  assert.equal(f.bundle, '');
});

test('containerd\'s delete command line carries -bundle', () => {
  const f = parseShimFlags(['-namespace', 'ns', '-address', '/a.sock', '-publish-binary', '/c', '-id', 'x', '-bundle', '/b/x', 'delete']);
  assert.equal(f.bundle, '/b/x');
  assert.equal(f.action, 'delete');
  assert.equal(f.debug, false);
});

test('the daemon has no action; -socket names its socket', () => {
  const f = parseShimFlags(['-namespace', 'ns', '-id', 'x', '-address', '/a.sock', '-socket', '/run/s/1']);
  assert.equal(f.action, '');
  assert.equal(f.socket, '/run/s/1');
  assert.equal(f.publishBinary, 'containerd', 'Go\'s default');
});

test('-name=value, --name value and boolean values, as Go\'s flag package', () => {
  const f = parseShimFlags(['--namespace=a=b', '--id', 'x', '-debug=false', '-v=true', 'start', '-ignored']);
  assert.equal(f.namespace, 'a=b');
  assert.equal(f.id, 'x');
  assert.equal(f.debug, false);
  assert.equal(f.version, true);
  assert.equal(f.action, 'start');
  assert.deepEqual(f.rest, ['-ignored'], 'parsing stops at the action');
  assert.equal(parseShimFlags(['--', '-id']).action, '-id', '"--" ends the flags');
});

test('bad flags are errors naming the flag', () => {
  assert.throws(() => parseShimFlags(['-nope', 'x']), (e: unknown) => e instanceof FlagError && /not defined: -nope/.test(e.message));
  assert.throws(() => parseShimFlags(['-id']), /needs an argument: -id/);
  assert.throws(() => parseShimFlags(['-debug=maybe']), /invalid boolean value "maybe" for -debug/);
  assert.throws(() => parseShimFlags(['---id', 'x']), /bad flag syntax/);
});
