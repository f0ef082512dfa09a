// Reading fields of `ip -json` output, which is untyped JSON. A field of the
// wrong type is an INTERNAL error (ip printed something we do not understand).
import { parseAddress, parsePrefix, type IpAddress, type IpPrefix } from './addresses.js';
import { NetworkError } from './errors.js';

export type JsonObject = Record<string, unknown>;

export function asObject(v: unknown, what: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new NetworkError('INTERNAL', `unexpected ip output: ${what} entry is not an object`);
  }
  return v as JsonObject;
}

export function requireString(o: JsonObject, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new NetworkError('INTERNAL', `unexpected ip output: no "${key}" string`);
  return v;
}

export function requireNumber(o: JsonObject, key: string): number {
  const v = o[key];
  if (typeof v !== 'number') throw new NetworkError('INTERNAL', `unexpected ip output: no "${key}" number`);
  return v;
}

export function optionalString(o: JsonObject, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

export function optionalNumber(o: JsonObject, key: string): number | undefined {
  const v = o[key];
  return typeof v === 'number' ? v : undefined;
}

/** The strings of an array field; [] if the field is absent. */
export function stringArray(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** An address ip printed; INTERNAL (not INVALID_ARGUMENT) if it does not parse. */
export function outputAddress(text: string): IpAddress {
  try {
    return parseAddress(text, 'ip output');
  } catch {
    throw new NetworkError('INTERNAL', `unexpected ip output: ${JSON.stringify(text)} is not an address`);
  }
}

/** A prefix ip printed ("10.0.0.0/24", or a bare address for a host). */
export function outputPrefix(text: string): IpPrefix {
  try {
    return parsePrefix(text, 'ip output', false);
  } catch {
    throw new NetworkError('INTERNAL', `unexpected ip output: ${JSON.stringify(text)} is not a prefix`);
  }
}
