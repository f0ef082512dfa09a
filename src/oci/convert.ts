// Conversion between the OCI spec as JSON (our Spec type) and as protobuf
// (grpc.Spec from oci.proto, as the Kata agent receives it).
//
// JSON -> protobuf copies every field the protobuf has; JSON fields without a
// protobuf counterpart (domainname, process.scheduler, linux.personality,
// resources.unified, unknown keys, ...) are dropped. lostInProto() lists what
// a given spec would lose.
//
// protobuf -> JSON has to decide, for each proto3 scalar, whether its zero
// value means "absent". The rules (see docs/oci.md for the full table):
//   - A field the spec marks REQUIRED is always written, zero or not
//     (ociVersion, root.path, process.cwd, user.uid/gid, rlimit values,
//      mount destination, hook path, pids.limit, ...). So are linux.devices
//     uid and gid, where absence and 0 mean the same thing.
//   - An OPTIONAL field is omitted when it holds the zero value: "" strings,
//     0 numbers, false booleans, empty lists and empty maps.
//   - Optional messages (process, root, linux.resources, seccomp, ...) have
//     presence in proto3 and map to present/absent exactly.
//   - syscall errnoRet is a oneof in the protobuf, so it has presence too.
// So JSON -> proto -> JSON is the identity on any spec whose optional fields
// never hold those zero values, and whose device-rule numbers are not 0
// (or on any device-rule numbers, when reading with zeroIsWildcard: false).
//
// Device numbers in cgroup rules (LinuxDeviceCgroup.Major/Minor): JSON uses
// null or absence for "any"; the protobuf field is a plain int64, and we send
// -1 for "any" (the Kata 2.0 agent recognises only -1; today's agent reads any
// value <= 0 as "any"). When reading the protobuf we also treat every value
// <= 0 as "any" by default, because the Go runtime copies a nil major/minor
// as 0 (and so does the Rust side of upstream). The price: a rule on minor 0
// (e.g. "c 5:0", /dev/tty) read back from the protobuf covers the whole
// major. A reader that knows its peer sends -1 can pass
// { zeroIsWildcard: false } to keep 0 as a real device number.

import { create } from '@bufbuild/protobuf';
import * as pb from '../protocols/gen/oci_pb.js';
import { canonicalInt, smallFromProto, toProtoInt64, toProtoUint64 } from './integers.js';
import type * as oci from './spec.js';
import { formatPath } from './validation-error.js';

// ------------------------------------------------------------------ helpers

/** Removes keys whose value is undefined, so absent fields are truly absent. */
function defined<T extends object>(obj: T): T {
  for (const key of Object.keys(obj) as (keyof T)[]) {
    if (obj[key] === undefined) delete obj[key];
  }
  return obj;
}

const nonEmpty = (s: string): string | undefined => (s === '' ? undefined : s);
const nonEmptyList = <T>(a: T[]): T[] | undefined => (a.length === 0 ? undefined : a);
const onlyTrue = (b: boolean): true | undefined => (b ? true : undefined);
const nonZero = (n: number): number | undefined => (n === 0 ? undefined : n);
const nonZeroWide = (n: bigint): number | bigint | undefined => (n === 0n ? undefined : canonicalInt(n));

function nonEmptyMap(m: { [key: string]: string }): Record<string, string> | undefined {
  const entries = Object.entries(m);
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}

const copyMap = (m: Record<string, string> | undefined): Record<string, string> =>
  m === undefined ? {} : Object.fromEntries(Object.entries(m));

const i64 = (v: number | bigint | undefined): bigint => (v === undefined ? 0n : toProtoInt64(v));
const u64 = (v: number | bigint | undefined): bigint => (v === undefined ? 0n : toProtoUint64(v));

// ------------------------------------------------------------------ wildcards

/** The protobuf value for "any device number". */
export const WILDCARD_DEVICE_NUMBER = -1n;

/** A cgroup rule's major/minor, JSON -> protobuf: null or absent becomes -1. */
export function wildcardToProto(n: number | null | undefined): bigint {
  return n === null || n === undefined ? WILDCARD_DEVICE_NUMBER : BigInt(n);
}

/** Options for reading protobuf messages. */
export interface FromProtoOptions {
  /**
   * Whether a cgroup rule's major/minor of 0 means "any" (default true).
   * Negative values always mean "any". Leave this on for peers that may send
   * 0 for "any" (the upstream Go runtime does); turn it off only for a peer
   * known to send -1, such as specToProto.
   */
  zeroIsWildcard?: boolean;
}

/**
 * A cgroup rule's major/minor, protobuf -> JSON: negative values, and 0
 * unless opts.zeroIsWildcard is false, are "any" (returned as undefined, i.e.
 * the field is omitted). Accepting 0 and negatives other than -1 is for
 * runtimes that send 0 for "any".
 */
export function wildcardFromProto(n: bigint, opts?: FromProtoOptions): number | undefined {
  const zeroIsWildcard = opts?.zeroIsWildcard ?? true;
  return n < 0n || (n === 0n && zeroIsWildcard) ? undefined : smallFromProto(n);
}

// ------------------------------------------------------------------ JSON -> protobuf

/** Converts a whole spec to grpc.Spec. */
export function specToProto(spec: oci.Spec): pb.Spec {
  return create(pb.SpecSchema, {
    Version: spec.ociVersion,
    Process: spec.process === undefined ? undefined : processToProto(spec.process),
    Root: spec.root === undefined ? undefined : create(pb.RootSchema, { Path: spec.root.path, Readonly: spec.root.readonly ?? false }),
    Hostname: spec.hostname ?? '',
    Mounts: (spec.mounts ?? []).map(mountToProto),
    Hooks: spec.hooks === undefined ? undefined : hooksToProto(spec.hooks),
    Annotations: copyMap(spec.annotations),
    Linux: spec.linux === undefined ? undefined : linuxToProto(spec.linux),
  });
}

/** Converts a process (the payload of ExecProcess) to grpc.Process. */
export function processToProto(p: oci.Process): pb.Process {
  return create(pb.ProcessSchema, {
    Terminal: p.terminal ?? false,
    ConsoleSize: p.consoleSize === undefined ? undefined : create(pb.BoxSchema, { Height: p.consoleSize.height, Width: p.consoleSize.width }),
    User: p.user === undefined ? undefined : create(pb.UserSchema, {
      UID: p.user.uid,
      GID: p.user.gid,
      AdditionalGids: p.user.additionalGids ?? [],
      Username: p.user.username ?? '',
    }),
    Args: p.args ?? [],
    Env: p.env ?? [],
    Cwd: p.cwd,
    Capabilities: p.capabilities === undefined ? undefined : create(pb.LinuxCapabilitiesSchema, {
      Bounding: p.capabilities.bounding ?? [],
      Effective: p.capabilities.effective ?? [],
      Inheritable: p.capabilities.inheritable ?? [],
      Permitted: p.capabilities.permitted ?? [],
      Ambient: p.capabilities.ambient ?? [],
    }),
    Rlimits: (p.rlimits ?? []).map((r) => create(pb.POSIXRlimitSchema, { Type: r.type, Hard: u64(r.hard), Soft: u64(r.soft) })),
    NoNewPrivileges: p.noNewPrivileges ?? false,
    ApparmorProfile: p.apparmorProfile ?? '',
    OOMScoreAdj: i64(p.oomScoreAdj),
    SelinuxLabel: p.selinuxLabel ?? '',
  });
}

function mountToProto(m: oci.Mount): pb.Mount {
  return create(pb.MountSchema, {
    destination: m.destination,
    source: m.source ?? '',
    type: m.type ?? '',
    options: m.options ?? [],
  });
}

function hookToProto(h: oci.Hook): pb.Hook {
  return create(pb.HookSchema, { Path: h.path, Args: h.args ?? [], Env: h.env ?? [], Timeout: i64(h.timeout) });
}

function hooksToProto(h: oci.Hooks): pb.Hooks {
  const list = (hooks: oci.Hook[] | undefined) => (hooks ?? []).map(hookToProto);
  return create(pb.HooksSchema, {
    Prestart: list(h.prestart),
    Poststart: list(h.poststart),
    Poststop: list(h.poststop),
    CreateRuntime: list(h.createRuntime),
    CreateContainer: list(h.createContainer),
    StartContainer: list(h.startContainer),
  });
}

function idMappingToProto(m: oci.LinuxIDMapping): pb.LinuxIDMapping {
  return create(pb.LinuxIDMappingSchema, { HostID: m.hostID, ContainerID: m.containerID, Size: m.size });
}

function linuxToProto(l: oci.Linux): pb.Linux {
  return create(pb.LinuxSchema, {
    UIDMappings: (l.uidMappings ?? []).map(idMappingToProto),
    GIDMappings: (l.gidMappings ?? []).map(idMappingToProto),
    Sysctl: copyMap(l.sysctl),
    Resources: l.resources === undefined ? undefined : resourcesToProto(l.resources),
    CgroupsPath: l.cgroupsPath ?? '',
    Namespaces: (l.namespaces ?? []).map((n) => create(pb.LinuxNamespaceSchema, { Type: n.type, Path: n.path ?? '' })),
    Devices: (l.devices ?? []).map(deviceToProto),
    Seccomp: l.seccomp === undefined ? undefined : seccompToProto(l.seccomp),
    RootfsPropagation: l.rootfsPropagation ?? '',
    MaskedPaths: l.maskedPaths ?? [],
    ReadonlyPaths: l.readonlyPaths ?? [],
    MountLabel: l.mountLabel ?? '',
    IntelRdt: l.intelRdt === undefined ? undefined : create(pb.LinuxIntelRdtSchema, { L3CacheSchema: l.intelRdt.l3CacheSchema ?? '' }),
  });
}

function deviceToProto(d: oci.LinuxDevice): pb.LinuxDevice {
  return create(pb.LinuxDeviceSchema, {
    Path: d.path,
    Type: d.type,
    // Absent only for FIFOs ("p"), which have no device numbers.
    Major: BigInt(d.major ?? 0),
    Minor: BigInt(d.minor ?? 0),
    FileMode: d.fileMode ?? 0,
    UID: d.uid ?? 0,
    GID: d.gid ?? 0,
  });
}

function seccompToProto(s: oci.LinuxSeccomp): pb.LinuxSeccomp {
  return create(pb.LinuxSeccompSchema, {
    DefaultAction: s.defaultAction,
    Architectures: s.architectures ?? [],
    Flags: s.flags ?? [],
    Syscalls: (s.syscalls ?? []).map((sc) => create(pb.LinuxSyscallSchema, {
      Names: sc.names,
      Action: sc.action,
      ErrnoRet: sc.errnoRet === undefined ? { case: undefined } : { case: 'errnoret', value: sc.errnoRet },
      Args: (sc.args ?? []).map((a) => create(pb.LinuxSeccompArgSchema, {
        Index: BigInt(a.index),
        Value: u64(a.value),
        ValueTwo: u64(a.valueTwo),
        Op: a.op,
      })),
    })),
  });
}

/** Converts linux.resources (the payload of UpdateContainer) to grpc.LinuxResources. */
export function resourcesToProto(r: oci.LinuxResources): pb.LinuxResources {
  return create(pb.LinuxResourcesSchema, {
    Devices: (r.devices ?? []).map(deviceCgroupToProto),
    Memory: r.memory === undefined ? undefined : create(pb.LinuxMemorySchema, {
      Limit: i64(r.memory.limit),
      Reservation: i64(r.memory.reservation),
      Swap: i64(r.memory.swap),
      Kernel: i64(r.memory.kernel),
      KernelTCP: i64(r.memory.kernelTCP),
      Swappiness: u64(r.memory.swappiness),
      DisableOOMKiller: r.memory.disableOOMKiller ?? false,
    }),
    CPU: r.cpu === undefined ? undefined : create(pb.LinuxCPUSchema, {
      Shares: u64(r.cpu.shares),
      Quota: i64(r.cpu.quota),
      Period: u64(r.cpu.period),
      RealtimeRuntime: i64(r.cpu.realtimeRuntime),
      RealtimePeriod: u64(r.cpu.realtimePeriod),
      Cpus: r.cpu.cpus ?? '',
      Mems: r.cpu.mems ?? '',
    }),
    Pids: r.pids === undefined ? undefined : create(pb.LinuxPidsSchema, { Limit: i64(r.pids.limit) }),
    BlockIO: r.blockIO === undefined ? undefined : blockIOToProto(r.blockIO),
    HugepageLimits: (r.hugepageLimits ?? []).map((h) => create(pb.LinuxHugepageLimitSchema, { Pagesize: h.pageSize, Limit: u64(h.limit) })),
    Network: r.network === undefined ? undefined : create(pb.LinuxNetworkSchema, {
      ClassID: r.network.classID ?? 0,
      Priorities: (r.network.priorities ?? []).map((p) => create(pb.LinuxInterfacePrioritySchema, { Name: p.name, Priority: p.priority })),
    }),
  });
}

/** Converts one device cgroup rule; null/absent major or minor becomes -1. */
export function deviceCgroupToProto(d: oci.LinuxDeviceCgroup): pb.LinuxDeviceCgroup {
  return create(pb.LinuxDeviceCgroupSchema, {
    Allow: d.allow,
    Type: d.type ?? '',
    Major: wildcardToProto(d.major),
    Minor: wildcardToProto(d.minor),
    Access: d.access ?? '',
  });
}

function blockIOToProto(b: oci.LinuxBlockIO): pb.LinuxBlockIO {
  const throttle = (list: oci.LinuxThrottleDevice[] | undefined) =>
    (list ?? []).map((t) => create(pb.LinuxThrottleDeviceSchema, { Major: BigInt(t.major), Minor: BigInt(t.minor), Rate: u64(t.rate) }));
  return create(pb.LinuxBlockIOSchema, {
    Weight: b.weight ?? 0,
    LeafWeight: b.leafWeight ?? 0,
    WeightDevice: (b.weightDevice ?? []).map((w) => create(pb.LinuxWeightDeviceSchema, {
      Major: BigInt(w.major),
      Minor: BigInt(w.minor),
      Weight: w.weight ?? 0,
      LeafWeight: w.leafWeight ?? 0,
    })),
    ThrottleReadBpsDevice: throttle(b.throttleReadBpsDevice),
    ThrottleWriteBpsDevice: throttle(b.throttleWriteBpsDevice),
    ThrottleReadIOPSDevice: throttle(b.throttleReadIOPSDevice),
    ThrottleWriteIOPSDevice: throttle(b.throttleWriteIOPSDevice),
  });
}

// ------------------------------------------------------------------ protobuf -> JSON
//
// These functions map values; they do not validate them. Run parseSpec (or
// parseProcess / parseResources) on the result to check it against the spec.

/** Converts grpc.Spec to the JSON form. Solaris and Windows are ignored. */
export function specFromProto(m: pb.Spec, opts?: FromProtoOptions): oci.Spec {
  return defined<oci.Spec>({
    ociVersion: m.Version,
    process: m.Process === undefined ? undefined : processFromProto(m.Process),
    root: m.Root === undefined ? undefined : defined({ path: m.Root.Path, readonly: onlyTrue(m.Root.Readonly) }),
    hostname: nonEmpty(m.Hostname),
    mounts: nonEmptyList(m.Mounts.map(mountFromProto)),
    hooks: m.Hooks === undefined ? undefined : hooksFromProto(m.Hooks),
    annotations: nonEmptyMap(m.Annotations),
    linux: m.Linux === undefined ? undefined : linuxFromProto(m.Linux, opts),
  });
}

/** Converts grpc.Process to the JSON form. */
export function processFromProto(m: pb.Process): oci.Process {
  const caps = m.Capabilities;
  return defined<oci.Process>({
    terminal: onlyTrue(m.Terminal),
    consoleSize: m.ConsoleSize === undefined ? undefined : { height: m.ConsoleSize.Height, width: m.ConsoleSize.Width },
    user: m.User === undefined ? undefined : defined({
      uid: m.User.UID,
      gid: m.User.GID,
      additionalGids: nonEmptyList(m.User.AdditionalGids),
      username: nonEmpty(m.User.Username),
    }),
    args: nonEmptyList(m.Args),
    env: nonEmptyList(m.Env),
    cwd: m.Cwd,
    capabilities: caps === undefined ? undefined : defined({
      bounding: nonEmptyList(caps.Bounding),
      effective: nonEmptyList(caps.Effective),
      inheritable: nonEmptyList(caps.Inheritable),
      permitted: nonEmptyList(caps.Permitted),
      ambient: nonEmptyList(caps.Ambient),
    }),
    rlimits: nonEmptyList(m.Rlimits.map((r) => ({ type: r.Type, hard: canonicalInt(r.Hard), soft: canonicalInt(r.Soft) }))),
    noNewPrivileges: onlyTrue(m.NoNewPrivileges),
    apparmorProfile: nonEmpty(m.ApparmorProfile),
    oomScoreAdj: m.OOMScoreAdj === 0n ? undefined : smallFromProto(m.OOMScoreAdj),
    selinuxLabel: nonEmpty(m.SelinuxLabel),
  });
}

function mountFromProto(m: pb.Mount): oci.Mount {
  return defined<oci.Mount>({
    destination: m.destination,
    type: nonEmpty(m.type),
    source: nonEmpty(m.source),
    options: nonEmptyList(m.options),
  });
}

function hookFromProto(h: pb.Hook): oci.Hook {
  return defined<oci.Hook>({
    path: h.Path,
    args: nonEmptyList(h.Args),
    env: nonEmptyList(h.Env),
    // The spec forbids a zero timeout, so 0 can only mean "not set".
    timeout: h.Timeout === 0n ? undefined : smallFromProto(h.Timeout),
  });
}

function hooksFromProto(h: pb.Hooks): oci.Hooks {
  const list = (hooks: pb.Hook[]) => nonEmptyList(hooks.map(hookFromProto));
  return defined<oci.Hooks>({
    prestart: list(h.Prestart),
    createRuntime: list(h.CreateRuntime),
    createContainer: list(h.CreateContainer),
    startContainer: list(h.StartContainer),
    poststart: list(h.Poststart),
    poststop: list(h.Poststop),
  });
}

function idMappingFromProto(m: pb.LinuxIDMapping): oci.LinuxIDMapping {
  return { containerID: m.ContainerID, hostID: m.HostID, size: m.Size };
}

function linuxFromProto(l: pb.Linux, opts?: FromProtoOptions): oci.Linux {
  return defined<oci.Linux>({
    uidMappings: nonEmptyList(l.UIDMappings.map(idMappingFromProto)),
    gidMappings: nonEmptyList(l.GIDMappings.map(idMappingFromProto)),
    sysctl: nonEmptyMap(l.Sysctl),
    resources: l.Resources === undefined ? undefined : resourcesFromProto(l.Resources, opts),
    cgroupsPath: nonEmpty(l.CgroupsPath),
    namespaces: nonEmptyList(l.Namespaces.map((n) => defined({ type: n.Type, path: nonEmpty(n.Path) }))),
    devices: nonEmptyList(l.Devices.map(deviceFromProto)),
    seccomp: l.Seccomp === undefined ? undefined : seccompFromProto(l.Seccomp),
    rootfsPropagation: nonEmpty(l.RootfsPropagation),
    maskedPaths: nonEmptyList(l.MaskedPaths),
    readonlyPaths: nonEmptyList(l.ReadonlyPaths),
    mountLabel: nonEmpty(l.MountLabel),
    intelRdt: l.IntelRdt === undefined ? undefined : defined({ l3CacheSchema: nonEmpty(l.IntelRdt.L3CacheSchema) }),
  });
}

function deviceFromProto(d: pb.LinuxDevice): oci.LinuxDevice {
  // A FIFO has no device numbers: 0/0 on a "p" device means they were absent.
  // uid and gid are always written: an absent owner means 0 anyway, and the
  // configs containerd and Docker write always carry them. fileMode 0 is
  // treated as absent, which makes the OCI runtime use its default mode
  // rather than create a device nobody can open.
  const fifo = d.Type === 'p';
  return defined<oci.LinuxDevice>({
    path: d.Path,
    type: d.Type as oci.LinuxDeviceType,
    major: fifo && d.Major === 0n ? undefined : smallFromProto(d.Major),
    minor: fifo && d.Minor === 0n ? undefined : smallFromProto(d.Minor),
    fileMode: nonZero(d.FileMode),
    uid: d.UID,
    gid: d.GID,
  });
}

function seccompFromProto(s: pb.LinuxSeccomp): oci.LinuxSeccomp {
  return defined<oci.LinuxSeccomp>({
    defaultAction: s.DefaultAction,
    architectures: nonEmptyList(s.Architectures),
    flags: nonEmptyList(s.Flags),
    syscalls: nonEmptyList(s.Syscalls.map((sc) => defined<oci.LinuxSyscall>({
      names: sc.Names,
      action: sc.Action,
      errnoRet: sc.ErrnoRet.case === 'errnoret' ? sc.ErrnoRet.value : undefined,
      args: nonEmptyList(sc.Args.map((a) => defined<oci.LinuxSeccompArg>({
        index: smallFromProto(a.Index),
        value: canonicalInt(a.Value),
        valueTwo: nonZeroWide(a.ValueTwo),
        op: a.Op,
      }))),
    }))),
  });
}

/** Converts grpc.LinuxResources to the JSON form. */
export function resourcesFromProto(r: pb.LinuxResources, opts?: FromProtoOptions): oci.LinuxResources {
  const mem = r.Memory;
  const cpu = r.CPU;
  const net = r.Network;
  return defined<oci.LinuxResources>({
    devices: nonEmptyList(r.Devices.map((d) => deviceCgroupFromProto(d, opts))),
    memory: mem === undefined ? undefined : defined({
      limit: nonZeroWide(mem.Limit),
      reservation: nonZeroWide(mem.Reservation),
      swap: nonZeroWide(mem.Swap),
      kernel: nonZeroWide(mem.Kernel),
      kernelTCP: nonZeroWide(mem.KernelTCP),
      swappiness: nonZeroWide(mem.Swappiness),
      disableOOMKiller: onlyTrue(mem.DisableOOMKiller),
    }),
    cpu: cpu === undefined ? undefined : defined({
      shares: nonZeroWide(cpu.Shares),
      quota: nonZeroWide(cpu.Quota),
      period: nonZeroWide(cpu.Period),
      realtimeRuntime: nonZeroWide(cpu.RealtimeRuntime),
      realtimePeriod: nonZeroWide(cpu.RealtimePeriod),
      cpus: nonEmpty(cpu.Cpus),
      mems: nonEmpty(cpu.Mems),
    }),
    pids: r.Pids === undefined ? undefined : { limit: canonicalInt(r.Pids.Limit) },
    blockIO: r.BlockIO === undefined ? undefined : blockIOFromProto(r.BlockIO),
    hugepageLimits: nonEmptyList(r.HugepageLimits.map((h) => ({ pageSize: h.Pagesize, limit: canonicalInt(h.Limit) }))),
    network: net === undefined ? undefined : defined({
      classID: nonZero(net.ClassID),
      priorities: nonEmptyList(net.Priorities.map((p) => ({ name: p.Name, priority: p.Priority }))),
    }),
  });
}

/** Converts one device cgroup rule; a major or minor <= 0 becomes "any" (omitted), see wildcardFromProto. */
export function deviceCgroupFromProto(d: pb.LinuxDeviceCgroup, opts?: FromProtoOptions): oci.LinuxDeviceCgroup {
  return defined<oci.LinuxDeviceCgroup>({
    allow: d.Allow,
    type: nonEmpty(d.Type) as oci.LinuxDeviceRuleType | undefined,
    major: wildcardFromProto(d.Major, opts),
    minor: wildcardFromProto(d.Minor, opts),
    access: nonEmpty(d.Access),
  });
}

function blockIOFromProto(b: pb.LinuxBlockIO): oci.LinuxBlockIO {
  const throttle = (list: pb.LinuxThrottleDevice[]) =>
    nonEmptyList(list.map((t) => ({ major: smallFromProto(t.Major), minor: smallFromProto(t.Minor), rate: canonicalInt(t.Rate) })));
  return defined<oci.LinuxBlockIO>({
    weight: nonZero(b.Weight),
    leafWeight: nonZero(b.LeafWeight),
    weightDevice: nonEmptyList(b.WeightDevice.map((w) => defined({
      major: smallFromProto(w.Major),
      minor: smallFromProto(w.Minor),
      weight: nonZero(w.Weight),
      leafWeight: nonZero(w.LeafWeight),
    }))),
    throttleReadBpsDevice: throttle(b.ThrottleReadBpsDevice),
    throttleWriteBpsDevice: throttle(b.ThrottleWriteBpsDevice),
    throttleReadIOPSDevice: throttle(b.ThrottleReadIOPSDevice),
    throttleWriteIOPSDevice: throttle(b.ThrottleWriteIOPSDevice),
  });
}

// ------------------------------------------------------------------ what is lost

/**
 * Lists the JSON paths of values in `spec` that do not survive a trip
 * through the protobuf (fields the protobuf lacks, unknown keys, and values
 * it cannot tell from absence, such as `"hostname": ""`). Useful for a
 * warning before sending a spec to the agent.
 */
export function lostInProto(spec: oci.Spec, opts?: FromProtoOptions): string[] {
  const back = specFromProto(specToProto(spec), opts);
  const out: (string | number)[][] = [];
  diff(spec, back, [], out);
  return out.map((path) => formatPath(path));
}

/** Collects the paths where `a` and `b` differ (added, removed or changed values). */
function diff(a: unknown, b: unknown, path: (string | number)[], out: (string | number)[][]): void {
  if (a === b) return;
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      a.forEach((item, i) => diff(item, b[i], [...path, i], out));
      return;
    }
    if (!Array.isArray(a) && !Array.isArray(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        diff((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], [...path, key], out);
      }
      return;
    }
  }
  out.push(path);
}
