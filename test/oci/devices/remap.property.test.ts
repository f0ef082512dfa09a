// Property tests for device remapping over tiny number spaces (majors and
// minors 0..3, a handful of paths, b/c/u devices), so that collisions,
// chains (a->b, b->c), cycles (a->b, b->a) and char/block clashes are the
// common case, not the exception.
//
// The checker below states the invariants directly against the ORIGINAL
// spec; it is then used both on our algorithm (must always pass) and on the
// naive one-at-a-time algorithm (must be caught failing).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { naiveRemapSpecDevices } from '../../../bench/device-remap/naive-remap.js';
import {
  ConflictingDeviceUpdateError,
  deviceKey,
  DeviceRemapError,
  FinalPathConflictError,
  remapSpecDevices,
  type DeviceCgroupRule,
  type DeviceUpdate,
  type SpecDeviceEntry,
} from '../../../src/oci/devices/index.js';

interface GenSpec {
  ociVersion: string;
  process?: { env: string[] };
  linux: {
    devices?: SpecDeviceEntry[];
    resources?: { devices?: DeviceCgroupRule[]; pids?: { limit: number } };
    sysctl?: Record<string, string>;
  };
}
interface Case {
  spec: GenSpec;
  updates: DeviceUpdate[];
}

const PATHS = ['/dev/a', '/dev/b', '/dev/c', '/dev/d', '/dev/e'];
// Mostly fresh paths; '/dev/a' makes a rename land on an existing device now and then.
const FINAL_PATHS = ['/dev/vfio/1', '/dev/vfio/2', '/dev/vfio/3', '/dev/a'];
const num = fc.integer({ min: 0, max: 3 });

const deviceArb = (path: string) =>
  fc.record({ path: fc.constant(path), type: fc.constantFrom('b', 'c', 'c', 'u'), major: num, minor: num });

const ruleArb: fc.Arbitrary<DeviceCgroupRule> = fc.record(
  {
    allow: fc.boolean(),
    type: fc.constantFrom('a', 'b', 'c', 'b', 'c'),
    major: fc.oneof({ weight: 4, arbitrary: num }, { weight: 1, arbitrary: fc.constant(null) }),
    minor: fc.oneof({ weight: 4, arbitrary: num }, { weight: 1, arbitrary: fc.constant(null) }),
    access: fc.constantFrom('r', 'rw', 'rwm', 'm'),
  },
  { requiredKeys: ['allow'] },
);

/** `arb` with weight `yes`, undefined with weight `no`. */
const sometimes = <T>(yes: number, no: number, arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: no, arbitrary: fc.constant(undefined) }, { weight: yes, arbitrary: arb });

const classOf = (type: string): 'b' | 'c' => (type === 'b' ? 'b' : 'c');

/** linux.resources as generated: rules maybe absent, pids maybe present. */
function makeSpec(devices: SpecDeviceEntry[], rules: DeviceCgroupRule[] | undefined, withPids: boolean): GenSpec {
  const resources: NonNullable<GenSpec['linux']['resources']> = {};
  if (rules !== undefined) resources.devices = rules;
  if (withPids) resources.pids = { limit: 10 };
  const linux: GenSpec['linux'] = { sysctl: { 'net.ipv4.ip_forward': '1' }, devices };
  if (rules !== undefined || withPids) linux.resources = resources;
  return { ociVersion: '1.0.2', process: { env: ['A=1'] }, linux };
}

/**
 * A spec and updates (one per chosen device, types matching its entry).
 * Guest numbers are drawn per ORIGINAL (class, major, minor), from the same
 * tiny space as the host numbers, so devices sharing original numbers
 * usually agree (no conflict error) while guest numbers keep landing on
 * other devices' host numbers. About one device in ten gets its own draw
 * instead, which produces the conflict error now and then.
 */
const caseArb: fc.Arbitrary<Case> = fc
  .shuffledSubarray(PATHS, { minLength: 2 })
  .chain((paths) =>
    fc.record({
      devices: fc.tuple(...paths.map(deviceArb)),
      rules: fc.option(fc.array(ruleArb, { maxLength: 8 }), { nil: undefined, freq: 8 }),
      withPids: fc.boolean(),
      chosen: fc.subarray(paths.map((_, i) => i), { minLength: 2 }),
      guestTable: fc.array(fc.tuple(num, num), { minLength: 32, maxLength: 32 }),
      overrides: fc.array(sometimes(1, 9, fc.tuple(num, num)), {
        minLength: paths.length,
        maxLength: paths.length,
      }),
      finalPaths: fc.array(sometimes(1, 7, fc.constantFrom(...FINAL_PATHS)), {
        minLength: paths.length,
        maxLength: paths.length,
      }),
      order: fc.array(fc.nat(), { minLength: paths.length, maxLength: paths.length }),
      rotate: fc.constantFrom('no', 'cycle', 'chain'),
    }),
  )
  .map(({ devices, rules, withPids, chosen, guestTable: drawnTable, overrides, finalPaths, order, rotate }) => {
    const guestTable = drawnTable.map(([ma, mi]) => [ma, mi] as [number, number]); // never mutate a generated value
    const tableIndex = (cls: 'b' | 'c', major: number, minor: number) => (cls === 'b' ? 0 : 16) + major * 4 + minor;
    if (rotate !== 'no') {
      // Send each chosen device's original numbers to the next one's (per
      // class): a cycle a->b->...->a, or with 'chain' a->b->...->fresh.
      for (const cls of ['b', 'c'] as const) {
        const originals = [
          ...new Set(chosen.map((i) => devices[i]!).filter((d) => classOf(d.type) === cls).map((d) => tableIndex(cls, d.major, d.minor))),
        ];
        const targets = originals.map((t) => guestTable[t]!);
        originals.forEach((t, k) => {
          const next = originals[(k + 1) % originals.length]!;
          if (rotate === 'cycle' || k + 1 < originals.length) guestTable[t] = [Math.floor((next % 16) / 4), next % 4];
          else guestTable[t] = targets[k]!;
        });
      }
    }
    const updates = chosen.map((i) => {
      const d = devices[i]!;
      const cls = classOf(d.type);
      const [major, minor] = overrides[i] ?? guestTable[tableIndex(cls, d.major, d.minor)]!;
      const u: DeviceUpdate = { containerPath: d.path, type: cls, major, minor };
      if (finalPaths[i] !== undefined) u.finalPath = finalPaths[i];
      return u;
    });
    // Present the updates in a random order, unrelated to linux.devices order.
    const shuffled = updates
      .map((u, i) => [order[i]!, u] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, u]) => u);
    return { spec: makeSpec(devices, rules, withPids), updates: shuffled };
  });

/**
 * Cases with no collision of any kind: distinct host numbers (majors 0..4),
 * distinct guest numbers (majors 10..14), no renames, updates in
 * linux.devices order. Used to check the naive baseline is otherwise ours.
 */
const noCollisionCaseArb: fc.Arbitrary<Case> = fc
  .shuffledSubarray(PATHS, { minLength: 1 })
  .chain((paths) =>
    fc.record({
      devices: fc.tuple(
        ...paths.map((path, i) =>
          fc.record({ path: fc.constant(path), type: fc.constantFrom('b', 'c', 'u'), major: fc.constant(i), minor: num }),
        ),
      ),
      rules: fc.option(fc.array(ruleArb, { maxLength: 8 }), { nil: undefined }),
      chosen: fc.subarray(paths.map((_, i) => i), { minLength: 1 }),
      guestMinors: fc.array(num, { minLength: paths.length, maxLength: paths.length }),
    }),
  )
  .map(({ devices, rules, chosen, guestMinors }) => ({
    spec: makeSpec(devices, rules, false),
    updates: chosen.map((i) => ({ containerPath: devices[i]!.path, type: classOf(devices[i]!.type), major: 10 + i, minor: guestMinors[i]! })),
  }));

const key = (type: string, major: unknown, minor: unknown) => `${type}:${major}:${minor}`;
const json = (v: unknown) => JSON.stringify(v);

/** The error the input must cause, or undefined if it must succeed. Stated from first principles. */
function expectedError(c: Case): (new (...a: never[]) => DeviceRemapError) | undefined {
  const devices = c.spec.linux.devices ?? [];
  const upd = (d: SpecDeviceEntry) => c.updates.find((u) => u.containerPath === d.path);
  const updated = devices.filter((d) => upd(d));
  for (const x of updated) {
    for (const y of updated) {
      const [ux, uy] = [upd(x)!, upd(y)!];
      if (key(classOf(x.type), x.major, x.minor) === key(classOf(y.type), y.major, y.minor) && (ux.major !== uy.major || ux.minor !== uy.minor)) {
        return ConflictingDeviceUpdateError;
      }
    }
  }
  const finals = devices.map((d) => {
    const u = upd(d);
    return u ? { path: u.finalPath ?? d.path, id: key(d.type, u.major, u.minor) } : { path: d.path, id: key(d.type, d.major, d.minor) };
  });
  for (const u of c.updates) {
    if (u.finalPath === undefined) continue;
    const ids = new Set(finals.filter((f) => f.path === u.finalPath).map((f) => f.id));
    if (ids.size > 1) return FinalPathConflictError;
  }
  return undefined;
}

/**
 * Asserts that `result` is the correct remapping of `c.spec` (assumed
 * valid): every statement is about the ORIGINAL spec and the updates.
 */
function checkRemapResult(c: Case, result: GenSpec): void {
  const devices = c.spec.linux.devices ?? [];
  const rules = c.spec.linux.resources?.devices ?? [];
  const updateFor = new Map(c.updates.map((u) => [u.containerPath, u]));

  // 1. Every device ends at its own guest numbers (and final path); others byte-identical.
  const outDevices = result.linux.devices ?? [];
  assert.equal(outDevices.length, devices.length, 'device count');
  devices.forEach((d, i) => {
    const u = updateFor.get(d.path);
    const want = u ? { ...d, major: u.major, minor: u.minor, path: u.finalPath ?? d.path } : d;
    assert.equal(json(outDevices[i]), json(want), `device #${i} ${d.path}`);
  });

  // 2. Every rule ends at the guest numbers of the device it ORIGINALLY matched
  //    by (type, major, minor); rules matching none are byte-identical.
  const guestOfOriginal = new Map<string, DeviceUpdate>();
  for (const d of devices) {
    const u = updateFor.get(d.path);
    if (u) guestOfOriginal.set(key(classOf(d.type), d.major, d.minor), u);
  }
  const outRules = result.linux.resources?.devices ?? [];
  const referenced = new Set<string>();
  rules.forEach((r, i) => {
    const concrete = (r.type === 'b' || r.type === 'c') && typeof r.major === 'number' && typeof r.minor === 'number';
    const k = key(r.type ?? 'a', r.major, r.minor);
    if (concrete) referenced.add(k);
    const u = concrete ? guestOfOriginal.get(k) : undefined;
    const want = u ? { ...r, major: u.major, minor: u.minor } : r;
    assert.equal(json(outRules[i]), json(want), `rule #${i} ${json(r)}`);
  });

  // 3. Appended rules: exactly one allow-rwm per distinct guest device among
  //    updated devices no original rule named, in linux.devices order.
  const appended: DeviceCgroupRule[] = [];
  const seen = new Set<string>();
  for (const d of devices) {
    const u = updateFor.get(d.path);
    if (!u || referenced.has(key(classOf(d.type), d.major, d.minor))) continue;
    const g = key(u.type, u.major, u.minor);
    if (seen.has(g)) continue;
    seen.add(g);
    appended.push({ allow: true, type: u.type, major: u.major, minor: u.minor, access: 'rwm' });
  }
  assert.equal(json(outRules.slice(rules.length)), json(appended), 'appended rules');
  if (rules.length === 0 && appended.length === 0) {
    assert.equal(json(result.linux.resources), json(c.spec.linux.resources), 'resources not created for nothing');
  }

  // 4. Everything else is untouched.
  const strip = (s: GenSpec) => ({ ...s, linux: { ...s.linux, devices: null, resources: { ...s.linux.resources, devices: null } } });
  assert.equal(json(strip(result)), json(strip(c.spec)), 'fields outside the device lists');
}

/** Which hard situations a (successful) case contains. */
function classify(c: Case) {
  const devices = c.spec.linux.devices ?? [];
  const updated = devices
    .map((d) => ({ d, u: c.updates.find((u) => u.containerPath === d.path) }))
    .filter((x): x is { d: SpecDeviceEntry; u: DeviceUpdate } => x.u !== undefined);
  const orig = (d: SpecDeviceEntry) => key(classOf(d.type), d.major, d.minor);
  const guest = (u: DeviceUpdate) => key(u.type, u.major, u.minor);
  const pairs = updated.flatMap((x) => updated.filter((y) => y !== x).map((y) => [x, y] as const));
  return {
    // x's guest numbers are y's original numbers (a -> b while b -> something)
    chain: pairs.some(([x, y]) => guest(x.u) === orig(y.d) && guest(y.u) !== orig(y.d)),
    // and the other way round too (a -> b, b -> a)
    cycle: pairs.some(([x, y]) => guest(x.u) === orig(y.d) && guest(y.u) === orig(x.d) && orig(x.d) !== orig(y.d)),
    // a char and a block device share numbers, one of them updated
    charBlock: updated.some(({ d }) => devices.some((e) => e.major === d.major && e.minor === d.minor && classOf(e.type) !== classOf(d.type))),
    // two updated devices with the same original numbers (and so the same guest numbers)
    sharedOriginal: pairs.some(([x, y]) => orig(x.d) === orig(y.d)),
    renamed: updated.some(({ u }) => u.finalPath !== undefined),
  };
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** Runs ours and reports the outcome as something comparable. */
function outcome(spec: GenSpec, updates: readonly DeviceUpdate[]): string {
  try {
    return json(remapSpecDevices(spec, updates));
  } catch (err) {
    return `throws ${(err as Error).name}`;
  }
}

const RUNS = 2000;

describe('remapSpecDevices properties', () => {
  test('correct on every generated case, or the predicted error with the input unchanged', (t) => {
    const seen = { ok: 0, errors: 0, chain: 0, cycle: 0, charBlock: 0, sharedOriginal: 0, renamed: 0 };
    fc.assert(
      fc.property(caseArb, (c) => {
        const before = json(c.spec);
        deepFreeze(c);
        const errorClass = expectedError(c);
        if (errorClass) {
          seen.errors++;
          assert.throws(() => remapSpecDevices(c.spec, c.updates), errorClass);
        } else {
          seen.ok++;
          checkRemapResult(c, remapSpecDevices(c.spec, c.updates));
          const k = classify(c);
          for (const name of Object.keys(k) as (keyof typeof k)[]) if (k[name]) seen[name]++;
        }
        assert.equal(json(c.spec), before, 'input unchanged');
      }),
      { numRuns: RUNS },
    );
    // The generator must produce the hard cases, and mostly successful ones.
    for (const [name, count] of Object.entries(seen)) {
      assert.ok(count >= RUNS / 50, `${name}: only ${count} of ${RUNS} cases (${json(seen)})`);
    }
    assert.ok(seen.chain >= RUNS / 5, `chains: ${json(seen)}`);
    t.diagnostic(`case mix: ${json(seen)}`);
  });

  test('permuting the updates gives the same result (or the same error)', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) => fc.shuffledSubarray(c.updates, { minLength: c.updates.length }).map((p) => [c, p] as const)),
        ([c, permuted]) => {
          assert.equal(outcome(c.spec, permuted), outcome(c.spec, c.updates));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('without collisions the naive baseline agrees with ours (so it differs only where collisions bite)', () => {
    fc.assert(
      fc.property(noCollisionCaseArb, (c) => {
        assert.equal(json(naiveRemapSpecDevices(c.spec, c.updates)), json(remapSpecDevices(c.spec, c.updates)));
      }),
      { numRuns: 500 },
    );
  });
});

describe('deviceKey', () => {
  test('equal keys exactly for equal (type, major, minor), across all key forms', () => {
    // Numbers near every boundary between the key forms, and anywhere in 32 bits.
    const edges = [0, 1, 0x3ff, 0x400, 0x7ffff, 0x80000, 0xfffff, 0x100000, 0xfffffffe, 0xffffffff];
    const n = fc.oneof(fc.constantFrom(...edges), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0x100 }));
    const triple = fc.tuple(fc.constantFrom<'b' | 'c'>('b', 'c'), n, n);
    fc.assert(
      fc.property(triple, triple, ([t1, ma1, mi1], [t2, ma2, mi2]) => {
        const same = t1 === t2 && ma1 === ma2 && mi1 === mi2;
        assert.equal(deviceKey(t1, ma1, mi1) === deviceKey(t2, ma2, mi2), same);
        const k = deviceKey(t1, ma1, mi1);
        if (typeof k === 'number') assert.ok(Number.isSafeInteger(k));
      }),
      { numRuns: 20000 },
    );
  });
});

describe('the naive one-at-a-time algorithm', () => {
  test('a counterexample search finds it wrong on a collision case where ours is right', () => {
    // Fed in linux.devices order, so appended-rule order is not what differs.
    const inSpecOrder = (c: Case) => (c.spec.linux.devices ?? []).flatMap((d) => c.updates.filter((u) => u.containerPath === d.path));
    const naiveIsRight = fc.property(caseArb, (c) => {
      fc.pre(expectedError(c) === undefined);
      checkRemapResult(c, naiveRemapSpecDevices(c.spec, inSpecOrder(c)));
    });
    const report = fc.check(naiveIsRight, { numRuns: RUNS, seed: 42 });
    assert.equal(report.failed, true, 'the naive algorithm should be caught');
    const [counterexample] = report.counterexample as [Case];
    // Ours gets that very case right.
    assert.doesNotThrow(() => checkRemapResult(counterexample, remapSpecDevices(counterexample.spec, counterexample.updates)));
    // And it is a collision: an update's guest numbers are another device's
    // original numbers, or a rename lands on another device's path.
    const devices = counterexample.spec.linux.devices ?? [];
    const collides = counterexample.updates.some((u) =>
      devices.some(
        (d) =>
          d.path !== u.containerPath &&
          ((classOf(d.type) === u.type && d.major === u.major && d.minor === u.minor) || d.path === u.finalPath),
      ),
    );
    assert.ok(collides, `counterexample: ${json(counterexample)}`);
  });

  test('the classic chain: naive double-translates, ours does not', () => {
    const spec: GenSpec = {
      ociVersion: '1.0.2',
      linux: {
        devices: [
          { path: '/dev/a', type: 'c', major: 1, minor: 3 },
          { path: '/dev/b', type: 'c', major: 1, minor: 5 },
        ],
        resources: { devices: [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] },
      },
    };
    const updates: DeviceUpdate[] = [
      { containerPath: '/dev/a', type: 'c', major: 1, minor: 5 },
      { containerPath: '/dev/b', type: 'c', major: 1, minor: 7 },
    ];
    const naive = naiveRemapSpecDevices(spec, updates);
    assert.deepEqual(naive.linux.resources!.devices![0], { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, 'naive: a\'s rule ends at b\'s numbers');
    const ours = remapSpecDevices(spec, updates);
    assert.deepEqual(ours.linux.resources!.devices![0], { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' });
    checkRemapResult({ spec, updates }, ours);
  });
});
