// fast-check generators for OCI specs that the protobuf form can carry
// exactly: only fields oci.proto has, and no optional field holding a value
// that protobuf cannot tell from absence (see docs/oci.md, "Zero values").
// In particular: optional strings are non-empty, optional lists and maps
// have entries, optional booleans are true, optional numbers are non-zero,
// cgroup-rule device numbers are absent or >= 1, FIFO devices have no 0
// device numbers, and linux.devices always carry uid and gid.

import fc from 'fast-check';
import { canonicalInt, INT64_MAX, INT64_MIN, UINT64_MAX } from '../../src/oci/integers.js';
import type * as oci from '../../src/oci/spec.js';

type Arbs<T> = { [K in keyof T]: fc.Arbitrary<T[K]> };

/** An object with the given required fields and optional fields (each omitted or present). */
function obj<R extends object, O extends object>(required: Arbs<R>, optional: Arbs<O>): fc.Arbitrary<R & Partial<O>> {
  const model = { ...required, ...optional } as Arbs<R & O>;
  return fc.record(model, {
    requiredKeys: Object.keys(required) as (keyof (R & O))[],
    noNullPrototype: true,
  }) as fc.Arbitrary<R & Partial<O>>;
}

/** An object whose fields are all required. */
function rec<R extends object>(model: Arbs<R>): fc.Arbitrary<R> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<R>;
}

// Strings of whole code points (no lone surrogates: protobuf strings are UTF-8).
const str = fc.string({ unit: 'grapheme', maxLength: 8 });
const nonEmptyStr = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 });
const list = <T>(a: fc.Arbitrary<T>) => fc.array(a, { minLength: 1, maxLength: 3 });
const strList = list(str);
// "__proto__" cannot be an own key of the plain objects maps are built in.
const mapKey = nonEmptyStr.filter((k) => k !== '__proto__');
const strMap = fc.dictionary(mapKey, str, { minKeys: 1, maxKeys: 3, noNullPrototype: true });
const yes = fc.constant(true as const);

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u32nz = fc.integer({ min: 1, max: 0xffffffff });
const u16nz = fc.integer({ min: 1, max: 0xffff });
const devNum = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const devNumNz = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const safeNz = fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }).filter((n) => n !== 0);

// 64-bit values in canonical form: mostly small numbers, sometimes values
// beyond 2^53 (which must stay exact bigints), including the extremes.
const wide = (min: bigint, max: bigint) =>
  fc
    .oneof(
      fc.integer({ min: -1000, max: 100000 }).map(BigInt).filter((v) => v >= min && v <= max),
      fc.bigInt(min, max),
      fc.constantFrom(min, max),
    )
    .map(canonicalInt);
const i64 = wide(INT64_MIN, INT64_MAX);
const u64 = wide(0n, UINT64_MAX);
const i64nz = i64.filter((v) => v !== 0);
const u64nz = u64.filter((v) => v !== 0);

const idMapping = rec({ containerID: u32, hostID: u32, size: u32 });

const user = obj({ uid: u32, gid: u32 }, { additionalGids: list(u32), username: nonEmptyStr });

const capabilities = obj({}, { bounding: strList, effective: strList, inheritable: strList, permitted: strList, ambient: strList });

export const processArb: fc.Arbitrary<oci.Process> = obj(
  { cwd: str },
  {
    terminal: yes,
    consoleSize: rec({ height: u32, width: u32 }),
    user,
    args: strList,
    env: strList,
    capabilities,
    rlimits: list(rec({ type: str, hard: u64, soft: u64 })),
    noNewPrivileges: yes,
    apparmorProfile: nonEmptyStr,
    oomScoreAdj: safeNz,
    selinuxLabel: nonEmptyStr,
  },
);

const mount = obj({ destination: str }, { type: nonEmptyStr, source: nonEmptyStr, options: strList });

const hook = obj({ path: str }, { args: strList, env: strList, timeout: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) });
const hooks = obj(
  {},
  {
    prestart: list(hook),
    createRuntime: list(hook),
    createContainer: list(hook),
    startContainer: list(hook),
    poststart: list(hook),
    poststop: list(hook),
  },
);

const numberedDevice = obj(
  { path: str, type: fc.constantFrom('c' as const, 'b' as const, 'u' as const), major: devNum, minor: devNum, uid: u32, gid: u32 },
  { fileMode: u32nz },
);
const fifoDevice = obj({ path: str, type: fc.constant('p' as const), uid: u32, gid: u32 }, { major: devNumNz, minor: devNumNz, fileMode: u32nz });
const device: fc.Arbitrary<oci.LinuxDevice> = fc.oneof(numberedDevice, fifoDevice);

/**
 * Which device numbers cgroup rules may hold: from 1 for readers that take 0
 * as "any" (the default), from 0 for readers with zeroIsWildcard: false.
 */
export interface GenOptions {
  ruleNumbersFrom: 0 | 1;
}

export const deviceRuleArb = (g: GenOptions): fc.Arbitrary<oci.LinuxDeviceCgroup> =>
  obj(
    { allow: fc.boolean() },
    {
      type: fc.constantFrom('a' as const, 'c' as const, 'b' as const),
      major: fc.integer({ min: g.ruleNumbersFrom, max: Number.MAX_SAFE_INTEGER }),
      minor: fc.integer({ min: g.ruleNumbersFrom, max: Number.MAX_SAFE_INTEGER }),
      access: fc.constantFrom('r', 'w', 'm', 'rw', 'rm', 'wm', 'rwm'),
    },
  );

const throttle = rec({ major: devNum, minor: devNum, rate: u64 });

export const resourcesArb = (g: GenOptions): fc.Arbitrary<oci.LinuxResources> => obj(
  {},
  {
    devices: list(deviceRuleArb(g)),
    memory: obj({}, {
      limit: i64nz, reservation: i64nz, swap: i64nz, kernel: i64nz, kernelTCP: i64nz, swappiness: u64nz, disableOOMKiller: yes,
    }),
    cpu: obj({}, {
      shares: u64nz, quota: i64nz, period: u64nz, realtimeRuntime: i64nz, realtimePeriod: u64nz, cpus: nonEmptyStr, mems: nonEmptyStr,
    }),
    pids: rec({ limit: i64 }),
    blockIO: obj({}, {
      weight: u16nz,
      leafWeight: u16nz,
      weightDevice: list(obj({ major: devNum, minor: devNum }, { weight: u16nz, leafWeight: u16nz })),
      throttleReadBpsDevice: list(throttle),
      throttleWriteBpsDevice: list(throttle),
      throttleReadIOPSDevice: list(throttle),
      throttleWriteIOPSDevice: list(throttle),
    }),
    hugepageLimits: list(rec({ pageSize: str, limit: u64 })),
    network: obj({}, { classID: u32nz, priorities: list(rec({ name: str, priority: u32 })) }),
  },
);

const seccomp = obj(
  { defaultAction: str },
  {
    architectures: strList,
    flags: strList,
    syscalls: list(obj(
      { names: strList, action: str },
      { errnoRet: u32, args: list(obj({ index: u32, value: u64, op: str }, { valueTwo: u64nz })) },
    )),
  },
);

const linux = (g: GenOptions) => obj(
  {},
  {
    uidMappings: list(idMapping),
    gidMappings: list(idMapping),
    sysctl: strMap,
    resources: resourcesArb(g),
    cgroupsPath: nonEmptyStr,
    namespaces: list(obj({ type: str }, { path: nonEmptyStr })),
    devices: list(device),
    seccomp,
    rootfsPropagation: nonEmptyStr,
    maskedPaths: strList,
    readonlyPaths: strList,
    mountLabel: nonEmptyStr,
    intelRdt: obj({}, { l3CacheSchema: nonEmptyStr }),
  },
);

/** Specs that survive JSON -> protobuf -> JSON unchanged. */
export const specArb = (g: GenOptions = { ruleNumbersFrom: 1 }): fc.Arbitrary<oci.Spec> => obj(
  { ociVersion: str },
  {
    process: processArb,
    root: obj({ path: str }, { readonly: yes }),
    hostname: nonEmptyStr,
    mounts: list(mount),
    hooks,
    annotations: strMap,
    linux: linux(g),
  },
);
