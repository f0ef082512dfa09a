// Device remapping: the upstream agent's update_spec_devices tests (ported
// from their described cases, with real /dev/null, /dev/zero, /dev/full
// numbers read from this machine), then our own cases for the parts where
// we define the behaviour (appended rules, errors, purity).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import {
  AmbiguousDevicePathError,
  ConflictingDeviceUpdateError,
  DeviceNotInSpecError,
  DeviceRemapError,
  DeviceTypeMismatchError,
  DuplicateDeviceUpdateError,
  FinalPathConflictError,
  InvalidDeviceUpdateError,
  InvalidSpecDevicesError,
  MissingLinuxSectionError,
  remapSpecDevices,
  splitDevT,
  type DeviceCgroupRule,
  type DeviceUpdate,
  type SpecDeviceEntry,
} from '../../../src/oci/devices/index.js';

/** What the agent learns from a guest device node: its type and rdev numbers. */
function guestUpdate(containerPath: string, vmPath: string, finalPath?: string): DeviceUpdate {
  const st = statSync(vmPath, { bigint: true });
  assert.ok(st.isCharacterDevice() || st.isBlockDevice(), `${vmPath} is a device node`);
  const { major, minor } = splitDevT(st.rdev);
  const u: DeviceUpdate = { containerPath, type: st.isBlockDevice() ? 'b' : 'c', major, minor };
  if (finalPath !== undefined) u.finalPath = finalPath;
  return u;
}
const NULL = guestUpdate('/x', '/dev/null');
const ZERO = guestUpdate('/x', '/dev/zero');
const FULL = guestUpdate('/x', '/dev/full');

interface TestSpec {
  ociVersion?: string;
  linux?: {
    devices?: SpecDeviceEntry[];
    resources?: { devices?: DeviceCgroupRule[]; memory?: { limit: number } };
    namespaces?: { type: string }[];
  };
}

/** Recursively freezes a value, so any mutation by the code under test throws. */
function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

const dev = (path: string, type: string, major: number, minor: number): SpecDeviceEntry => ({ path, type, major, minor });
const rule = (type: string | undefined, major: number | null | undefined, minor: number | null | undefined, access = 'rwm', allow = true): DeviceCgroupRule => {
  const r: DeviceCgroupRule = { allow };
  if (type !== undefined) r.type = type;
  if (major !== undefined) r.major = major;
  if (minor !== undefined) r.minor = minor;
  r.access = access;
  return r;
};

describe('upstream update_spec_devices cases', () => {
  test('test_update_spec_devices: error cases, then success with and without resources', () => {
    const update = guestUpdate('/dev/null', '/dev/null');
    assert.equal(update.type, 'c');

    // no linux section
    assert.throws(() => remapSpecDevices({} as TestSpec, [update]), MissingLinuxSectionError);
    // linux.devices does not contain the device
    assert.throws(() => remapSpecDevices({ linux: {} } as TestSpec, [update]), /not in linux\.devices: \/dev\/null/);
    // spec path differs from the update's path
    const other: TestSpec = { linux: { devices: [dev('/dev/null2', 'c', 7, 2)] } };
    assert.throws(() => remapSpecDevices(other, [update]), DeviceNotInSpecError);

    // path matches, no linux.resources
    const noRes: TestSpec = deepFreeze({ linux: { devices: [dev('/dev/null', 'c', 7, 2)] } });
    const out1 = remapSpecDevices(noRes, [update]);
    assert.deepEqual(out1.linux!.devices, [dev('/dev/null', 'c', NULL.major, NULL.minor)]);
    // (we create linux.resources for the allow rule; upstream drops it)
    assert.deepEqual(out1.linux!.resources!.devices, [rule('c', NULL.major, NULL.minor)]);

    // path matches, with a matching cgroup rule: both updated, nothing appended
    const withRule: TestSpec = deepFreeze({
      linux: { devices: [dev('/dev/null', 'c', 7, 2)], resources: { devices: [rule('c', 7, 2)] } },
    });
    const out2 = remapSpecDevices(withRule, [update]);
    assert.deepEqual(out2.linux!.devices, [dev('/dev/null', 'c', NULL.major, NULL.minor)]);
    assert.deepEqual(out2.linux!.resources!.devices, [rule('c', NULL.major, NULL.minor)]);
  });

  test('test_update_spec_devices_guest_host_conflict: a (null->zero) and b (zero->full), no double translation', () => {
    const spec: TestSpec = deepFreeze({
      linux: {
        devices: [dev('/dev/a', 'c', NULL.major, NULL.minor), dev('/dev/b', 'c', ZERO.major, ZERO.minor)],
        resources: { devices: [rule('c', NULL.major, NULL.minor), rule('c', ZERO.major, ZERO.minor)] },
      },
    });
    const updates = [guestUpdate('/dev/a', '/dev/zero'), guestUpdate('/dev/b', '/dev/full')];
    for (const order of [updates, [...updates].reverse()]) {
      const out = remapSpecDevices(spec, order);
      assert.deepEqual(out.linux!.devices, [dev('/dev/a', 'c', ZERO.major, ZERO.minor), dev('/dev/b', 'c', FULL.major, FULL.minor)]);
      assert.deepEqual(out.linux!.resources!.devices, [rule('c', ZERO.major, ZERO.minor), rule('c', FULL.major, FULL.minor)]);
    }
  });

  test('test_update_spec_devices_char_block_conflict: only the char rule follows the char device', () => {
    const spec: TestSpec = deepFreeze({
      linux: {
        devices: [dev('/dev/char', 'c', 99, 99), dev('/dev/block', 'b', 99, 99)],
        resources: { devices: [rule('c', 99, 99), rule('b', 99, 99)] },
      },
    });
    const out = remapSpecDevices(spec, [guestUpdate('/dev/char', '/dev/null')]);
    assert.deepEqual(out.linux!.resources!.devices, [rule('c', NULL.major, NULL.minor), rule('b', 99, 99)]);
    assert.deepEqual(out.linux!.devices![1], dev('/dev/block', 'b', 99, 99));
    assert.equal(out.linux!.resources!.devices![1], spec.linux!.resources!.devices![1], 'block rule untouched (same object)');
  });

  test('test_update_spec_devices_final_path: renamed, with the guest numbers', () => {
    const spec: TestSpec = deepFreeze({ linux: { devices: [dev('/dev/original', 'c', 99, 99)] } });
    const out = remapSpecDevices(spec, [guestUpdate('/dev/original', '/dev/null', '/dev/new')]);
    assert.deepEqual(out.linux!.devices, [dev('/dev/new', 'c', NULL.major, NULL.minor)]);
  });
});

describe('collisions', () => {
  test('a swap (a<->b) lands each device and rule on its own guest numbers', () => {
    const spec: TestSpec = deepFreeze({
      linux: {
        devices: [dev('/dev/a', 'c', 1, 1), dev('/dev/b', 'c', 2, 2)],
        resources: { devices: [rule('c', 2, 2, 'r'), rule('c', 1, 1, 'w', false)] },
      },
    });
    const out = remapSpecDevices(spec, [
      { containerPath: '/dev/a', type: 'c', major: 2, minor: 2 },
      { containerPath: '/dev/b', type: 'c', major: 1, minor: 1 },
    ]);
    assert.deepEqual(out.linux!.devices, [dev('/dev/a', 'c', 2, 2), dev('/dev/b', 'c', 1, 1)]);
    // The rule that named b (2:2, read-only) now names b's guest numbers 1:1, access kept.
    assert.deepEqual(out.linux!.resources!.devices, [rule('c', 1, 1, 'r'), rule('c', 2, 2, 'w', false)]);
  });

  test('a chain a->b->c rewrites each rule exactly once', () => {
    const spec: TestSpec = deepFreeze({
      linux: {
        devices: [dev('/dev/a', 'b', 8, 0), dev('/dev/b', 'b', 8, 16)],
        resources: { devices: [rule('b', 8, 0, 'rw'), rule('b', 8, 16, 'r')] },
      },
    });
    const out = remapSpecDevices(spec, [
      { containerPath: '/dev/b', type: 'b', major: 8, minor: 32 },
      { containerPath: '/dev/a', type: 'b', major: 8, minor: 16 },
    ]);
    assert.deepEqual(out.linux!.resources!.devices, [rule('b', 8, 16, 'rw'), rule('b', 8, 32, 'r')]);
  });

  test('every rule naming the device follows it; wildcard and type-a rules never move', () => {
    const spec: TestSpec = deepFreeze({
      linux: {
        devices: [dev('/dev/a', 'c', 1, 3)],
        resources: {
          devices: [
            rule(undefined, undefined, undefined, 'rwm', false), // deny all
            rule('a', 1, 3), // type a with numbers
            rule('c', 1, null), // wildcard minor
            rule('c', null, 3), // wildcard major
            rule('c', -1, 3), // -1, the runc wildcard
            rule('c', 1, 3, 'r'),
            rule('c', 1, 3, 'w', false),
          ],
        },
      },
    });
    const out = remapSpecDevices(spec, [{ containerPath: '/dev/a', type: 'c', major: 10, minor: 200 }]);
    const rules = out.linux!.resources!.devices!;
    for (let i = 0; i < 5; i++) assert.equal(rules[i], spec.linux!.resources!.devices![i], `rule ${i} untouched`);
    assert.deepEqual(rules.slice(5), [rule('c', 10, 200, 'r'), rule('c', 10, 200, 'w', false)]);
  });

  test('a "u" device entry is a char device for its rules', () => {
    const spec: TestSpec = { linux: { devices: [dev('/dev/u', 'u', 4, 64)], resources: { devices: [rule('c', 4, 64, 'rw')] } } };
    const out = remapSpecDevices(spec, [{ containerPath: '/dev/u', type: 'c', major: 4, minor: 65 }]);
    assert.deepEqual(out.linux!.devices, [dev('/dev/u', 'u', 4, 65)]);
    assert.deepEqual(out.linux!.resources!.devices, [rule('c', 4, 65, 'rw')]);
  });

  test('two paths for one original device are fine when they agree', () => {
    const spec: TestSpec = { linux: { devices: [dev('/dev/a', 'c', 5, 5), dev('/dev/a2', 'c', 5, 5)], resources: { devices: [rule('c', 5, 5)] } } };
    const out = remapSpecDevices(spec, [
      { containerPath: '/dev/a', type: 'c', major: 6, minor: 6 },
      { containerPath: '/dev/a2', type: 'c', major: 6, minor: 6 },
    ]);
    assert.deepEqual(out.linux!.resources!.devices, [rule('c', 6, 6)]);
  });
});

describe('appended allow rules', () => {
  test('only devices no rule names get one, in linux.devices order, once per guest device', () => {
    const spec: TestSpec = deepFreeze({
      linux: {
        devices: [
          dev('/dev/named', 'c', 1, 1),
          dev('/dev/wild', 'c', 1, 2),
          dev('/dev/denied', 'b', 8, 0),
          dev('/dev/x', 'c', 1, 4),
          dev('/dev/y', 'c', 1, 5),
        ],
        resources: {
          devices: [rule('c', 1, 1, 'r'), rule('c', 1, null), rule('a', null, null), rule('b', 8, 0, 'rw', false)],
          memory: { limit: 1 },
        },
      },
    });
    const out = remapSpecDevices(spec, [
      { containerPath: '/dev/y', type: 'c', major: 9, minor: 9 },
      { containerPath: '/dev/x', type: 'c', major: 9, minor: 9 }, // same guest device as /dev/y
      { containerPath: '/dev/denied', type: 'b', major: 254, minor: 0 },
      { containerPath: '/dev/wild', type: 'c', major: 7, minor: 7 },
      { containerPath: '/dev/named', type: 'c', major: 3, minor: 3 },
    ]);
    assert.deepEqual(out.linux!.resources!.devices, [
      rule('c', 3, 3, 'r'), // not widened to rwm
      rule('c', 1, null),
      rule('a', null, null),
      rule('b', 254, 0, 'rw', false), // the explicit deny stays in charge
      rule('c', 7, 7), // /dev/wild: only a wildcard covered it
      rule('c', 9, 9), // /dev/x and /dev/y: one rule
    ]);
    assert.deepEqual(out.linux!.resources!.memory, { limit: 1 }, 'other resources kept');
  });

  test('linux.resources and its devices list are created when missing', () => {
    const spec: TestSpec = { linux: { devices: [dev('/dev/a', 'c', 1, 1)], resources: { memory: { limit: 5 } } } };
    const out = remapSpecDevices(spec, [{ containerPath: '/dev/a', type: 'c', major: 2, minor: 2 }]);
    assert.deepEqual(out.linux!.resources, { memory: { limit: 5 }, devices: [rule('c', 2, 2)] });
  });
});

describe('errors', () => {
  const base: TestSpec = deepFreeze({
    linux: { devices: [dev('/dev/a', 'c', 1, 1), dev('/dev/b', 'c', 1, 1), dev('/dev/blk', 'b', 8, 0)] },
  });
  const up = (containerPath: string, major: number, minor: number, type: 'b' | 'c' = 'c'): DeviceUpdate => ({ containerPath, type, major, minor });

  test('two updates for one path', () => {
    assert.throws(() => remapSpecDevices(base, [up('/dev/a', 2, 2), up('/dev/a', 2, 2)]), (e: unknown) => e instanceof DuplicateDeviceUpdateError && /\/dev\/a/.test(e.message));
  });

  test('same original device, different guest numbers: names both paths and all numbers', () => {
    assert.throws(
      () => remapSpecDevices(base, [up('/dev/b', 3, 3), up('/dev/a', 2, 2)]),
      (e: unknown) =>
        e instanceof ConflictingDeviceUpdateError &&
        e.message === 'conflicting updates for original device c 1:1: /dev/a -> c 2:2 but /dev/b -> c 3:3',
    );
  });

  test('update type disagrees with the entry', () => {
    assert.throws(() => remapSpecDevices(base, [up('/dev/blk', 8, 1, 'c')]), (e: unknown) => e instanceof DeviceTypeMismatchError && /\/dev\/blk.*"b".*c/.test(e.message));
    const fifo: TestSpec = { linux: { devices: [dev('/dev/p', 'p', 0, 0)] } };
    assert.throws(() => remapSpecDevices(fifo, [up('/dev/p', 1, 1)]), DeviceTypeMismatchError);
  });

  test('an updated path listed twice in linux.devices', () => {
    const twice: TestSpec = { linux: { devices: [dev('/dev/a', 'c', 1, 1), dev('/dev/a', 'c', 1, 2)] } };
    assert.throws(() => remapSpecDevices(twice, [up('/dev/a', 2, 2)]), AmbiguousDevicePathError);
  });

  test('renames that leave two different devices at one path', () => {
    assert.throws(
      () => remapSpecDevices(base, [{ ...up('/dev/blk', 8, 1, 'b'), finalPath: '/dev/a' }]),
      (e: unknown) => e instanceof FinalPathConflictError && /\/dev\/a would name two different devices: c 1:1 \(\/dev\/a\) and b 8:1 \(was \/dev\/blk\)/.test(e.message),
    );
    // Two renames onto one path with identical results are allowed.
    const out = remapSpecDevices(base, [
      { ...up('/dev/a', 5, 5), finalPath: '/dev/vfio/5' },
      { ...up('/dev/b', 5, 5), finalPath: '/dev/vfio/5' },
    ]);
    assert.deepEqual(out.linux!.devices!.slice(0, 2), [dev('/dev/vfio/5', 'c', 5, 5), dev('/dev/vfio/5', 'c', 5, 5)]);
    // Renaming away and onto (a swap of paths) is fine.
    const swapped = remapSpecDevices(base, [
      { ...up('/dev/a', 1, 1), finalPath: '/dev/blk' },
      { ...up('/dev/blk', 8, 0, 'b'), finalPath: '/dev/a' },
    ]);
    assert.deepEqual(swapped.linux!.devices!.map((d) => d.path), ['/dev/blk', '/dev/b', '/dev/a']);
  });

  test('updated spec entries need integer numbers', () => {
    const bad = { linux: { devices: [{ path: '/dev/a', type: 'c' }] } } as TestSpec;
    assert.throws(() => remapSpecDevices(bad, [up('/dev/a', 1, 1)]), (e: unknown) => e instanceof InvalidSpecDevicesError && /\/dev\/a/.test(e.message));
    const notArray = { linux: { devices: {} } } as unknown as TestSpec;
    assert.throws(() => remapSpecDevices(notArray, [up('/dev/a', 1, 1)]), /linux\.devices must be an array/);
  });

  test('update fields are validated, naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [{ containerPath: 'dev/a', type: 'c', major: 1, minor: 1 }, /#1: containerPath must be an absolute path/],
      [{ containerPath: '/dev/a', type: 'u', major: 1, minor: 1 }, /type must be "b" or "c", got "u" \(for \/dev\/a\)/],
      [{ containerPath: '/dev/a', type: 'c', major: -1, minor: 1 }, /major must be an integer/],
      [{ containerPath: '/dev/a', type: 'c', major: 1, minor: 1.5 }, /minor must be an integer/],
      [{ containerPath: '/dev/a', type: 'c', major: 1, minor: 2 ** 32 }, /minor must be an integer in 0\.\.4294967295/],
      [{ containerPath: '/dev/a', type: 'c', major: '1', minor: 1 }, /major/],
      [{ containerPath: '/dev/a', type: 'c', major: 1, minor: 1, finalPath: 'x' }, /finalPath must be an absolute path/],
      [null, /must be an object/],
    ];
    for (const [u, re] of cases) {
      assert.throws(() => remapSpecDevices(base, [u as DeviceUpdate]), (e: unknown) => e instanceof InvalidDeviceUpdateError && re.test(e.message), String(re));
    }
  });

  test('every error is a DeviceRemapError and leaves the (frozen) input as it was', () => {
    const before = JSON.stringify(base);
    for (const updates of [[up('/dev/zz', 1, 1)], [up('/dev/a', 2, 2), up('/dev/b', 3, 3)]]) {
      assert.throws(() => remapSpecDevices(base, updates), DeviceRemapError);
    }
    assert.equal(JSON.stringify(base), before);
  });
});

describe('purity and pass-through', () => {
  test('no updates returns the spec itself, even without linux', () => {
    const s: TestSpec = { ociVersion: '1.0.2' };
    assert.equal(remapSpecDevices(s, []), s);
  });

  test('fields outside devices pass through; untouched entries are the same objects', () => {
    const spec: TestSpec = deepFreeze({
      ociVersion: '1.0.2',
      linux: {
        namespaces: [{ type: 'mount' }],
        devices: [dev('/dev/a', 'c', 1, 1), dev('/dev/b', 'c', 2, 2)],
        resources: { devices: [rule('c', 1, 1), rule('c', 2, 2)], memory: { limit: 7 } },
      },
    });
    const out: TestSpec = remapSpecDevices(spec, [{ containerPath: '/dev/a', type: 'c', major: 3, minor: 3 }]);
    assert.equal(out.ociVersion, '1.0.2');
    assert.equal(out.linux!.namespaces, spec.linux!.namespaces);
    assert.equal(out.linux!.devices![1], spec.linux!.devices![1]);
    assert.equal(out.linux!.resources!.devices![1], spec.linux!.resources!.devices![1]);
    assert.equal(out.linux!.resources!.memory, spec.linux!.resources!.memory);
    assert.notEqual(out, spec);
  });

  test('extra fields of a changed entry are kept, in their original key order', () => {
    const entry = { path: '/dev/a', type: 'c', major: 1, minor: 1, fileMode: 0o666, uid: 0, gid: 0 };
    const out = remapSpecDevices({ linux: { devices: [entry] } }, [{ containerPath: '/dev/a', type: 'c', major: 9, minor: 8 }]);
    assert.equal(
      JSON.stringify(out.linux.devices[0]),
      JSON.stringify({ path: '/dev/a', type: 'c', major: 9, minor: 8, fileMode: 0o666, uid: 0, gid: 0 }),
    );
  });
});
