import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CgroupError, parseCgroupsPath, parseProcCgroup } from '../../../src/agent/cgroups/index.js';
import { joinCgroupPath } from '../../../src/agent/cgroups/path.js';

function assertInvalid(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CgroupError);
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.equal(err.grpcCode, 3);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('parseCgroupsPath', () => {
  test('absolute and relative cgroupfs paths', () => {
    assert.deepEqual(parseCgroupsPath('/kata/abc'), { absolute: true, segments: ['kata', 'abc'] });
    assert.deepEqual(parseCgroupsPath('kata//abc/'), { absolute: false, segments: ['kata', 'abc'] });
    assert.deepEqual(parseCgroupsPath('/'), { absolute: true, segments: [] });
  });

  test('systemd slice:prefix:name becomes the nested slice path and a scope', () => {
    assert.deepEqual(parseCgroupsPath('system.slice:kata_agent:abc'), {
      absolute: true,
      segments: ['system.slice', 'kata_agent-abc.scope'],
    });
    assert.deepEqual(parseCgroupsPath('kubepods-besteffort.slice:cri:123').segments, [
      'kubepods.slice',
      'kubepods-besteffort.slice',
      'cri-123.scope',
    ]);
    assert.deepEqual(parseCgroupsPath(':p:n').segments, ['system.slice', 'p-n.scope']);
  });

  test('bad paths are refused with INVALID_ARGUMENT naming the problem', () => {
    assertInvalid(() => parseCgroupsPath(''), /empty/);
    assertInvalid(() => parseCgroupsPath('/kata/../../etc'), /\.\./);
    assertInvalid(() => parseCgroupsPath('a\0b'), /NUL/);
    assertInvalid(() => parseCgroupsPath('bad-.slice:p:n'), /slice name/);
    assertInvalid(() => parseCgroupsPath('system.slice:p:'), /no unit name/);
  });
});

describe('parseProcCgroup', () => {
  test('splits co-mounted controllers and finds the cgroup2 line', () => {
    const text = '12:cpu,cpuacct:/a\n4:memory:/b/c\n1:name=systemd:/s\n0::/u\n';
    assert.deepEqual(parseProcCgroup(text), {
      v1: { cpu: '/a', cpuacct: '/a', memory: '/b/c', 'name=systemd': '/s' },
      v2: '/u',
    });
  });

  test('a pure v1 host has no cgroup2 line', () => {
    assert.equal(parseProcCgroup('3:pids:/\n').v2, null);
  });
});

test('joinCgroupPath', () => {
  assert.equal(joinCgroupPath('/', ['a', 'b']), '/a/b');
  assert.equal(joinCgroupPath('/x/y', ['z']), '/x/y/z');
  assert.equal(joinCgroupPath('/', []), '/');
});
