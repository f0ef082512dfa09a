// Device remapping, step 2: apply a plan to produce the new spec.
//
// See plan.ts for the semantics. This file only copies: the input spec is
// never modified, changed entries are new objects, and everything unchanged
// (other spec fields, untouched devices and rules) is shared with the input.
// Treat both as immutable, or clone before mutating.
import { planDeviceRemap, specDevices, specRules, type DeviceRemapPlan } from './plan.js';
import type { DeviceCgroupRule, DeviceUpdate, RemappableSpec, SpecDeviceEntry } from './types.js';

/**
 * Rewrites `spec` so its devices and device cgroup rules carry the guest
 * numbers given by `updates`. Returns a new spec (or `spec` itself when
 * `updates` is empty). Throws a DeviceRemapError subclass, leaving nothing
 * changed, when the updates do not fit the spec.
 */
export function remapSpecDevices<S extends RemappableSpec>(spec: S, updates: readonly DeviceUpdate[]): S {
  return applyDeviceRemapPlan(spec, planDeviceRemap(spec, updates));
}

/** Builds the remapped spec from a plan made for this very spec. */
export function applyDeviceRemapPlan<S extends RemappableSpec>(spec: S, plan: DeviceRemapPlan): S {
  const { deviceChanges, ruleChanges, appended } = plan;
  if (plan.empty) return spec;
  const linux = spec.linux!;

  const devices: SpecDeviceEntry[] = specDevices(spec).map((entry, i) => deviceChanges[i]?.after ?? entry);
  const nextLinux: Record<string, unknown> = { ...linux, devices };

  if (ruleChanges.some((c) => c !== undefined) || appended.length > 0) {
    const rules: DeviceCgroupRule[] = specRules(spec).map((rule, i) => ruleChanges[i]?.after ?? rule);
    for (const a of appended) rules.push(a.rule);
    nextLinux.resources = { ...(linux.resources ?? {}), devices: rules };
  }
  return { ...spec, linux: nextLinux } as S;
}
