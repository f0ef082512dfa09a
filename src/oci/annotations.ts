// Annotations kata-ts's own runtime and agent use to talk about the spec.

/**
 * On the wire a device cgroup rule's major/minor are plain int64s, and
 * upstream's Go runtime sends 0 for a wildcard, so agents read 0 (and any
 * value <= 0) as "any". That makes a rule for a real minor 0 (b 8:0, c 5:0)
 * impossible to send. A runtime that sends -1 for every wildcard says so
 * with this annotation set to "-1"; the agent then reads 0 as the number 0.
 */
export const DEVICE_RULE_WILDCARD_ANNOTATION = 'io.kata-ts.device-rule-wildcard';
