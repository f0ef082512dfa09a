// cgroup v1 devices: rules written one at a time to devices.allow or
// devices.deny, in the form "<type> <major>:<minor> <access>" with "*" for
// any number ("a" alone stands for every device).
import type { ResourceWriter } from '../fs.js';
import type { NormalizedDeviceRule } from '../normalize.js';

/** The text the kernel expects for one rule. */
export function deviceRuleText(r: NormalizedDeviceRule): string {
  if (r.type === 'a') return 'a';
  const n = (v: bigint | null) => (v === null ? '*' : String(v));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

/**
 * Applies the rules in order. A list that starts by denying everything (as
 * OCI specs do) thereby resets the cgroup's rules before allowing some back.
 */
export async function applyDevicesV1(dir: string, rules: NormalizedDeviceRule[], w: ResourceWriter): Promise<void> {
  for (const r of rules) await w.write(dir, r.allow ? 'devices.allow' : 'devices.deny', deviceRuleText(r));
}
