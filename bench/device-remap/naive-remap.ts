// THE NAIVE ONE-AT-A-TIME ALGORITHM - a reference for tests and benchmarks.
// NOT FOR PRODUCTION: it is wrong on purpose.
//
// It does what the obvious loop does: for each update in turn, find the
// device by path in the spec AS IT IS NOW (already partly rewritten), set its
// numbers, then rewrite every rule that has the device's current numbers.
// When a guest number of one device is the host number of another (a chain
// a->b, b->c, or a swap a<->b), a rule already moved to the guest numbers is
// found again and moved a second time. It also scans the whole device and
// rule lists per update, so it is quadratic.
//
// Apart from that it follows our rules (type-aware matching, one appended
// allow rule per guest device for devices no rule names), so that fed the
// updates in linux.devices order it differs from ours only where the
// one-at-a-time lookups go wrong.
//
// The property test uses it to show that a collision-unaware algorithm gets
// generated cases wrong where ours does not; the benchmark runs it beside ours.
import type { DeviceCgroupRule, DeviceUpdate, RemappableSpec, SpecDeviceEntry } from '../../src/oci/devices/types.js';

export function naiveRemapSpecDevices<S extends RemappableSpec>(spec: S, updates: readonly DeviceUpdate[]): S {
  const out = structuredClone(spec) as S;
  if (updates.length === 0) return out;
  const linux = out.linux;
  if (!linux) throw new Error('no linux section');
  const devices = (linux.devices ?? []) as SpecDeviceEntry[];
  linux.resources ??= {};
  const rules = (linux.resources.devices ??= []) as DeviceCgroupRule[];

  const appended = new Set<string>(); // one appended rule per guest device, as ours
  for (const u of updates) {
    const entry = devices.find((d) => d.path === u.containerPath); // searches the CURRENT state
    if (!entry) throw new Error(`device ${u.containerPath} not found`);
    const type = entry.type === 'b' ? 'b' : 'c';
    const [hostMajor, hostMinor] = [entry.major, entry.minor];
    entry.major = u.major;
    entry.minor = u.minor;
    if (u.finalPath !== undefined) entry.path = u.finalPath;

    let referenced = false;
    for (const r of rules) {
      if (r.type === type && r.major === hostMajor && r.minor === hostMinor) {
        r.major = u.major; // may be a rule an earlier update already moved
        r.minor = u.minor;
        referenced = true;
      }
    }
    const guestKey = `${u.type}:${u.major}:${u.minor}`;
    if (!referenced && !appended.has(guestKey)) {
      appended.add(guestKey);
      rules.push({ allow: true, type: u.type, major: u.major, minor: u.minor, access: 'rwm' });
    }
  }
  return out;
}
