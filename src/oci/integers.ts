// Integer fields of the OCI spec: validation schemas and number <-> bigint
// conversion for the protobuf side.
//
// JSON numbers are IEEE doubles, so integers above 2^53 lose precision when a
// config.json is parsed. That matters for 64-bit fields whose "unlimited"
// value is the type's maximum (an rlimit of 18446744073709551615, for
// example): written back as a double it becomes 18446744073709552000, which a
// Go runtime refuses to decode into a uint64. So 64-bit fields are typed
// `number | bigint` with one invariant: a value is a `number` exactly when it
// is a safe integer, and a `bigint` otherwise. Both parseSpec and
// specFromProto produce that form; stringifySpec (json.ts) writes bigints as
// exact digits.

import { z } from 'zod';

/** A signed 64-bit integer: a number when safe, otherwise a bigint. */
export type Int64 = number | bigint;
/** An unsigned 64-bit integer: a number when safe, otherwise a bigint. */
export type UInt64 = number | bigint;

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;

/** Describes what kind of value was received, for error messages. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    return Number.isInteger(v) ? `integer ${v}` : `number ${v}`;
  }
  if (typeof v === 'bigint') return `integer ${v}`;
  return typeof v;
}

/** An integer schema with output type `number`, for ranges within the safe integers. */
export function integer(min: number, max: number): z.ZodType<number> {
  return z.custom<number>(
    (v) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max,
    { error: (iss) => integerProblem(iss.input, BigInt(min), BigInt(max)) },
  );
}

export const uint16 = (): z.ZodType<number> => integer(0, 0xffff);
export const int32 = (): z.ZodType<number> => integer(-0x80000000, 0x7fffffff);
export const uint32 = (): z.ZodType<number> => integer(0, 0xffffffff);
/** Device major/minor numbers: non-negative (wildcards are expressed by absence, not -1). */
export const deviceNumber = (): z.ZodType<number> => integer(0, Number.MAX_SAFE_INTEGER);

/**
 * A 64-bit integer schema. Accepts numbers (any integer-valued double in the
 * type's range, including the doubles that JSON.parse produces for values
 * near 2^63 or 2^64) and bigints, and outputs the canonical form: a number
 * when safe, otherwise a bigint clamped into the type's range.
 */
export function wideInteger(signed: boolean) {
  const min = signed ? INT64_MIN : 0n;
  const max = signed ? INT64_MAX : UINT64_MAX;
  return z
    .custom<number | bigint>((v) => {
      if (typeof v === 'bigint') return v >= min && v <= max;
      if (typeof v !== 'number' || !Number.isInteger(v)) return false;
      // The double nearest to max is max + 1 (2^63 or 2^64): accept it, it
      // is how JSON.parse represents the maximum.
      const b = BigInt(v);
      return b >= min && b <= max + 1n;
    }, { error: (iss) => integerProblem(iss.input, min, max) })
    .transform((v) => canonicalInt(clampBig(BigInt(v), min, max)));
}

export const int64 = () => wideInteger(true);
export const uint64 = () => wideInteger(false);

function integerProblem(v: unknown, min: bigint, max: bigint): string {
  const isInt = (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
  if (!isInt) return `expected integer, received ${describeValue(v)}`;
  return `expected integer between ${min} and ${max}, received ${v}`;
}

function clampBig(v: bigint, min: bigint, max: bigint): bigint {
  return v < min ? min : v > max ? max : v;
}

/** The canonical JSON-side form of a 64-bit value: number if safe, else bigint. */
export function canonicalInt(v: bigint): number | bigint {
  const n = Number(v);
  return Number.isSafeInteger(n) && BigInt(n) === v ? n : v;
}

/** Converts a JSON-side integer to a protobuf int64, clamping out-of-range values. */
export function toProtoInt64(v: number | bigint): bigint {
  return clampBig(toBig(v), INT64_MIN, INT64_MAX);
}

/** Converts a JSON-side integer to a protobuf uint64, clamping out-of-range values. */
export function toProtoUint64(v: number | bigint): bigint {
  return clampBig(toBig(v), 0n, UINT64_MAX);
}

function toBig(v: number | bigint): bigint {
  if (typeof v === 'bigint') return v;
  // Non-integers cannot come out of validation; truncate defensively rather
  // than let BigInt() throw on an unvalidated caller's value.
  return Number.isFinite(v) ? BigInt(Math.trunc(v)) : v > 0 ? UINT64_MAX : INT64_MIN;
}

/**
 * Converts a protobuf int64/uint64 to a plain number, for fields whose values
 * are small by nature (device numbers, oom_score_adj, hook timeouts).
 */
export function smallFromProto(v: bigint): number {
  return Number(v);
}
