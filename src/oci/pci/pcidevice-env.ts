// Rewriting PCIDEVICE_* environment variables from host to guest addresses.
//
// Kubernetes SR-IOV/VFIO device plugins tell the workload which PCI
// functions it got through environment variables:
//
//   PCIDEVICE_<resource>=0000:1a:01.0,0000:1b:02.0
//   PCIDEVICE_<resource>_INFO={"0000:1a:01.0":{...},"0000:1b:02.0":{...}}
//
// Those are host addresses. Inside the VM the same functions have other
// addresses, so the agent translates them with the container's host->guest
// map (filled when its VFIO devices were set up). The rules:
//
// 1. A base variable (PCIDEVICE_*, not ending in _INFO) is translated
//    entirely or not at all: every comma-separated token must be a PCI
//    address present in the map. A token that is not an address (e.g. a
//    Mellanox sub-function name "mlx5_core.sf.10"), an address missing from
//    the map, or no map at all leaves the variable as it is.
// 2. <NAME>_INFO follows its base variable <NAME>: it is rewritten only if
//    <NAME> was, replacing exactly the host addresses <NAME> listed.
// 3. Nothing is translated twice. All replacements read the original
//    value, so if guest address X of one device is also the host address of
//    another, X is not translated again (upstream's replace loop over the
//    _INFO text could do that; our single-pass replacement cannot).
//
// Everything else, including variables that merely contain "PCIDEVICE",
// is left byte-for-byte alone.
import { formatPciAddress, parsePciAddress, tryParsePciAddress } from './address.js';

/**
 * A container's host -> guest PCI address map. Keys and values are
 * canonical "DDDD:BB:SS.F" strings (see makePciHostGuestMap).
 */
export type PciHostGuestMap = ReadonlyMap<string, string>;

const PREFIX = 'PCIDEVICE_';
const INFO_SUFFIX = '_INFO';

/** An environment entry without '=' (the agent cannot tell name from value). */
export class MalformedEnvEntryError extends Error {
  override readonly name = 'MalformedEnvEntryError';
  constructor(
    readonly index: number,
    readonly entry: string,
  ) {
    super(`process.env[${index}] ${JSON.stringify(entry)} is not of the form NAME=VALUE`);
  }
}

/** Two different guest addresses given for one host address. */
export class ConflictingPciMappingError extends Error {
  override readonly name = 'ConflictingPciMappingError';
  constructor(
    readonly host: string,
    readonly guests: readonly [string, string],
  ) {
    super(`conflicting guest addresses for host PCI device ${host}: ${guests[0]} and ${guests[1]}`);
  }
}

/**
 * Builds a PciHostGuestMap from (host, guest) address pairs, canonicalising
 * both sides. Repeating a pair is fine; two guests for one host is an error.
 */
export function makePciHostGuestMap(pairs: Iterable<readonly [string, string]>): PciHostGuestMap {
  const map = new Map<string, string>();
  for (const [hostText, guestText] of pairs) {
    const host = formatPciAddress(parsePciAddress(hostText));
    const guest = formatPciAddress(parsePciAddress(guestText));
    const known = map.get(host);
    if (known !== undefined && known !== guest) {
      throw new ConflictingPciMappingError(host, [known, guest]);
    }
    map.set(host, guest);
  }
  return map;
}

interface Translation {
  /** Index of the base variable in the env list. */
  readonly index: number;
  /** The rewritten base entry. */
  readonly entry: string;
  /** Host address text as it appeared -> guest address, for the _INFO pass. */
  readonly replacements: ReadonlyMap<string, string>;
}

/**
 * Returns a new env list with PCIDEVICE_* variables translated per the rules
 * above. `hostToGuest` undefined means the container has no PCI map: the list
 * is returned unchanged (as a copy). The input is never modified.
 */
export function rewritePciDeviceEnv(env: readonly string[], hostToGuest: PciHostGuestMap | undefined): string[] {
  const out = [...env];
  // Validate every entry first, so a malformed one is reported whatever else is there.
  const names = env.map((entry, index) => {
    const eq = entry.indexOf('=');
    if (eq < 0) throw new MalformedEnvEntryError(index, entry);
    return entry.slice(0, eq);
  });
  if (hostToGuest === undefined) return out;

  // Pass 1: base variables. Keyed by name; if a name repeats, the last
  // occurrence decides what its _INFO becomes (as the last one wins in the
  // process environment too).
  const byName = new Map<string, Translation>();
  names.forEach((name, index) => {
    if (!name.startsWith(PREFIX) || name.endsWith(INFO_SUFFIX)) return;
    const t = translateBase(env[index]!, name, index, hostToGuest);
    if (t) {
      out[index] = t.entry;
      byName.set(name, t);
    } else {
      byName.delete(name);
    }
  });

  // Pass 2: <NAME>_INFO variables whose <NAME> was translated.
  names.forEach((name, index) => {
    if (!name.startsWith(PREFIX) || !name.endsWith(INFO_SUFFIX)) return;
    const base = byName.get(name.slice(0, -INFO_SUFFIX.length));
    if (!base || base.replacements.size === 0) return;
    const value = env[index]!.slice(name.length + 1);
    out[index] = `${name}=${replaceAllOnce(value, base.replacements)}`;
  });
  return out;
}

/** Translates one base variable, or returns undefined to leave it alone. */
function translateBase(entry: string, name: string, index: number, map: PciHostGuestMap): Translation | undefined {
  const value = entry.slice(name.length + 1);
  const replacements = new Map<string, string>();
  const guests: string[] = [];
  for (const token of value.split(',')) {
    const addr = tryParsePciAddress(token);
    if (!addr) return undefined; // not a PCI address: leave the whole variable
    const canonical = formatPciAddress(addr);
    const guest = map.get(canonical);
    if (guest === undefined) return undefined; // unknown host device: leave it
    guests.push(guest);
    replacements.set(token, guest);
    replacements.set(canonical, guest);
  }
  return { index, entry: `${name}=${guests.join(',')}`, replacements };
}

/**
 * Replaces every occurrence of each key of `replacements` in `text` with its
 * value, in one left-to-right scan: replaced text is never looked at again.
 * All keys are 12-character addresses, so no key is a prefix of another.
 */
function replaceAllOnce(text: string, replacements: ReadonlyMap<string, string>): string {
  const alternatives = [...replacements.keys()].map(escapeRegExp);
  const re = new RegExp(alternatives.join('|'), 'g');
  return text.replace(re, (found) => replacements.get(found)!);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The part of a spec this module reads and writes. */
export interface SpecWithProcessEnv {
  process?: { env?: readonly string[] | null } | null;
}

/**
 * Returns a new spec whose process.env has its PCIDEVICE_* variables
 * translated (see rewritePciDeviceEnv). Other fields are untouched (shared
 * with the input). A spec without process or env is returned as is.
 */
export function withPciDeviceEnv<S extends SpecWithProcessEnv>(spec: S, hostToGuest: PciHostGuestMap | undefined): S {
  const env = spec.process?.env;
  if (!env) return spec;
  const rewritten = rewritePciDeviceEnv(env, hostToGuest);
  if (rewritten.every((e, i) => e === env[i])) return spec;
  return { ...spec, process: { ...spec.process, env: rewritten } };
}
