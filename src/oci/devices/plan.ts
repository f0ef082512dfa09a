// Device remapping, step 1: decide everything from the ORIGINAL spec.
//
// The runtime builds the container spec on the host, so linux.devices and
// the cgroup rules in linux.resources.devices carry HOST major/minor
// numbers. In the VM the same devices have other (guest) numbers. Each
// DeviceUpdate says "the device the spec calls <containerPath> is guest
// <type> <major>:<minor> here"; this module works out what changes.
//
// The invariant: every lookup is made against the original spec, never
// against a partly rewritten one. Host and guest numbers live in the same
// small space (1:3, 1:5, 254:0 ...), so a guest value written for one
// device is often the host value of another. Rewriting one device at a time
// and searching the half-updated spec for the next one then finds the wrong
// entries: a chain a->b, b->c turns a's rule into c, and a swap a<->b undoes
// itself. Deciding every change up front, from original values only, and
// applying them afterwards makes the result independent of update order and
// rewrites each entry at most once.
//
// The rules, all against the original spec:
// - A linux.devices entry is found by path and gets the guest major/minor
//   (and path = finalPath when given). Nothing else in it changes.
// - A cgroup rule is rewritten if its (type, major, minor) equals the
//   ORIGINAL (type, major, minor) of an updated device; it gets that
//   device's guest major/minor, and keeps allow and access. The type must
//   match: a char and a block device with the same numbers are different
//   devices. Rules with a wildcard major or minor (null/absent; a negative
//   number is treated as a wildcard too, as runc does with -1) or of type
//   "a" (or no type) are never rewritten.
// - An updated device that no original rule names by (type, major, minor)
//   gets a new rule {allow: true, type, guest major, guest minor, "rwm"},
//   appended after the existing rules in linux.devices order (not update
//   order, so that the result does not depend on update order); one rule
//   per distinct guest device.
//
// Where we differ from the upstream agent (on purpose):
// - Upstream appends an "rwm" allow rule for EVERY device it handles, even
//   when the spec already has a rule for it. That widens a rule the user
//   wrote as read-only (e.g. "r") to read-write-mknod. We append only for
//   devices no rule mentions, so an explicit rule (allow or deny, any
//   access) stays in charge.
// - Upstream silently drops that rule when linux.resources is absent (it is
//   pushed onto a temporary). We create linux.resources(.devices) instead.
// - Upstream refuses any two updates with the same original numbers; we
//   accept them when they agree on the guest numbers (the same device made
//   visible at two container paths), and refuse only real conflicts.
// - We also refuse an update whose block/char type disagrees with the
//   spec entry, an update for a path listed twice in linux.devices, and
//   renames that leave two different devices at one path.
import {
  AmbiguousDevicePathError,
  DeviceRemapError,
  ConflictingDeviceUpdateError,
  DeviceNotInSpecError,
  DeviceTypeMismatchError,
  DuplicateDeviceUpdateError,
  FinalPathConflictError,
  InvalidDeviceUpdateError,
  InvalidSpecDevicesError,
  MissingLinuxSectionError,
} from './errors.js';
import type {
  DeviceClass,
  DeviceCgroupRule,
  DeviceNumbers,
  DeviceUpdate,
  RemappableSpec,
  SpecDeviceEntry,
} from './types.js';

/** Largest major or minor we accept: device numbers are 32-bit in dev_t. */
const DEVICE_NUMBER_MAX = 0xffffffff;

/** The change planned for one linux.devices entry. */
export interface DeviceChange {
  /** The entry after remapping. */
  readonly after: SpecDeviceEntry;
  /** Its (class, major, minor) in the original spec. */
  readonly original: DeviceNumbers;
  /** Its guest (class, major, minor): the update itself. */
  readonly guest: DeviceNumbers;
  readonly update: DeviceUpdate;
  /** deviceKey(original), kept to avoid recomputing it. */
  readonly originalKey: DeviceKey;
}

/** The change planned for one linux.resources.devices rule. */
export interface RuleChange {
  readonly after: DeviceCgroupRule;
  /** The original numbers the rule matched. */
  readonly original: DeviceNumbers;
  /** Original path of the (first, in linux.devices order) device it followed. */
  readonly devicePath: string;
}

/** A rule to append for a device no original rule mentions. */
export interface AppendedRule {
  readonly rule: DeviceCgroupRule;
  /** Original path of the device it was appended for. */
  readonly devicePath: string;
}

/** Everything remapping will do, decided from the original spec. */
export interface DeviceRemapPlan {
  /**
   * Indexed like linux.devices: the change for each entry, undefined for
   * entries that stay as they are. (Arrays, not Maps: at 100k entries hash
   * lookups are what costs, see deviceKey.)
   */
  readonly deviceChanges: readonly (DeviceChange | undefined)[];
  /** Indexed like linux.resources.devices: the change for each rule, or undefined. */
  readonly ruleChanges: readonly (RuleChange | undefined)[];
  /** Rules to add after the existing ones, in linux.devices order. */
  readonly appended: readonly AppendedRule[];
  /** True when the plan changes nothing. */
  readonly empty: boolean;
}

/** Why a rule can never be rewritten, whatever the updates are. */
export type RuleSkipReason = 'type-a' | 'wildcard';

/** The devices-cgroup class of a linux.devices type ("u" is a char device). */
export function deviceClassOf(entryType: unknown): DeviceClass | undefined {
  if (entryType === 'b') return 'b';
  if (entryType === 'c' || entryType === 'u') return 'c';
  return undefined;
}

/** A Map key standing for one (class, major, minor) triple (see deviceKey). */
export type DeviceKey = number | string;

/**
 * Map key for a (class, major, minor) triple; equal keys iff equal triples.
 * Numbers hash and compare much faster than strings built on the fly, and
 * small integers ("Smis", below 2^30) fastest of all, which matters at 100k
 * devices. So:
 * - major < 2^10 and minor < 2^19 (nearly every real device): the
 *   non-negative integer (major * 2^19 + minor) * 2 + block, below 2^30;
 * - otherwise, major < 2^19: the negative integer
 *   -(major * 2^33 + minor * 2 + block) - 1, exact (at most 2^52 in size)
 *   and disjoint from the first form;
 * - otherwise a string.
 */
export function deviceKey(type: DeviceClass, major: number, minor: number): DeviceKey {
  const block = type === 'b' ? 1 : 0;
  if (major < 0x400 && minor < 0x80000) return (major * 0x80000 + minor) * 2 + block;
  if (major < 0x80000) return -(major * 2 ** 33 + minor * 2 + block) - 1;
  return `${type}:${major}:${minor}`;
}

/** deviceKey of a triple. */
export function numbersKey(n: DeviceNumbers): DeviceKey {
  return deviceKey(n.type, n.major, n.minor);
}

/** Human form, e.g. "c 1:3". */
export function formatNumbers(n: DeviceNumbers): string {
  return `${n.type} ${n.major}:${n.minor}`;
}

/**
 * The (type, major, minor) a rule names, or why it names no single device:
 * type "a"/absent, or a wildcard major or minor. A rule whose numbers are
 * not numbers at all names nothing either (returned as undefined).
 */
export function ruleTarget(rule: DeviceCgroupRule): DeviceNumbers | RuleSkipReason | undefined {
  const type = rule.type;
  if (type === undefined || type === null || type === 'a') return 'type-a';
  if (isWildcard(rule.major) || isWildcard(rule.minor)) return 'wildcard';
  if ((type !== 'b' && type !== 'c') || !isDeviceNumber(rule.major) || !isDeviceNumber(rule.minor)) {
    return undefined;
  }
  return { type, major: rule.major, minor: rule.minor };
}

function isWildcard(n: unknown): boolean {
  return n === undefined || n === null || (typeof n === 'number' && n < 0);
}

function isDeviceNumber(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= DEVICE_NUMBER_MAX;
}

/** Checks one update's fields; throws InvalidDeviceUpdateError naming the field. */
export function validateDeviceUpdate(u: DeviceUpdate, index: number): void {
  if (typeof u !== 'object' || u === null) {
    throw new InvalidDeviceUpdateError(index, 'update', 'must be an object');
  }
  if (typeof u.containerPath !== 'string' || !u.containerPath.startsWith('/')) {
    throw new InvalidDeviceUpdateError(
      index,
      'containerPath',
      `must be an absolute path, got ${JSON.stringify(u.containerPath)}`,
    );
  }
  const where = `(for ${u.containerPath})`;
  if (u.type !== 'b' && u.type !== 'c') {
    throw new InvalidDeviceUpdateError(index, 'type', `must be "b" or "c", got ${JSON.stringify(u.type)} ${where}`);
  }
  for (const field of ['major', 'minor'] as const) {
    if (!isDeviceNumber(u[field])) {
      throw new InvalidDeviceUpdateError(
        index,
        field,
        `must be an integer in 0..${DEVICE_NUMBER_MAX}, got ${JSON.stringify(u[field])} ${where}`,
      );
    }
  }
  if (u.finalPath !== undefined && (typeof u.finalPath !== 'string' || !u.finalPath.startsWith('/'))) {
    throw new InvalidDeviceUpdateError(
      index,
      'finalPath',
      `must be an absolute path when given, got ${JSON.stringify(u.finalPath)} ${where}`,
    );
  }
}

function arrayOrEmpty<T>(value: readonly T[] | null | undefined, what: string): readonly T[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InvalidSpecDevicesError(`${what} must be an array`);
  return value;
}

/** The spec's linux.devices list (empty if absent). */
export function specDevices(spec: RemappableSpec): readonly SpecDeviceEntry[] {
  return arrayOrEmpty(spec.linux?.devices, 'linux.devices');
}

/** The spec's linux.resources.devices list (empty if absent). */
export function specRules(spec: RemappableSpec): readonly DeviceCgroupRule[] {
  return arrayOrEmpty(spec.linux?.resources?.devices, 'linux.resources.devices');
}

/**
 * Plans the remapping of `spec` for `updates`. Pure: reads the spec, never
 * writes it. Throws a DeviceRemapError subclass on bad input.
 */
export function planDeviceRemap(spec: RemappableSpec, updates: readonly DeviceUpdate[]): DeviceRemapPlan {
  updates.forEach(validateDeviceUpdate);

  // Each container path may be updated once. `deviceIndex` is filled below.
  const byPath = new Map<string, { update: DeviceUpdate; deviceIndex: number }>();
  const duplicated = new Set<string>();
  for (const update of updates) {
    if (byPath.has(update.containerPath)) duplicated.add(update.containerPath);
    byPath.set(update.containerPath, { update, deviceIndex: -1 });
  }
  if (duplicated.size > 0) throw new DuplicateDeviceUpdateError([...duplicated].sort());

  if (updates.length === 0) return { deviceChanges: [], ruleChanges: [], appended: [], empty: true };
  if (spec.linux === undefined || spec.linux === null || typeof spec.linux !== 'object') {
    throw new MissingLinuxSectionError();
  }
  const devices = specDevices(spec);
  const rules = specRules(spec);

  // One pass over the original linux.devices, in order: find each updated
  // path (exactly once) and plan its new entry. Problems with an entry are
  // reported after the path checks, so which error wins does not depend on
  // where in the list things went wrong.
  const ambiguous = new Set<string>();
  let entryProblem: DeviceRemapError | undefined;
  let foundCount = 0;
  const deviceChanges: (DeviceChange | undefined)[] = new Array(devices.length);
  for (let index = 0; index < devices.length; index++) {
    const entry = devices[index]!;
    const found = byPath.get(entry?.path);
    if (found === undefined) continue;
    if (found.deviceIndex >= 0) {
      ambiguous.add(entry.path);
      continue;
    }
    found.deviceIndex = index;
    foundCount++;
    const update = found.update;
    const cls = deviceClassOf(entry.type);
    if (cls !== update.type) {
      entryProblem ??= new DeviceTypeMismatchError(entry.path, String(entry.type), update.type);
      continue;
    }
    if (!isDeviceNumber(entry.major) || !isDeviceNumber(entry.minor)) {
      entryProblem ??= new InvalidSpecDevicesError(
        `linux.devices entry ${entry.path} needs integer major and minor numbers, ` +
          `got ${JSON.stringify(entry.major)}:${JSON.stringify(entry.minor)}`,
      );
      continue;
    }
    const after: SpecDeviceEntry = { ...entry, major: update.major, minor: update.minor };
    if (update.finalPath !== undefined) after.path = update.finalPath;
    deviceChanges[index] = {
      after,
      original: { type: cls, major: entry.major, minor: entry.minor },
      guest: update,
      update,
      originalKey: deviceKey(cls, entry.major, entry.minor),
    };
  }
  if (foundCount < byPath.size) {
    const missing = [...byPath.values()].filter((f) => f.deviceIndex < 0).map((f) => f.update.containerPath);
    throw new DeviceNotInSpecError(missing.sort());
  }
  if (ambiguous.size > 0) throw new AmbiguousDevicePathError([...ambiguous].sort());
  if (entryProblem) throw entryProblem;

  // Walk in linux.devices order so errors and "first device" do not depend
  // on update order.
  const groups = new Map<DeviceKey, { first: DeviceChange; referenced: boolean }>();
  for (const change of deviceChanges) {
    if (change === undefined) continue;
    const group = groups.get(change.originalKey);
    if (group === undefined) {
      groups.set(change.originalKey, { first: change, referenced: false });
    } else if (group.first.guest.major !== change.guest.major || group.first.guest.minor !== change.guest.minor) {
      throw new ConflictingDeviceUpdateError(
        formatNumbers(change.original),
        { path: group.first.update.containerPath, guest: formatNumbers(group.first.guest) },
        { path: change.update.containerPath, guest: formatNumbers(change.guest) },
      );
    }
  }

  checkFinalPaths(devices, deviceChanges);

  // Plan the rules: each original rule is looked up once, by its own
  // original numbers, so it is rewritten at most once.
  const ruleChanges: (RuleChange | undefined)[] = new Array(rules.length);
  for (let index = 0; index < rules.length; index++) {
    const rule = rules[index]!;
    const target = ruleTarget(rule);
    if (typeof target !== 'object') continue;
    const group = groups.get(numbersKey(target));
    if (group === undefined) continue;
    group.referenced = true;
    const device = group.first;
    ruleChanges[index] = {
      after: { ...rule, major: device.guest.major, minor: device.guest.minor },
      original: target,
      devicePath: device.update.containerPath,
    };
  }

  // Devices no original rule mentions get an allow rule, once per guest
  // device, in linux.devices order.
  const appended: AppendedRule[] = [];
  const appendedGuests = new Set<DeviceKey>();
  for (const change of deviceChanges) {
    if (change === undefined || groups.get(change.originalKey)!.referenced) continue;
    const guestKey = numbersKey(change.guest);
    if (appendedGuests.has(guestKey)) continue;
    appendedGuests.add(guestKey);
    appended.push({
      rule: { allow: true, type: change.guest.type, major: change.guest.major, minor: change.guest.minor, access: 'rwm' },
      devicePath: change.update.containerPath,
    });
  }

  return { deviceChanges, ruleChanges, appended, empty: false };
}

/**
 * Refuses renames that would leave two different devices (type or numbers
 * differ) at one path. Identical entries at one path are allowed: two host
 * devices may legitimately become one guest device (e.g. two VFIO groups
 * behind one guest bridge end up in one guest IOMMU group).
 */
function checkFinalPaths(devices: readonly SpecDeviceEntry[], changes: readonly (DeviceChange | undefined)[]): void {
  const renamedTo = new Set<string>();
  for (const c of changes) {
    if (c?.update.finalPath !== undefined) renamedTo.add(c.update.finalPath);
  }
  if (renamedTo.size === 0) return;
  const firstAt = new Map<string, { identity: string; describe: string }>();
  devices.forEach((entry, index) => {
    const final = changes[index]?.after ?? entry;
    if (!renamedTo.has(final.path)) return;
    const identity = `${final.type} ${final.major}:${final.minor}`;
    const describe = final.path === entry.path ? `${identity} (${entry.path})` : `${identity} (was ${entry.path})`;
    const first = firstAt.get(final.path);
    if (first === undefined) firstAt.set(final.path, { identity, describe });
    else if (first.identity !== identity) throw new FinalPathConflictError(final.path, [first.describe, describe]);
  });
}
