// A human-readable account of a device remapping: for each linux.devices
// entry and each cgroup rule, what it was, what it becomes and why. Built
// from the same plan the remapping applies, so it cannot disagree with it.
import { planDeviceRemap, ruleTarget, specDevices, specRules } from './plan.js';
import type { DeviceCgroupRule, DeviceUpdate, RemappableSpec, SpecDeviceEntry } from './types.js';

/** One line of the explanation. */
export interface ExplainRow {
  /** 'device' (linux.devices), 'rule' (linux.resources.devices) or 'appended rule'. */
  readonly kind: 'device' | 'rule' | 'appended rule';
  /** Index in the ORIGINAL list; for appended rules, the index they get. */
  readonly index: number;
  /** The entry before remapping ("-" for appended rules). */
  readonly before: string;
  /** The entry after remapping. */
  readonly after: string;
  readonly reason: string;
}

/** Explains what remapSpecDevices(spec, updates) does. Throws as it would. */
export function explainDeviceRemap(spec: RemappableSpec, updates: readonly DeviceUpdate[]): ExplainRow[] {
  const plan = planDeviceRemap(spec, updates);
  const rows: ExplainRow[] = [];
  const devices = specDevices(spec);
  const rules = specRules(spec);

  devices.forEach((entry, index) => {
    const change = plan.deviceChanges[index];
    rows.push({
      kind: 'device',
      index,
      before: describeDevice(entry),
      after: describeDevice(change?.after ?? entry),
      reason: change ? 'matched by path' : 'untouched: no update for this path',
    });
  });

  rules.forEach((rule, index) => {
    const change = plan.ruleChanges[index];
    let reason: string;
    if (change) {
      reason = `matched original (${change.original.type},${change.original.major},${change.original.minor}) of device ${change.devicePath}`;
    } else {
      const target = ruleTarget(rule);
      reason =
        target === 'type-a'
          ? 'untouched: type a'
          : target === 'wildcard'
            ? 'untouched: wildcard'
            : 'untouched: no updated device';
    }
    rows.push({
      kind: 'rule',
      index,
      before: describeRule(rule),
      after: describeRule(change?.after ?? rule),
      reason,
    });
  });

  plan.appended.forEach((a, i) => {
    rows.push({
      kind: 'appended rule',
      index: rules.length + i,
      before: '-',
      after: describeRule(a.rule),
      reason: `appended: no rule referenced device ${a.devicePath}`,
    });
  });
  return rows;
}

/** "c 1:3 /dev/null" */
export function describeDevice(d: SpecDeviceEntry): string {
  return `${d.type} ${num(d.major)}:${num(d.minor)} ${d.path}`;
}

/** "allow c 1:3 rwm", "deny a *:* rwm"; no type shows as "a", no access as "-". */
export function describeRule(r: DeviceCgroupRule): string {
  const type = r.type ?? 'a';
  return `${r.allow ? 'allow' : 'deny'} ${type} ${num(r.major)}:${num(r.minor)} ${r.access ?? '-'}`;
}

function num(n: unknown): string {
  return n === undefined || n === null || (typeof n === 'number' && n < 0) ? '*' : String(n);
}

/** Renders rows as an aligned plain-text table (with a header line). */
export function formatExplainTable(rows: readonly ExplainRow[]): string {
  const header = ['WHAT', 'BEFORE', 'AFTER', 'WHY'];
  const body = rows.map((r) => [`${r.kind} #${r.index}`, r.before, r.after, r.reason]);
  const widths = header.map((h, col) => Math.max(h.length, ...body.map((cells) => cells[col]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, col) => (col === cells.length - 1 ? c : c.padEnd(widths[col]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...body.map(line)].join('\n') + '\n';
}
