// PCIDEVICE_* environment rewriting. Cases follow upstream device/mod.rs
// test_update_env_pci and its three edge cases; the rest pin down the
// all-or-nothing and no-double-translation rules.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ConflictingPciMappingError,
  makePciHostGuestMap,
  MalformedEnvEntryError,
  PciParseError,
  rewritePciDeviceEnv,
  withPciDeviceEnv,
} from '../../../src/oci/pci/index.js';

const exampleMap = makePciHostGuestMap([
  ['0000:1a:01.0', '0000:01:01.0'],
  ['0000:1b:02.0', '0000:01:02.0'],
  // Same host address as a guest address above: must not be applied twice.
  ['0000:01:01.0', 'ffff:02:1f.7'],
]);

describe('rewritePciDeviceEnv', () => {
  test('test_update_env_pci: base, _INFO, no double translation, unrelated names', () => {
    const infoBefore =
      'PCIDEVICE_x_INFO={"0000:1a:01.0":{"generic":{"deviceID":"0000:1a:01.0"}},"0000:1b:02.0":{"generic":{"deviceID":"0000:1b:02.0"}}}';
    const infoAfter =
      'PCIDEVICE_x_INFO={"0000:01:01.0":{"generic":{"deviceID":"0000:01:01.0"}},"0000:01:02.0":{"generic":{"deviceID":"0000:01:02.0"}}}';
    const env = [
      'PCIDEVICE_x=0000:1a:01.0,0000:1b:02.0',
      infoBefore,
      'PCIDEVICE_y=0000:01:01.0',
      'NOTAPCIDEVICE_blah=abcd:ef:01.0',
    ];
    const copy = [...env];
    const out = rewritePciDeviceEnv(env, exampleMap);
    assert.deepEqual(out, [
      'PCIDEVICE_x=0000:01:01.0,0000:01:02.0',
      infoAfter,
      'PCIDEVICE_y=ffff:02:1f.7',
      'NOTAPCIDEVICE_blah=abcd:ef:01.0',
    ]);
    assert.deepEqual(env, copy, 'input not modified');
  });

  test('_INFO replacements are single-pass even when a guest address is another host address', () => {
    // x lists both 1a:01.0 (-> 01:01.0) and 01:01.0 (-> ffff:02:1f.7).
    // Replacing one after the other would turn 1a:01.0 into ffff:02:1f.7.
    const out = rewritePciDeviceEnv(
      ['PCIDEVICE_x=0000:1a:01.0,0000:01:01.0', 'PCIDEVICE_x_INFO=0000:1a:01.0 0000:01:01.0'],
      exampleMap,
    );
    assert.deepEqual(out, ['PCIDEVICE_x=0000:01:01.0,ffff:02:1f.7', 'PCIDEVICE_x_INFO=0000:01:01.0 ffff:02:1f.7']);
  });

  test('test_update_env_pci_non_pci_addresses: a sub-function name leaves the variable and its _INFO alone', () => {
    const map = makePciHostGuestMap([['0000:1a:01.0', '0000:01:01.0']]);
    const env = [
      'PCIDEVICE_NVIDIA_COM_BF_SF=mlx5_core.sf.10',
      'PCIDEVICE_NVIDIA_COM_BF_SF_INFO={"mlx5_core.sf.10":{}}',
      'PCIDEVICE_REAL=0000:1a:01.0',
    ];
    assert.deepEqual(rewritePciDeviceEnv(env, map), [env[0], env[1], 'PCIDEVICE_REAL=0000:01:01.0']);
  });

  test('a variable mixing an address and a non-address is left whole, with its _INFO', () => {
    const env = ['PCIDEVICE_m=0000:1a:01.0,mlx5_core.sf.10', 'PCIDEVICE_m_INFO={"0000:1a:01.0":{}}'];
    assert.deepEqual(rewritePciDeviceEnv(env, exampleMap), env);
  });

  test('test_update_env_pci_missing_cid_in_pcimap: no map leaves everything alone', () => {
    const env = ['PCIDEVICE_x=0000:1a:01.0', 'PCIDEVICE_x_INFO={"0000:1a:01.0":{}}'];
    const out = rewritePciDeviceEnv(env, undefined);
    assert.deepEqual(out, env);
    assert.notEqual(out, env, 'a new list');
  });

  test('test_update_env_pci_unknown_host_bdf: one unknown address leaves both variables alone', () => {
    const map = makePciHostGuestMap([['0000:1a:01.0', '0000:01:01.0']]);
    const env = ['PCIDEVICE_x=0000:1a:01.0,0000:99:00.0', 'PCIDEVICE_x_INFO={"0000:1a:01.0":{},"0000:99:00.0":{}}'];
    assert.deepEqual(rewritePciDeviceEnv(env, map), env);
  });

  test('an _INFO without a translated base is left alone', () => {
    const env = ['PCIDEVICE_orphan_INFO={"0000:1a:01.0":{}}'];
    assert.deepEqual(rewritePciDeviceEnv(env, exampleMap), env);
  });

  test('an _INFO follows only its own base variable', () => {
    const env = ['PCIDEVICE_a=0000:1a:01.0', 'PCIDEVICE_b_INFO={"0000:1a:01.0":{}}', 'PCIDEVICE_b=mlx5_core.sf.1'];
    assert.deepEqual(rewritePciDeviceEnv(env, exampleMap), ['PCIDEVICE_a=0000:01:01.0', env[1], env[2]]);
  });

  test('upper-case host addresses are found and printed canonically', () => {
    const env = ['PCIDEVICE_u=0000:1A:01.0', 'PCIDEVICE_u_INFO={"0000:1A:01.0":{}}'];
    assert.deepEqual(rewritePciDeviceEnv(env, exampleMap), ['PCIDEVICE_u=0000:01:01.0', 'PCIDEVICE_u_INFO={"0000:01:01.0":{}}']);
  });

  test('values containing "=" keep everything after the first "="', () => {
    assert.deepEqual(rewritePciDeviceEnv(['A=b=c', 'PCIDEVICE_e='], exampleMap), ['A=b=c', 'PCIDEVICE_e=']);
  });

  test('an entry without "=" is an error naming its index', () => {
    assert.throws(
      () => rewritePciDeviceEnv(['A=1', 'BROKEN'], exampleMap),
      (err: unknown) => err instanceof MalformedEnvEntryError && err.index === 1 && /process\.env\[1\] "BROKEN"/.test(err.message),
    );
  });

  test('property: a base variable is translated entirely or not at all, never twice', () => {
    const addrs = ['0000:1a:01.0', '0000:1b:02.0', '0000:01:01.0', '0000:01:02.0', 'ffff:02:1f.7', '0000:99:00.0'];
    const token = fc.oneof(fc.constantFrom(...addrs), fc.constant('mlx5_core.sf.10'));
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 4 }), (tokens) => {
        const [out] = rewritePciDeviceEnv([`PCIDEVICE_p=${tokens.join(',')}`], exampleMap);
        const expected = tokens.every((t) => exampleMap.has(t))
          ? tokens.map((t) => exampleMap.get(t)!).join(',')
          : tokens.join(',');
        assert.equal(out, `PCIDEVICE_p=${expected}`);
      }),
    );
  });
});

describe('makePciHostGuestMap', () => {
  test('canonicalises and refuses conflicting guests', () => {
    const m = makePciHostGuestMap([['0000:1A:01.0', 'FFFF:02:1F.7']]);
    assert.equal(m.get('0000:1a:01.0'), 'ffff:02:1f.7');
    assert.doesNotThrow(() => makePciHostGuestMap([['0000:1a:01.0', '0000:01:01.0'], ['0000:1a:01.0', '0000:01:01.0']]));
    assert.throws(
      () => makePciHostGuestMap([['0000:1a:01.0', '0000:01:01.0'], ['0000:1a:01.0', '0000:01:02.0']]),
      ConflictingPciMappingError,
    );
    assert.throws(() => makePciHostGuestMap([['nope', '0000:01:01.0']]), PciParseError);
  });
});

describe('withPciDeviceEnv', () => {
  test('writes the result into process.env of a new spec, leaving the rest shared', () => {
    const spec = {
      ociVersion: '1.0.2',
      process: { cwd: '/', env: ['PATH=/bin', 'PCIDEVICE_x=0000:1a:01.0'] },
      linux: { devices: [] as unknown[] },
    };
    const before = JSON.stringify(spec);
    const out = withPciDeviceEnv(spec, exampleMap);
    assert.deepEqual(out.process.env, ['PATH=/bin', 'PCIDEVICE_x=0000:01:01.0']);
    assert.equal(out.process.cwd, '/');
    assert.equal(out.linux, spec.linux, 'other sections shared');
    assert.equal(JSON.stringify(spec), before, 'input not modified');
  });

  test('returns the spec itself when nothing changes or there is no env', () => {
    // A wider spec type, as the full Spec model will be.
    interface EnvSpec {
      hostname?: string;
      process?: { cwd?: string; env?: string[] };
    }
    const noEnv: EnvSpec = { process: { cwd: '/' } };
    assert.equal(withPciDeviceEnv(noEnv, exampleMap), noEnv);
    const noProcess: EnvSpec = { hostname: 'h' };
    assert.equal(withPciDeviceEnv(noProcess, exampleMap), noProcess);
    const plain = { process: { env: ['A=1'] } };
    assert.equal(withPciDeviceEnv(plain, exampleMap), plain);
  });
});
