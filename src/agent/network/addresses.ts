// IP addresses, prefixes and address families of the request messages.
//
// Pure functions: they parse text from the runtime into checked values (or
// throw an InvalidNetworkArgumentError naming the field) and format values
// back. Addresses are checked with node:net's isIP and then held as a bigint,
// so two spellings of one IPv6 address ("2001:DB8:0::1", "2001:db8::1")
// compare equal and print the same.
import { isIP } from 'node:net';
import { InvalidNetworkArgumentError } from './errors.js';

export type AddressFamily = 4 | 6;

/** One IP address, checked. */
export interface IpAddress {
  family: AddressFamily;
  /** The address as a number (32 or 128 bits). */
  value: bigint;
}

/** An address with a prefix length ("10.0.0.0/24"); `address` may have host bits. */
export interface IpPrefix extends IpAddress {
  length: number;
}

/** Bits in an address of the family. */
export function addressBits(family: AddressFamily): number {
  return family === 4 ? 32 : 128;
}

/** Parses an IPv4 or IPv6 address (no zone index, no prefix). */
export function parseAddress(text: string, field: string): IpAddress {
  const family = isIP(text);
  if (family === 0 || text.includes('%')) {
    throw new InvalidNetworkArgumentError(field, `invalid address ${JSON.stringify(text)}`);
  }
  return family === 4 ? { family: 4, value: ipv4ToBigInt(text) } : { family: 6, value: ipv6ToBigInt(text) };
}

/** Parses a prefix length written in decimal ("24"), 0..32 or 0..128. */
export function parsePrefixLength(text: string, family: AddressFamily, field: string): number {
  const max = addressBits(family);
  if (!/^[0-9]{1,3}$/.test(text) || Number(text) > max) {
    throw new InvalidNetworkArgumentError(
      field,
      `invalid prefix length ${JSON.stringify(text)} (expected a number from 0 to ${max})`,
    );
  }
  return Number(text);
}

/**
 * Parses "address/length", or a bare address meaning a single host (/32,
 * /128). With `requireNetwork`, an address with bits set past the prefix
 * ("10.0.0.5/24") is refused, naming the network that was probably meant.
 */
export function parsePrefix(text: string, field: string, requireNetwork: boolean): IpPrefix {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseAddress(addrText, field);
  const length = slash < 0 ? addressBits(addr.family) : parsePrefixLength(text.slice(slash + 1), addr.family, field);
  const prefix: IpPrefix = { ...addr, length };
  if (requireNetwork) {
    const net = networkOf(prefix);
    if (net.value !== prefix.value) {
      throw new InvalidNetworkArgumentError(
        field,
        `${text} has host bits set (the network is ${formatPrefix(net)})`,
      );
    }
  }
  return prefix;
}

/** The prefix with every bit past its length cleared. */
export function networkOf(prefix: IpPrefix): IpPrefix {
  const bits = BigInt(addressBits(prefix.family));
  const hostBits = bits - BigInt(prefix.length);
  const mask = ((1n << bits) - 1n) ^ ((1n << hostBits) - 1n);
  return { ...prefix, value: prefix.value & mask };
}

/** Canonical text of an address (IPv6 per RFC 5952: lower case, longest zero run as "::"). */
export function formatAddress(addr: IpAddress): string {
  return addr.family === 4 ? formatIpv4(addr.value) : formatIpv6(addr.value);
}

/** "address/length" in canonical form. */
export function formatPrefix(prefix: IpPrefix): string {
  return `${formatAddress(prefix)}/${prefix.length}`;
}

/** Whether two addresses are the same. */
export function sameAddress(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.value === b.value;
}

/** Whether the address is IPv6 link-local (fe80::/10). */
export function isIpv6LinkLocal(addr: IpAddress): boolean {
  return addr.family === 6 && addr.value >> 118n === 0x3fan;
}

/**
 * The family an IPFamily field states, or undefined for 0, which is both
 * "v4" and "not set" (a 2020 runtime never sets it on routes).
 * Accepted: 0, 1 (IPFamily.v6) and 10, Linux's AF_INET6, which a 2020 runtime
 * puts in ARPNeighbor.toIPAddress.family for IPv6 neighbours.
 */
export function declaredFamily(value: number, field: string): AddressFamily | undefined {
  switch (value) {
    case 0:
      return undefined;
    case 1:
    case 10:
      return 6;
    default:
      throw new InvalidNetworkArgumentError(field, `unknown address family ${value} (expected 0 for v4 or 1 for v6)`);
  }
}

/**
 * Checks an address against the family a request states for it: a stated v6
 * with an IPv4 address is refused; 0 (v4, or unset) goes with either, since
 * old runtimes leave it 0 for IPv6 too.
 */
export function checkDeclaredFamily(value: number, actual: AddressFamily, familyField: string): void {
  const declared = declaredFamily(value, familyField);
  if (declared !== undefined && declared !== actual) {
    throw new InvalidNetworkArgumentError(familyField, `says IPv${declared} but the address is IPv${actual}`);
  }
}

function ipv4ToBigInt(text: string): bigint {
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6ToBigInt(text: string): bigint {
  // isIP has accepted the text, so it is well formed: at most one "::",
  // hex groups, and maybe a dotted IPv4 tail.
  let body = text;
  const tail: number[] = [];
  const lastColon = body.lastIndexOf(':');
  if (body.slice(lastColon + 1).includes('.')) {
    const v4 = Number(ipv4ToBigInt(body.slice(lastColon + 1)));
    tail.push(v4 >>> 16, v4 & 0xffff);
    body = body.slice(0, lastColon + 1) + '0'; // placeholder group, dropped below
  }
  const toGroups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  let groups: number[];
  const gap = body.indexOf('::');
  if (gap >= 0) {
    const head = toGroups(body.slice(0, gap));
    let rest = toGroups(body.slice(gap + 2));
    if (tail.length > 0) rest = rest.slice(0, -1);
    const zeros = 8 - head.length - rest.length - tail.length;
    groups = [...head, ...new Array<number>(zeros).fill(0), ...rest, ...tail];
  } else {
    groups = toGroups(body);
    if (tail.length > 0) groups = [...groups.slice(0, -1), ...tail];
  }
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

function formatIpv4(value: bigint): string {
  const parts: number[] = [];
  for (let shift = 24n; shift >= 0n; shift -= 8n) parts.push(Number((value >> shift) & 0xffn));
  return parts.join('.');
}

function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  // Longest run of two or more zero groups (the first one on a tie).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}
