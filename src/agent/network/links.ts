// Reading the guest's links and their addresses (`ip -json -details address show`)
// and reporting them as types.Interface.
import { create } from '@bufbuild/protobuf';
import {
  IPAddressSchema,
  IPFamily,
  InterfaceSchema,
  type Interface,
} from '../../protocols/gen/types_pb.js';
import type { AddressFamily, IpAddress } from './addresses.js';
import { asObject, optionalNumber, outputAddress, optionalString, requireNumber, requireString, stringArray } from './ip-json.js';
import type { IpCommand } from './ip-command.js';

/** The kernel's IFF_* link flags, by the names ip prints them with. */
export const LINK_FLAG_BITS: Readonly<Record<string, number>> = {
  UP: 0x1,
  BROADCAST: 0x2,
  DEBUG: 0x4,
  LOOPBACK: 0x8,
  POINTOPOINT: 0x10,
  NOTRAILERS: 0x20,
  RUNNING: 0x40,
  NOARP: 0x80,
  PROMISC: 0x100,
  ALLMULTI: 0x200,
  MASTER: 0x400,
  SLAVE: 0x800,
  MULTICAST: 0x1000,
  PORTSEL: 0x2000,
  AUTOMEDIA: 0x4000,
  DYNAMIC: 0x8000,
  LOWER_UP: 0x10000,
  DORMANT: 0x20000,
  ECHO: 0x40000,
};

export const IFF_UP = 0x1;
export const IFF_LOOPBACK = 0x8;
export const IFF_NOARP = 0x80;

/** One address on a link, as read back. */
export interface LinkAddress extends IpAddress {
  /** The address as ip prints it (canonical). */
  text: string;
  prefixLength: number;
  /** An IPv4 secondary address (goes away with its primary). */
  secondary: boolean;
}

/** A link (network interface) as read from the kernel. */
export interface LinkState {
  index: number;
  name: string;
  /** Link-layer address in lower case; "" if the link has none. */
  mac: string;
  mtu: number;
  /** Limits the driver puts on the MTU (0 or absent: none known). */
  minMtu: number;
  maxMtu: number;
  /** IFF_* bits. */
  flags: number;
  /** Link kind ("veth", "bridge", ...); "" for a plain device (e.g. virtio-net). */
  kind: string;
  addresses: LinkAddress[];
}

/** All links, or the one named `name`, with their addresses. */
export async function readLinks(ip: IpCommand, name?: string): Promise<LinkState[]> {
  const args = ['-details', 'address', 'show'];
  if (name !== undefined) args.push('dev', name);
  return parseLinks(await ip.json(args));
}

/** Turns `ip -json -details address show` output into LinkStates. */
export function parseLinks(json: unknown[]): LinkState[] {
  return json.map((entry) => {
    const o = asObject(entry, 'link');
    const flagNames = stringArray(o['flags']);
    const linkinfo = o['linkinfo'];
    const kind = linkinfo === undefined ? '' : (optionalString(asObject(linkinfo, 'linkinfo'), 'info_kind') ?? '');
    const addrInfo = Array.isArray(o['addr_info']) ? (o['addr_info'] as unknown[]) : [];
    return {
      index: requireNumber(o, 'ifindex'),
      name: requireString(o, 'ifname'),
      mac: (optionalString(o, 'address') ?? '').toLowerCase(),
      mtu: requireNumber(o, 'mtu'),
      minMtu: optionalNumber(o, 'min_mtu') ?? 0,
      maxMtu: optionalNumber(o, 'max_mtu') ?? 0,
      flags: linkFlagsFromNames(flagNames),
      kind,
      addresses: addrInfo.flatMap(parseLinkAddress),
    };
  });
}

/**
 * IFF_* bits from the names ip prints. ip leaves RUNNING out and prints
 * NO-CARRIER for a link that is UP but not RUNNING; M-DOWN (master down) is
 * no flag. Bits ip has no name for come as a hex number.
 */
export function linkFlagsFromNames(names: readonly string[]): number {
  let flags = 0;
  for (const n of names) {
    const bit = LINK_FLAG_BITS[n];
    if (bit !== undefined) flags |= bit;
    else if (/^0x[0-9a-fA-F]+$/.test(n)) flags |= parseInt(n, 16);
  }
  if ((flags & IFF_UP) !== 0 && !names.includes('NO-CARRIER')) flags |= LINK_FLAG_BITS['RUNNING']!;
  return flags >>> 0;
}

/** A link in the shape ListInterfaces reports (types.Interface). */
export function linkToInterface(link: LinkState): Interface {
  return create(InterfaceSchema, {
    name: link.name,
    hwAddr: link.mac,
    mtu: BigInt(link.mtu),
    type: link.kind,
    rawFlags: link.flags,
    IPAddresses: link.addresses.map((a) =>
      create(IPAddressSchema, {
        family: familyToProto(a.family),
        address: a.text,
        mask: String(a.prefixLength),
      }),
    ),
  });
}

export function familyToProto(family: AddressFamily): IPFamily {
  return family === 4 ? IPFamily.v4 : IPFamily.v6;
}

function parseLinkAddress(entry: unknown): LinkAddress[] {
  const o = asObject(entry, 'address');
  if (o['family'] !== 'inet' && o['family'] !== 'inet6') return [];
  const text = requireString(o, 'local');
  const addr = outputAddress(text);
  return [{ ...addr, text, prefixLength: requireNumber(o, 'prefixlen'), secondary: o['secondary'] === true }];
}
