// Zod schemas for the OCI runtime spec config.json (runtime-spec 1.2), Linux
// and POSIX parts. Windows, Solaris, VM and z/OS sections are not modelled.
//
// Every object is "loose": keys we do not model are kept as they are, because
// config.json files carry fields from newer spec versions and vendor
// extensions, and a runtime must pass them on untouched.
//
// Required fields follow the spec's JSON schema. Where the spec constrains
// values more tightly than "any string" we check it only when the constraint
// is cheap and unambiguous (device types, access strings, hook timeouts,
// non-empty syscall name lists); enumerations that grow with each spec
// release (namespace types, seccomp actions and architectures) are plain
// strings.

import { z } from 'zod';
import { deviceNumber, int32, int64, integer, uint16, uint32, uint64 } from './integers.js';

const stringArray = () => z.array(z.string());
const stringMap = () => z.record(z.string(), z.string());

// ---------------------------------------------------------------- process

export const BoxSchema = z.looseObject({
  height: uint32(),
  width: uint32(),
});

export const UserSchema = z.looseObject({
  uid: uint32(),
  gid: uint32(),
  umask: uint32().optional(),
  additionalGids: z.array(uint32()).optional(),
  username: z.string().optional(),
});

export const LinuxCapabilitiesSchema = z.looseObject({
  bounding: stringArray().optional(),
  effective: stringArray().optional(),
  inheritable: stringArray().optional(),
  permitted: stringArray().optional(),
  ambient: stringArray().optional(),
});

export const POSIXRlimitSchema = z.looseObject({
  type: z.string(),
  hard: uint64(),
  soft: uint64(),
});

export const SchedulerSchema = z.looseObject({
  policy: z.string(),
  nice: int32().optional(),
  priority: int32().optional(),
  flags: stringArray().optional(),
  runtime: uint64().optional(),
  deadline: uint64().optional(),
  period: uint64().optional(),
});

export const IOPrioritySchema = z.looseObject({
  class: z.string(),
  priority: int32().optional(),
});

export const CPUAffinitySchema = z.looseObject({
  initial: z.string().optional(),
  final: z.string().optional(),
});

export const ProcessSchema = z.looseObject({
  terminal: z.boolean().optional(),
  consoleSize: BoxSchema.optional(),
  user: UserSchema.optional(),
  args: stringArray().optional(),
  commandLine: z.string().optional(),
  env: stringArray().optional(),
  cwd: z.string(),
  capabilities: LinuxCapabilitiesSchema.optional(),
  rlimits: z.array(POSIXRlimitSchema).optional(),
  noNewPrivileges: z.boolean().optional(),
  apparmorProfile: z.string().optional(),
  oomScoreAdj: integer(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER).optional(),
  scheduler: SchedulerSchema.optional(),
  selinuxLabel: z.string().optional(),
  ioPriority: IOPrioritySchema.optional(),
  execCPUAffinity: CPUAffinitySchema.optional(),
});

// ---------------------------------------------------------------- root, mounts, hooks

export const RootSchema = z.looseObject({
  path: z.string(),
  readonly: z.boolean().optional(),
});

export const LinuxIDMappingSchema = z.looseObject({
  containerID: uint32(),
  hostID: uint32(),
  size: uint32(),
});

export const MountSchema = z.looseObject({
  destination: z.string(),
  type: z.string().optional(),
  source: z.string().optional(),
  options: stringArray().optional(),
  uidMappings: z.array(LinuxIDMappingSchema).optional(),
  gidMappings: z.array(LinuxIDMappingSchema).optional(),
});

export const HookSchema = z.looseObject({
  path: z.string(),
  args: stringArray().optional(),
  env: stringArray().optional(),
  // The spec requires a timeout, when present, to be greater than zero.
  timeout: integer(1, Number.MAX_SAFE_INTEGER).optional(),
});

export const HooksSchema = z.looseObject({
  prestart: z.array(HookSchema).optional(),
  createRuntime: z.array(HookSchema).optional(),
  createContainer: z.array(HookSchema).optional(),
  startContainer: z.array(HookSchema).optional(),
  poststart: z.array(HookSchema).optional(),
  poststop: z.array(HookSchema).optional(),
});

// ---------------------------------------------------------------- linux: devices

/** Device node types in linux.devices: char, block, unbuffered char, FIFO. */
export const DEVICE_TYPES = ['c', 'b', 'u', 'p'] as const;
/** Device types in cgroup rules: all, char, block. */
export const DEVICE_RULE_TYPES = ['a', 'c', 'b'] as const;

export const LinuxDeviceSchema = z
  .looseObject({
    path: z.string(),
    type: z.enum(DEVICE_TYPES),
    // Required unless type is "p" (checked below).
    major: deviceNumber().optional(),
    minor: deviceNumber().optional(),
    fileMode: uint32().optional(),
    uid: uint32().optional(),
    gid: uint32().optional(),
  })
  .superRefine(
    (dev, ctx) => {
      for (const key of ['major', 'minor'] as const) {
        if (dev[key] === undefined) {
          ctx.addIssue({ code: 'custom', path: [key], message: `required for device type "${dev.type}"` });
        }
      }
    },
    // Run even when other fields of the device are bad, so that all problems
    // are reported at once, but only for types that need device numbers.
    { when: (payload) => needsDeviceNumbers(payload.value) },
  );

function needsDeviceNumbers(dev: unknown): boolean {
  if (dev === null || typeof dev !== 'object') return false;
  const type = (dev as { type?: unknown }).type;
  return type === 'c' || type === 'b' || type === 'u';
}

export const LinuxDeviceCgroupSchema = z.looseObject({
  allow: z.boolean(),
  type: z.enum(DEVICE_RULE_TYPES).optional(),
  // null or absent means "any".
  major: deviceNumber().nullable().optional(),
  minor: deviceNumber().nullable().optional(),
  access: z
    .string()
    .regex(/^[rwm]*$/, { error: 'expected a combination of "r", "w" and "m"' })
    .optional(),
});

// ---------------------------------------------------------------- linux: resources

export const LinuxMemorySchema = z.looseObject({
  limit: int64().optional(),
  reservation: int64().optional(),
  swap: int64().optional(),
  kernel: int64().optional(),
  kernelTCP: int64().optional(),
  swappiness: uint64().optional(),
  disableOOMKiller: z.boolean().optional(),
  useHierarchy: z.boolean().optional(),
  checkBeforeUpdate: z.boolean().optional(),
});

export const LinuxCPUSchema = z.looseObject({
  shares: uint64().optional(),
  quota: int64().optional(),
  burst: uint64().optional(),
  period: uint64().optional(),
  realtimeRuntime: int64().optional(),
  realtimePeriod: uint64().optional(),
  cpus: z.string().optional(),
  mems: z.string().optional(),
  idle: int64().optional(),
});

export const LinuxPidsSchema = z.looseObject({
  limit: int64(),
});

export const LinuxWeightDeviceSchema = z.looseObject({
  major: deviceNumber(),
  minor: deviceNumber(),
  weight: uint16().optional(),
  leafWeight: uint16().optional(),
});

export const LinuxThrottleDeviceSchema = z.looseObject({
  major: deviceNumber(),
  minor: deviceNumber(),
  rate: uint64(),
});

export const LinuxBlockIOSchema = z.looseObject({
  weight: uint16().optional(),
  leafWeight: uint16().optional(),
  weightDevice: z.array(LinuxWeightDeviceSchema).optional(),
  throttleReadBpsDevice: z.array(LinuxThrottleDeviceSchema).optional(),
  throttleWriteBpsDevice: z.array(LinuxThrottleDeviceSchema).optional(),
  throttleReadIOPSDevice: z.array(LinuxThrottleDeviceSchema).optional(),
  throttleWriteIOPSDevice: z.array(LinuxThrottleDeviceSchema).optional(),
});

export const LinuxHugepageLimitSchema = z.looseObject({
  pageSize: z.string(),
  limit: uint64(),
});

export const LinuxInterfacePrioritySchema = z.looseObject({
  name: z.string(),
  priority: uint32(),
});

export const LinuxNetworkSchema = z.looseObject({
  classID: uint32().optional(),
  priorities: z.array(LinuxInterfacePrioritySchema).optional(),
});

export const LinuxRdmaSchema = z.looseObject({
  hcaHandles: uint32().optional(),
  hcaObjects: uint32().optional(),
});

export const LinuxResourcesSchema = z.looseObject({
  devices: z.array(LinuxDeviceCgroupSchema).optional(),
  memory: LinuxMemorySchema.optional(),
  cpu: LinuxCPUSchema.optional(),
  pids: LinuxPidsSchema.optional(),
  blockIO: LinuxBlockIOSchema.optional(),
  hugepageLimits: z.array(LinuxHugepageLimitSchema).optional(),
  network: LinuxNetworkSchema.optional(),
  rdma: z.record(z.string(), LinuxRdmaSchema).optional(),
  unified: stringMap().optional(),
});

// ---------------------------------------------------------------- linux: seccomp

export const LinuxSeccompArgSchema = z.looseObject({
  index: uint32(),
  value: uint64(),
  valueTwo: uint64().optional(),
  op: z.string(),
});

export const LinuxSyscallSchema = z.looseObject({
  names: stringArray().min(1),
  action: z.string(),
  errnoRet: uint32().optional(),
  args: z.array(LinuxSeccompArgSchema).optional(),
});

export const LinuxSeccompSchema = z.looseObject({
  defaultAction: z.string(),
  defaultErrnoRet: uint32().optional(),
  architectures: stringArray().optional(),
  flags: stringArray().optional(),
  listenerPath: z.string().optional(),
  listenerMetadata: z.string().optional(),
  syscalls: z.array(LinuxSyscallSchema).optional(),
});

// ---------------------------------------------------------------- linux: the rest

export const LinuxNamespaceSchema = z.looseObject({
  type: z.string(),
  path: z.string().optional(),
});

export const LinuxIntelRdtSchema = z.looseObject({
  closID: z.string().optional(),
  l3CacheSchema: z.string().optional(),
  memBwSchema: z.string().optional(),
  enableCMT: z.boolean().optional(),
  enableMBM: z.boolean().optional(),
});

export const LinuxPersonalitySchema = z.looseObject({
  domain: z.string(),
  flags: stringArray().optional(),
});

export const LinuxTimeOffsetSchema = z.looseObject({
  secs: int64().optional(),
  nanosecs: uint32().optional(),
});

export const LinuxSchema = z.looseObject({
  uidMappings: z.array(LinuxIDMappingSchema).optional(),
  gidMappings: z.array(LinuxIDMappingSchema).optional(),
  timeOffsets: z.record(z.string(), LinuxTimeOffsetSchema).optional(),
  sysctl: stringMap().optional(),
  resources: LinuxResourcesSchema.optional(),
  cgroupsPath: z.string().optional(),
  namespaces: z.array(LinuxNamespaceSchema).optional(),
  devices: z.array(LinuxDeviceSchema).optional(),
  seccomp: LinuxSeccompSchema.optional(),
  rootfsPropagation: z.string().optional(),
  maskedPaths: stringArray().optional(),
  readonlyPaths: stringArray().optional(),
  mountLabel: z.string().optional(),
  intelRdt: LinuxIntelRdtSchema.optional(),
  personality: LinuxPersonalitySchema.optional(),
});

// ---------------------------------------------------------------- the whole spec

export const SpecSchema = z.looseObject({
  ociVersion: z.string(),
  process: ProcessSchema.optional(),
  root: RootSchema.optional(),
  hostname: z.string().optional(),
  domainname: z.string().optional(),
  mounts: z.array(MountSchema).optional(),
  hooks: HooksSchema.optional(),
  annotations: stringMap().optional(),
  linux: LinuxSchema.optional(),
});
