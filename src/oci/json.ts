// Serialising a Spec to config.json text. JSON.stringify cannot write bigints,
// and 64-bit fields hold a bigint whenever the value is beyond 2^53 (see
// integers.ts), so this writes those as exact decimal digits.

import { randomBytes } from 'node:crypto';

/**
 * Like JSON.stringify, but writes bigint values as plain JSON numbers with
 * all their digits (e.g. 18446744073709551615 rather than failing or
 * rounding to 18446744073709552000).
 */
export function stringifySpec(value: unknown, indent?: number | string): string {
  // Each bigint is first written as a quoted placeholder carrying a random
  // tag, which no string in the document can contain by accident; the quotes
  // and tag are then removed.
  const tag = `bigint-${randomBytes(12).toString('hex')}:`;
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === 'bigint' ? `${tag}${v.toString()}` : v),
    indent,
  );
  if (text === undefined) throw new TypeError('value cannot be serialised as JSON');
  return text.replaceAll(new RegExp(`"${tag}(-?\\d+)"`, 'g'), '$1');
}
