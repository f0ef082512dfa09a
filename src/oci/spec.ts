// The OCI runtime spec (config.json) as TypeScript types, and validating
// parsers for untrusted JSON. The types are inferred from the zod schemas in
// schema.ts, so the two cannot drift apart.
//
// Every object type allows extra keys (`[key: string]: unknown`): fields we do
// not model are preserved by parsing.
//
// 64-bit integer fields are `number | bigint` (see integers.ts): a number when
// the value is a safe integer, a bigint otherwise.

import type { z } from 'zod';
import * as s from './schema.js';
import { problemsFromIssues, SpecValidationError } from './validation-error.js';

export type { Int64, UInt64 } from './integers.js';
export { SpecValidationError } from './validation-error.js';
export type { SpecProblem } from './validation-error.js';
export { DEVICE_RULE_TYPES, DEVICE_TYPES } from './schema.js';

export type Spec = z.infer<typeof s.SpecSchema>;
export type Process = z.infer<typeof s.ProcessSchema>;
export type Box = z.infer<typeof s.BoxSchema>;
export type User = z.infer<typeof s.UserSchema>;
export type LinuxCapabilities = z.infer<typeof s.LinuxCapabilitiesSchema>;
export type POSIXRlimit = z.infer<typeof s.POSIXRlimitSchema>;
export type Scheduler = z.infer<typeof s.SchedulerSchema>;
export type IOPriority = z.infer<typeof s.IOPrioritySchema>;
export type CPUAffinity = z.infer<typeof s.CPUAffinitySchema>;
export type Root = z.infer<typeof s.RootSchema>;
export type Mount = z.infer<typeof s.MountSchema>;
export type Hooks = z.infer<typeof s.HooksSchema>;
export type Hook = z.infer<typeof s.HookSchema>;
export type Linux = z.infer<typeof s.LinuxSchema>;
export type LinuxIDMapping = z.infer<typeof s.LinuxIDMappingSchema>;
export type LinuxTimeOffset = z.infer<typeof s.LinuxTimeOffsetSchema>;
export type LinuxNamespace = z.infer<typeof s.LinuxNamespaceSchema>;
export type LinuxDevice = z.infer<typeof s.LinuxDeviceSchema>;
export type LinuxDeviceType = (typeof s.DEVICE_TYPES)[number];
export type LinuxResources = z.infer<typeof s.LinuxResourcesSchema>;
export type LinuxDeviceCgroup = z.infer<typeof s.LinuxDeviceCgroupSchema>;
export type LinuxDeviceRuleType = (typeof s.DEVICE_RULE_TYPES)[number];
export type LinuxMemory = z.infer<typeof s.LinuxMemorySchema>;
export type LinuxCPU = z.infer<typeof s.LinuxCPUSchema>;
export type LinuxPids = z.infer<typeof s.LinuxPidsSchema>;
export type LinuxBlockIO = z.infer<typeof s.LinuxBlockIOSchema>;
export type LinuxWeightDevice = z.infer<typeof s.LinuxWeightDeviceSchema>;
export type LinuxThrottleDevice = z.infer<typeof s.LinuxThrottleDeviceSchema>;
export type LinuxHugepageLimit = z.infer<typeof s.LinuxHugepageLimitSchema>;
export type LinuxNetwork = z.infer<typeof s.LinuxNetworkSchema>;
export type LinuxInterfacePriority = z.infer<typeof s.LinuxInterfacePrioritySchema>;
export type LinuxRdma = z.infer<typeof s.LinuxRdmaSchema>;
export type LinuxSeccomp = z.infer<typeof s.LinuxSeccompSchema>;
export type LinuxSyscall = z.infer<typeof s.LinuxSyscallSchema>;
export type LinuxSeccompArg = z.infer<typeof s.LinuxSeccompArgSchema>;
export type LinuxIntelRdt = z.infer<typeof s.LinuxIntelRdtSchema>;
export type LinuxPersonality = z.infer<typeof s.LinuxPersonalitySchema>;

/** Options for the parse functions. */
export interface ParseOptions {
  /**
   * Prepended to every reported path, when the value being parsed sits inside
   * a larger document (e.g. `process` for an ExecProcess request).
   */
  pathPrefix?: string;
}

function parseWith<T extends z.ZodType>(schema: T, what: string, json: unknown, opts?: ParseOptions): z.infer<T> {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  throw new SpecValidationError(problemsFromIssues(result.error.issues, json, opts?.pathPrefix), what);
}

/**
 * Validates a parsed config.json and returns it typed. Unknown keys are kept;
 * the input is not modified. Throws SpecValidationError naming the path of
 * every bad field.
 */
export function parseSpec(json: unknown, opts?: ParseOptions): Spec {
  return parseWith(s.SpecSchema, 'OCI runtime spec', json, opts);
}

/** Validates a `process` object on its own (as ExecProcess receives it). */
export function parseProcess(json: unknown, opts?: ParseOptions): Process {
  return parseWith(s.ProcessSchema, 'OCI process', json, opts);
}

/** Validates a `linux.resources` object on its own (as UpdateContainer receives it). */
export function parseResources(json: unknown, opts?: ParseOptions): LinuxResources {
  return parseWith(s.LinuxResourcesSchema, 'OCI linux resources', json, opts);
}
