import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcess, parseResources, parseSpec, SpecValidationError } from '../../src/oci/spec.js';
import { formatPath } from '../../src/oci/validation-error.js';

/** Parses `json`, expecting failure; returns the problems as sorted "path: message" lines. */
function problems(json: unknown, parse: (j: unknown) => unknown = parseSpec): string[] {
  try {
    parse(json);
  } catch (err) {
    assert.ok(err instanceof SpecValidationError, `expected SpecValidationError, got ${String(err)}`);
    return err.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).sort();
  }
  assert.fail('expected the spec to be rejected');
}

/** Compares problem lists regardless of order (zod does not promise one). */
function sameProblems(actual: string[], expected: string[]): void {
  assert.deepStrictEqual(actual, [...expected].sort());
}

const device = (over: Record<string, unknown>) => ({ path: '/dev/x', type: 'c', major: 1, minor: 1, ...over });

describe('parseSpec: errors name the JSON path of each bad field', () => {
  test('wrong type of major in the third device', () => {
    const spec = { ociVersion: '1.2.0', linux: { devices: [device({}), device({}), device({ major: '8' })] } };
    sameProblems(problems(spec), ['linux.devices[2].major: expected integer, received string']);
  });

  test('the error message lists every problem with its path', () => {
    const spec = { ociVersion: '1.2.0', linux: { devices: [device({ major: 1.5 }), device({ type: 'x' })] } };
    assert.throws(() => parseSpec(spec), (err: unknown) => {
      assert.ok(err instanceof SpecValidationError);
      assert.match(err.message, /^invalid OCI runtime spec: /);
      assert.ok(err.message.includes('linux.devices[0].major: expected integer, received number 1.5'), err.message);
      assert.ok(err.message.includes('linux.devices[1].type: expected one of "c", "b", "u", "p", received "x"'), err.message);
      return true;
    });
  });

  test('bad device types, in linux.devices and in cgroup rules', () => {
    const spec = {
      ociVersion: '1.2.0',
      linux: {
        devices: [device({ type: 'a' })],
        resources: { devices: [{ allow: true, type: 'p' }, { allow: false, type: 'a', access: 'rwx' }] },
      },
    };
    sameProblems(problems(spec), [
      'linux.devices[0].type: expected one of "c", "b", "u", "p", received "a"',
      'linux.resources.devices[0].type: expected one of "a", "c", "b", received "p"',
      'linux.resources.devices[1].access: expected a combination of "r", "w" and "m"',
    ]);
  });

  test('missing required fields are reported as "required"', () => {
    const spec = {
      process: { user: { uid: 0 }, rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1 }] },
      root: {},
      mounts: [{ type: 'proc' }],
      hooks: { poststop: [{ args: [] }] },
      linux: { resources: { devices: [{ access: 'r' }], pids: {} }, seccomp: { syscalls: [{ names: ['read'] }] } },
    };
    sameProblems(problems(spec), [
      'ociVersion: required',
      'process.user.gid: required',
      'process.rlimits[0].soft: required',
      'process.cwd: required',
      'root.path: required',
      'mounts[0].destination: required',
      'hooks.poststop[0].path: required',
      'linux.resources.devices[0].allow: required',
      'linux.resources.pids.limit: required',
      'linux.seccomp.defaultAction: required',
      'linux.seccomp.syscalls[0].action: required',
    ]);
  });

  test('device numbers are required except for FIFOs', () => {
    const spec = {
      ociVersion: '1.2.0',
      linux: { devices: [{ path: '/dev/fifo', type: 'p' }, { path: '/dev/sda', type: 'b', minor: 0 }] },
    };
    sameProblems(problems(spec), ['linux.devices[1].major: required for device type "b"']);
  });

  test('nested arrays: errors inside seccomp syscall args and blockIO device lists', () => {
    const spec = {
      ociVersion: '1.2.0',
      linux: {
        seccomp: {
          defaultAction: 'SCMP_ACT_ERRNO',
          syscalls: [
            { names: ['read'], action: 'SCMP_ACT_ALLOW' },
            { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: -1, value: 'x', op: 3 }] },
            { names: [], action: 'SCMP_ACT_ALLOW' },
          ],
        },
        resources: { blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 10 }, { major: 8, minor: 16, rate: -5 }] } },
      },
    };
    sameProblems(problems(spec), [
      'linux.resources.blockIO.throttleReadBpsDevice[1].rate: expected integer between 0 and 18446744073709551615, received -5',
      'linux.seccomp.syscalls[1].args[1].index: expected integer between 0 and 4294967295, received -1',
      'linux.seccomp.syscalls[1].args[1].value: expected integer, received string',
      'linux.seccomp.syscalls[1].args[1].op: expected string, received integer 3',
      'linux.seccomp.syscalls[2].names: expected at least 1 item(s)',
    ]);
  });

  test('map keys that are not identifiers are quoted in the path', () => {
    const spec = { ociVersion: '1', annotations: { 'io.kubernetes.cri.sandbox-id': 7 }, linux: { sysctl: { 'net.ipv4.ip_forward': true } } };
    sameProblems(problems(spec), [
      'annotations["io.kubernetes.cri.sandbox-id"]: expected string, received integer 7',
      'linux.sysctl["net.ipv4.ip_forward"]: expected string, received boolean',
    ]);
  });

  test('wrong container types', () => {
    sameProblems(problems(null), ['expected object, received null']);
    sameProblems(problems([]), ['expected object, received array']);
    sameProblems(problems({ ociVersion: '1', mounts: {} }), ['mounts: expected array, received object']);
    sameProblems(problems({ ociVersion: '1', process: { cwd: '/', args: 'sh' } }), [
      'process.args: expected array, received string',
    ]);
  });

  test('integer ranges: uid, hook timeout, oomScoreAdj, device numbers', () => {
    const spec = {
      ociVersion: '1',
      process: { cwd: '/', user: { uid: 4294967296, gid: 0 }, oomScoreAdj: 1.5 },
      hooks: { prestart: [{ path: '/bin/true', timeout: 0 }] },
      linux: { resources: { devices: [{ allow: true, major: -1 }] } },
    };
    sameProblems(problems(spec), [
      'process.user.uid: expected integer between 0 and 4294967295, received 4294967296',
      'process.oomScoreAdj: expected integer, received number 1.5',
      'hooks.prestart[0].timeout: expected integer between 1 and 9007199254740991, received 0',
      'linux.resources.devices[0].major: expected integer between 0 and 9007199254740991, received -1',
    ]);
  });

  test('parseProcess and parseResources report paths under a prefix', () => {
    sameProblems(problems({ cwd: 1 }, (j) => parseProcess(j, { pathPrefix: 'process' })), [
      'process.cwd: expected string, received integer 1',
    ]);
    sameProblems(problems({ memory: { limit: 'x' } }, (j) => parseResources(j)), [
      'memory.limit: expected integer, received string',
    ]);
  });
});

describe('parseSpec: accepted input', () => {
  test('unknown fields are preserved at every level', () => {
    const spec = {
      ociVersion: '1.2.0',
      vendorTopLevel: { anything: [1, 'two', null] },
      process: { cwd: '/', user: { uid: 0, gid: 0, extraUserField: true }, futureField: 42 },
      root: { path: 'rootfs', rootExtra: 'x' },
      mounts: [{ destination: '/a', mountExtra: { deep: { deeper: 1 } } }],
      windows: { layerFolders: ['C:\\layers'] },
      linux: {
        memoryPolicy: { mode: 'MPOL_BIND', nodes: '0-1' },
        netDevices: { eth1: { name: 'ctr1' } },
        resources: { devices: [{ allow: true, ruleExtra: 'y' }], memory: { limit: 10, memExtra: 1 } },
        seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_LOG', scExtra: [] }] },
        intelRdt: { schemata: ['L3:0=ff'] },
      },
    };
    const input = structuredClone(spec);
    const parsed = parseSpec(spec);
    assert.deepStrictEqual(parsed, input);
    // The input is not modified.
    assert.deepStrictEqual(spec, input);
  });

  test('cgroup rule major/minor may be null, absent or a number', () => {
    const spec = {
      ociVersion: '1.2.0',
      linux: {
        resources: {
          devices: [
            { allow: false, type: 'a', major: null, minor: null, access: 'rwm' },
            { allow: true, type: 'c', major: 136, access: 'rwm' },
            { allow: true, type: 'b', major: 8, minor: 0, access: '' },
          ],
        },
      },
    };
    assert.deepStrictEqual(parseSpec(spec), spec);
  });

  test('a FIFO device needs no device numbers', () => {
    const spec = { ociVersion: '1.2.0', linux: { devices: [{ path: '/dev/fifo', type: 'p', fileMode: 4480 }] } };
    assert.deepStrictEqual(parseSpec(spec), spec);
  });

  test('64-bit values beyond 2^53 become exact bigints; u64 max survives JSON.parse rounding', () => {
    // 18446744073709551615 parses to the double 2^64, one more than the
    // maximum; it is read as the maximum.
    const json = JSON.parse(
      '{"ociVersion":"1","process":{"cwd":"/","rlimits":[{"type":"RLIMIT_MEMLOCK","hard":18446744073709551615,"soft":9007199254740993}]},' +
        '"linux":{"resources":{"memory":{"limit":-1,"swap":9223372036854775807}}}}',
    );
    const spec = parseSpec(json);
    assert.equal(spec.process?.rlimits?.[0]?.hard, 18446744073709551615n);
    // 9007199254740993 is not a double: JSON.parse rounds it to ...992, which is past the safe range.
    assert.equal(spec.process?.rlimits?.[0]?.soft, 9007199254740992n);
    assert.equal(spec.linux?.resources?.memory?.limit, -1);
    assert.equal(spec.linux?.resources?.memory?.swap, 9223372036854775807n);
  });

  test('bigints are accepted as input and range-checked', () => {
    const ok = { ociVersion: '1', linux: { resources: { pids: { limit: 5n } } } };
    assert.equal(parseSpec(ok).linux?.resources?.pids?.limit, 5, 'safe bigints become numbers');
    sameProblems(problems({ ociVersion: '1', linux: { resources: { pids: { limit: 2n ** 63n } } } }), [
      'linux.resources.pids.limit: expected integer between -9223372036854775808 and 9223372036854775807, received 9223372036854775808',
    ]);
  });
});

describe('formatPath', () => {
  test('identifiers, indices and quoted keys', () => {
    assert.equal(formatPath(['linux', 'devices', 2, 'major']), 'linux.devices[2].major');
    assert.equal(formatPath([0, 'a']), '[0].a');
    assert.equal(formatPath(['annotations', 'a.b/c']), 'annotations["a.b/c"]');
    assert.equal(formatPath(['cwd'], 'process'), 'process.cwd');
    assert.equal(formatPath([], 'process'), 'process');
  });
});
