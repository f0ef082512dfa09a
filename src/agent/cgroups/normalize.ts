// Checks an OCI `linux.resources` object and turns it into one internal form
// (bigint numbers, defaults filled in, "unset" made explicit) before anything
// is written, so that bad input fails as a whole with an error that names the
// field, and never half-applied.
//
// Proto3 cannot tell an unset number from 0, so 0 means "leave as is" for
// every knob where 0 is not a usable value (limits, shares, quota, period,
// weights); the one exception is swappiness, where 0 is meaningful.
import { CgroupError } from './errors.js';
import type { CgroupResources, Int } from './types.js';

export interface NormalizedMemory {
  /** -1 = unlimited. */
  limit?: bigint;
  reservation?: bigint;
  /** Memory plus swap, as in OCI; -1 = unlimited. */
  swap?: bigint;
  kernel?: bigint;
  kernelTCP?: bigint;
  swappiness?: bigint;
  disableOOMKiller: boolean;
}

export interface NormalizedCpu {
  shares?: bigint;
  /** -1 = unlimited. */
  quota?: bigint;
  period?: bigint;
  realtimeRuntime?: bigint;
  realtimePeriod?: bigint;
  cpus?: string;
  mems?: string;
}

export interface NormalizedPids {
  /** 0 = unlimited. */
  limit: bigint;
}

export interface NormalizedWeightDevice {
  major: bigint;
  minor: bigint;
  weight?: bigint;
  leafWeight?: bigint;
}

export interface NormalizedThrottleDevice {
  major: bigint;
  minor: bigint;
  rate: bigint;
}

export interface NormalizedBlockIO {
  weight?: bigint;
  leafWeight?: bigint;
  weightDevice: NormalizedWeightDevice[];
  throttleReadBpsDevice: NormalizedThrottleDevice[];
  throttleWriteBpsDevice: NormalizedThrottleDevice[];
  throttleReadIOPSDevice: NormalizedThrottleDevice[];
  throttleWriteIOPSDevice: NormalizedThrottleDevice[];
}

export interface NormalizedHugepageLimit {
  pageSize: string;
  limit: bigint;
}

export interface NormalizedDeviceRule {
  allow: boolean;
  type: 'a' | 'b' | 'c';
  /** null = any. */
  major: bigint | null;
  minor: bigint | null;
  access: string;
}

export interface NormalizedNetwork {
  classID?: bigint;
  priorities: { name: string; priority: bigint }[];
}

export interface NormalizedResources {
  memory?: NormalizedMemory;
  cpu?: NormalizedCpu;
  pids?: NormalizedPids;
  blockIO?: NormalizedBlockIO;
  hugepageLimits: NormalizedHugepageLimit[];
  devices: NormalizedDeviceRule[];
  network?: NormalizedNetwork;
  unified: [string, string][];
}

function invalid(field: string, message: string): CgroupError {
  return new CgroupError('INVALID_ARGUMENT', `${field}: ${message}`);
}

/** An integer (number or bigint), or undefined when absent. */
function integer(value: Int | null | undefined, field: string): bigint | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  throw invalid(field, `must be an integer, got ${JSON.stringify(value)}`);
}

/** Like integer(), with 0 meaning "unset" and a lower bound. */
function setting(value: Int | null | undefined, field: string, min: bigint): bigint | undefined {
  const v = integer(value, field);
  if (v === undefined || v === 0n) return undefined;
  if (v < min) throw invalid(field, `${v} is below the minimum ${min}`);
  return v;
}

function inRange(v: bigint | undefined, field: string, lo: bigint, hi: bigint): bigint | undefined {
  if (v !== undefined && (v < lo || v > hi)) throw invalid(field, `${v} is outside ${lo}-${hi}`);
  return v;
}

/** Checks a cpuset list such as "0-3,6". Empty means unset. */
function cpuList(value: string | null | undefined, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(field, 'must be a string');
  const v = value.trim();
  if (v === '') return undefined;
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v)) throw invalid(field, `${JSON.stringify(value)} is not a list like "0-3,6"`);
  return v;
}

function normalizeMemory(m: NonNullable<CgroupResources['memory']>): NormalizedMemory {
  const f = 'resources.memory';
  const out: NormalizedMemory = {
    limit: setting(m.limit, `${f}.limit`, -1n),
    reservation: setting(m.reservation, `${f}.reservation`, -1n),
    swap: setting(m.swap, `${f}.swap`, -1n),
    kernel: setting(m.kernel, `${f}.kernel`, -1n),
    kernelTCP: setting(m.kernelTCP, `${f}.kernelTCP`, -1n),
    disableOOMKiller: m.disableOOMKiller === true,
  };
  // -1 is what some runtimes send for "not set".
  const swappiness = integer(m.swappiness, `${f}.swappiness`);
  if (swappiness !== undefined && swappiness !== -1n) {
    out.swappiness = inRange(swappiness, `${f}.swappiness`, 0n, 100n);
  }
  if (out.limit !== undefined && out.limit > 0n && out.swap !== undefined && out.swap > 0n && out.swap < out.limit) {
    throw invalid(`${f}.swap`, `memory+swap limit ${out.swap} is below the memory limit ${out.limit}`);
  }
  return out;
}

function normalizeCpu(c: NonNullable<CgroupResources['cpu']>): NormalizedCpu {
  const f = 'resources.cpu';
  return {
    shares: setting(c.shares, `${f}.shares`, 0n),
    quota: setting(c.quota, `${f}.quota`, -1n),
    period: setting(c.period, `${f}.period`, 0n),
    realtimeRuntime: setting(c.realtimeRuntime, `${f}.realtimeRuntime`, -1n),
    realtimePeriod: setting(c.realtimePeriod, `${f}.realtimePeriod`, 0n),
    cpus: cpuList(c.cpus, `${f}.cpus`),
    mems: cpuList(c.mems, `${f}.mems`),
  };
}

function deviceNumber(value: Int | null | undefined, field: string): bigint {
  const v = integer(value, field);
  if (v === undefined) throw invalid(field, 'is required');
  if (v < 0n) throw invalid(field, `${v} is negative`);
  return v;
}

function normalizeBlockIO(b: NonNullable<CgroupResources['blockIO']>): NormalizedBlockIO {
  const f = 'resources.blockIO';
  const throttle = (list: { major: Int; minor: Int; rate: Int }[] | null | undefined, name: string) =>
    (list ?? []).map((d, i) => {
      const rate = integer(d.rate, `${f}.${name}[${i}].rate`);
      if (rate === undefined || rate < 0n) throw invalid(`${f}.${name}[${i}].rate`, 'must be a non-negative integer');
      return {
        major: deviceNumber(d.major, `${f}.${name}[${i}].major`),
        minor: deviceNumber(d.minor, `${f}.${name}[${i}].minor`),
        rate,
      };
    });
  return {
    weight: inRange(setting(b.weight, `${f}.weight`, 0n), `${f}.weight`, 10n, 1000n),
    leafWeight: inRange(setting(b.leafWeight, `${f}.leafWeight`, 0n), `${f}.leafWeight`, 10n, 1000n),
    weightDevice: (b.weightDevice ?? []).map((d, i) => {
      const w = `${f}.weightDevice[${i}]`;
      return {
        major: deviceNumber(d.major, `${w}.major`),
        minor: deviceNumber(d.minor, `${w}.minor`),
        weight: inRange(setting(d.weight, `${w}.weight`, 0n), `${w}.weight`, 10n, 1000n),
        leafWeight: inRange(setting(d.leafWeight, `${w}.leafWeight`, 0n), `${w}.leafWeight`, 10n, 1000n),
      };
    }),
    throttleReadBpsDevice: throttle(b.throttleReadBpsDevice, 'throttleReadBpsDevice'),
    throttleWriteBpsDevice: throttle(b.throttleWriteBpsDevice, 'throttleWriteBpsDevice'),
    throttleReadIOPSDevice: throttle(b.throttleReadIOPSDevice, 'throttleReadIOPSDevice'),
    throttleWriteIOPSDevice: throttle(b.throttleWriteIOPSDevice, 'throttleWriteIOPSDevice'),
  };
}

function normalizeDevices(list: NonNullable<CgroupResources['devices']>): NormalizedDeviceRule[] {
  return list.map((d, i) => {
    const f = `resources.devices[${i}]`;
    if (typeof d.allow !== 'boolean') throw invalid(`${f}.allow`, 'must be a boolean');
    const type = d.type === undefined || d.type === null || d.type === '' ? 'a' : d.type;
    if (type !== 'a' && type !== 'b' && type !== 'c') throw invalid(`${f}.type`, `${JSON.stringify(type)} is not one of "a", "b", "c"`);
    const access = d.access === undefined || d.access === null || d.access === '' ? 'rwm' : d.access;
    if (!/^[rwm]{1,3}$/.test(access) || new Set(access).size !== access.length) {
      throw invalid(`${f}.access`, `${JSON.stringify(access)} is not a combination of "r", "w", "m"`);
    }
    const num = (v: Int | null | undefined, name: string) => {
      const n = integer(v, `${f}.${name}`);
      return n === undefined || n < 0n ? null : n;
    };
    return { allow: d.allow, type, major: num(d.major, 'major'), minor: num(d.minor, 'minor'), access };
  });
}

function normalizeNetwork(n: NonNullable<CgroupResources['network']>): NormalizedNetwork {
  const f = 'resources.network';
  return {
    classID: inRange(setting(n.classID, `${f}.classID`, 0n), `${f}.classID`, 0n, 0xffffffffn),
    priorities: (n.priorities ?? []).map((p, i) => {
      if (typeof p.name !== 'string' || !/^[^\s/]+$/.test(p.name)) {
        throw invalid(`${f}.priorities[${i}].name`, `${JSON.stringify(p.name)} is not an interface name`);
      }
      const priority = integer(p.priority, `${f}.priorities[${i}].priority`);
      if (priority === undefined || priority < 0n) throw invalid(`${f}.priorities[${i}].priority`, 'must be a non-negative integer');
      return { name: p.name, priority };
    }),
  };
}

/** Validates `resources` and returns it in normalized form. Throws CgroupError INVALID_ARGUMENT. */
export function normalizeResources(resources: CgroupResources): NormalizedResources {
  if (resources === null || typeof resources !== 'object') {
    throw invalid('resources', 'must be an object');
  }
  const out: NormalizedResources = { hugepageLimits: [], devices: [], unified: [] };
  if (resources.memory) out.memory = normalizeMemory(resources.memory);
  if (resources.cpu) out.cpu = normalizeCpu(resources.cpu);
  if (resources.pids) {
    const limit = integer(resources.pids.limit, 'resources.pids.limit');
    if (limit !== undefined) out.pids = { limit: limit > 0n ? limit : 0n };
  }
  if (resources.blockIO) out.blockIO = normalizeBlockIO(resources.blockIO);
  out.hugepageLimits = (resources.hugepageLimits ?? []).map((h, i) => {
    const f = `resources.hugepageLimits[${i}]`;
    if (typeof h.pageSize !== 'string' || !/^\d+[KMGT]B$/.test(h.pageSize)) {
      throw invalid(`${f}.pageSize`, `${JSON.stringify(h.pageSize)} is not a page size like "2MB"`);
    }
    const limit = integer(h.limit, `${f}.limit`);
    if (limit === undefined || limit < 0n) throw invalid(`${f}.limit`, 'must be a non-negative integer');
    return { pageSize: h.pageSize, limit };
  });
  if (resources.devices) out.devices = normalizeDevices(resources.devices);
  if (resources.network) out.network = normalizeNetwork(resources.network);
  for (const [key, value] of Object.entries(resources.unified ?? {})) {
    // Interface file names only: no way out of the cgroup directory.
    if (!/^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/.test(key) || key.includes('..')) {
      throw invalid(`resources.unified[${JSON.stringify(key)}]`, 'is not a cgroup interface file name');
    }
    if (typeof value !== 'string') throw invalid(`resources.unified[${JSON.stringify(key)}]`, 'value must be a string');
    out.unified.push([key, value]);
  }
  return out;
}
