// UpdateInterface: configure one NIC the way the runtime describes it.
//
// The link is found by its MAC address (Interface.hwAddr); without one, by
// its current name (Interface.device, else Interface.name). It then gets
// - the requested name (Interface.name; empty keeps the current one). If
//   another link holds that name, the two swap names, as the Kata agent does:
//   NICs can come up in a different order in the guest than in the pod;
// - the requested MTU (0 keeps the current one);
// - ARP on, or off if raw_flags has IFF_NOARP (the only raw flag a runtime
//   passes on; the others describe the host's link and are ignored);
// - exactly the requested addresses: others are removed, except IPv6
//   link-local ones (fe80::/10), which the kernel manages. In each IPv4
//   subnet the first requested address is the primary (the kernel's choice
//   of source address); IPv6 addresses have no such order;
// - and it is brought up.
// Interface.type (the host-side endpoint kind) and devicePath (used by the
// RPC layer to wait for the NIC) play no part here.
//
// Differences from the Kata agent, on purpose:
// - IPv6 addresses are added with "nodad": they were assigned to the pod and
//   already checked on the host side, and a tentative address could neither
//   be bound by the workload nor used as a route's source for a second or so.
// - The link is only taken down when it must be (to rename it), so an update
//   that keeps the name does not drop the link's routes.
// - An MTU of 0 means "keep", not "set to 0" (which the kernel refuses).
// - Unrequested addresses are removed, as older Kata agents did; the current
//   one only adds the requested addresses, leaving stale ones in place.
// - A MAC that matches no link is NOT_FOUND. (The current Kata agent then
//   looks the link up by name and gives it that MAC, for VMs restored from
//   a template whose NIC kept the template's MAC; we have no such VMs.)
// As in the Kata agent, IPv6 addresses are skipped when IPv6 is disabled
// on the link (or absent from the kernel): the runtime sends them regardless.
import type { Interface } from '../../protocols/gen/types_pb.js';
import {
  checkDeclaredFamily,
  formatAddress,
  isIpv6LinkLocal,
  networkOf,
  parseAddress,
  parsePrefixLength,
  sameAddress,
  type IpPrefix,
} from './addresses.js';
import { InvalidNetworkArgumentError, LinkNotFoundError, NetworkError } from './errors.js';
import { parseLinkName, parseMacAddress } from './identifiers.js';
import type { IpCommand } from './ip-command.js';
import {
  IFF_LOOPBACK,
  IFF_NOARP,
  IFF_UP,
  linkToInterface,
  readLinks,
  type LinkAddress,
  type LinkState,
} from './links.js';

/** How the request identifies the link to configure. */
export type LinkSelector =
  | { by: 'mac'; mac: string; field: string }
  | { by: 'name'; name: string; field: string };

/** An UpdateInterface request, checked. */
export interface InterfaceUpdate {
  link: LinkSelector;
  /** The name to give the link; undefined keeps its name. */
  name: string | undefined;
  /** The MTU to set; undefined keeps it. */
  mtu: number | undefined;
  /** ARP on (false when raw_flags has IFF_NOARP). */
  arp: boolean;
  /** The addresses the link must end up with, without duplicates. */
  addresses: IpPrefix[];
}

/** Largest MTU we pass on; the link's own limit is checked against ip's report. */
const MAX_MTU = 0x7fffffff;

/**
 * Checks an UpdateInterface request's interface without touching the system.
 * Errors name fields below `field` ("interface.IPAddresses[1].mask").
 */
export function parseInterfaceUpdate(iface: Interface, field = 'interface'): InterfaceUpdate {
  let link: LinkSelector;
  if (iface.hwAddr !== '') {
    link = { by: 'mac', mac: parseMacAddress(iface.hwAddr, `${field}.hwAddr`), field: `${field}.hwAddr` };
  } else if (iface.device !== '') {
    link = { by: 'name', name: parseLinkName(iface.device, `${field}.device`), field: `${field}.device` };
  } else if (iface.name !== '') {
    link = { by: 'name', name: parseLinkName(iface.name, `${field}.name`), field: `${field}.name` };
  } else {
    throw new InvalidNetworkArgumentError(`${field}.hwAddr`, 'missing: give the MAC address (or the name) of the interface');
  }

  const name = iface.name === '' ? undefined : parseLinkName(iface.name, `${field}.name`);

  let mtu: number | undefined;
  if (iface.mtu !== 0n) {
    if (iface.mtu < 0n || iface.mtu > BigInt(MAX_MTU)) {
      throw new InvalidNetworkArgumentError(`${field}.mtu`, `MTU ${iface.mtu} is out of range`);
    }
    mtu = Number(iface.mtu);
  }

  const addresses: IpPrefix[] = [];
  iface.IPAddresses.forEach((a, i) => {
    const f = `${field}.IPAddresses[${i}]`;
    const addr = parseAddress(a.address, `${f}.address`);
    checkDeclaredFamily(a.family, addr.family, `${f}.family`);
    const length = parsePrefixLength(a.mask, addr.family, `${f}.mask`);
    const prefix: IpPrefix = { ...addr, length };
    if (!addresses.some((p) => sameAddress(p, prefix) && p.length === length)) addresses.push(prefix);
  });

  return { link, name, mtu, arp: (iface.rawFlags & IFF_NOARP) === 0, addresses };
}

/** Finds the link a selector names in a list of links. */
export function selectLink(links: readonly LinkState[], sel: LinkSelector): LinkState | undefined {
  // Several links can share a MAC (VLANs on a NIC, ...): the first, in
  // index order, is the NIC itself.
  return sel.by === 'mac'
    ? links.find((l) => l.mac === sel.mac)
    : links.find((l) => l.name === sel.name);
}

/**
 * Applies an UpdateInterface request and returns the interface as it now is
 * (as ListInterfaces would report it). The request is checked and the link
 * looked up before anything changes; a failing ip command midway (INTERNAL)
 * can leave the link partly configured.
 */
export async function updateInterface(ip: IpCommand, iface: Interface, field = 'interface'): Promise<Interface> {
  const update = parseInterfaceUpdate(iface, field);
  const links = await readLinks(ip);
  const link = selectLink(links, update.link);
  if (link === undefined) {
    const sel = update.link;
    throw new LinkNotFoundError(
      sel.field,
      sel.by === 'mac' ? `no link with address ${sel.mac}` : `no link named ${JSON.stringify(sel.name)}`,
    );
  }
  checkMtu(link, update.mtu, `${field}.mtu`);
  const newName = update.name ?? link.name;
  const renaming = newName !== link.name;
  // A link already called newName must give the name up.
  const holder = renaming ? links.find((l) => l.name === newName) : undefined;
  if (holder !== undefined && (holder.flags & IFF_LOOPBACK) !== 0) {
    throw new InvalidNetworkArgumentError(`${field}.name`, `${JSON.stringify(newName)} is the loopback interface`);
  }

  let wanted = update.addresses;
  if (wanted.some((a) => a.family === 6) && !(await ipv6Enabled(ip, link.name))) {
    wanted = wanted.filter((a) => a.family === 4);
  }

  // 1. A link can only be renamed while down.
  if (renaming && (link.flags & IFF_UP) !== 0) await ip.run(['link', 'set', 'dev', link.name, 'down']);
  let holderTempName: string | undefined;
  if (holder !== undefined) {
    if ((holder.flags & IFF_UP) !== 0) await ip.run(['link', 'set', 'dev', holder.name, 'down']);
    holderTempName = temporaryName(links, holder);
    await ip.run(['link', 'set', 'dev', holder.name, 'name', holderTempName]);
  }

  // 2. Name, MTU and ARP in one go.
  const setArgs = ['link', 'set', 'dev', link.name];
  if (renaming) setArgs.push('name', newName);
  if (update.mtu !== undefined) setArgs.push('mtu', String(update.mtu));
  setArgs.push('arp', update.arp ? 'on' : 'off');
  await ip.run(setArgs);

  // 3. Addresses: remove the ones not wanted, then add (or refresh) the wanted
  // ones in request order.
  const current = (await readOneLink(ip, newName)).addresses;
  const stale = staleAddresses(current, wanted);
  // Secondaries before primaries: deleting a primary takes its secondaries along.
  stale.sort((a, b) => Number(b.secondary) - Number(a.secondary));
  for (const a of stale) {
    await ip.run(['address', 'del', `${a.text}/${a.prefixLength}`, 'dev', newName]);
  }
  for (const w of wanted) await ip.run(addressReplaceArgs(w, newName));

  // 4. Up.
  await ip.run(['link', 'set', 'dev', newName, 'up']);

  // 5. The link that held the name takes ours.
  if (holder !== undefined && holderTempName !== undefined) {
    await ip.run(['link', 'set', 'dev', holderTempName, 'name', link.name]);
    if ((holder.flags & IFF_UP) !== 0) await ip.run(['link', 'set', 'dev', link.name, 'up']);
  }

  return linkToInterface(await readOneLink(ip, newName));
}

/**
 * The addresses on a link that must go before `wanted` is applied:
 * - every address not wanted, except IPv6 link-local ones (the kernel's);
 * - for IPv4, all of a subnet's addresses if its primary (the first address
 *   the kernel got in that subnet, the one it picks as source) is not the
 *   first wanted address of the subnet: re-adding them in request order makes
 *   the first requested address the primary. (Removing the old ones first
 *   also keeps a new address from becoming the secondary of an old one and
 *   vanishing with it.)
 * IPv6 has no primary address, and no order to keep.
 */
export function staleAddresses(current: readonly LinkAddress[], wanted: readonly IpPrefix[]): LinkAddress[] {
  const isWanted = (a: LinkAddress) => wanted.some((w) => sameAddress(w, a) && w.length === a.prefixLength);
  const stale = new Set(current.filter((a) => !isIpv6LinkLocal(a) && !isWanted(a)));
  const asPrefix = (a: LinkAddress): IpPrefix => ({ family: a.family, value: a.value, length: a.prefixLength });
  for (const primary of current) {
    if (primary.family !== 4 || primary.secondary || !isWanted(primary)) continue;
    const subnet = networkOf(asPrefix(primary));
    const inSubnet = (p: IpPrefix) =>
      p.family === 4 && p.length === subnet.length && networkOf(p).value === subnet.value;
    const first = wanted.find(inSubnet)!;
    if (!sameAddress(first, primary)) for (const a of current) if (inSubnet(asPrefix(a))) stale.add(a);
  }
  return current.filter((a) => stale.has(a));
}

/** `ip address replace` arguments that put `addr` on link `dev`. */
export function addressReplaceArgs(addr: IpPrefix, dev: string): string[] {
  const args = ['address', 'replace', `${formatAddress(addr)}/${addr.length}`];
  // IPv4: the subnet's broadcast address, as netlink libraries set it too.
  if (addr.family === 4 && addr.length <= 30) args.push('broadcast', '+');
  args.push('dev', dev);
  if (addr.family === 6) args.push('nodad');
  return args;
}

/** Whether IPv6 can be configured on the link (disable_ipv6 is 0). */
async function ipv6Enabled(ip: IpCommand, linkName: string): Promise<boolean> {
  const value = await ip.readNetSysctl(`ipv6/conf/${linkName}/disable_ipv6`);
  return value === '0';
}

function checkMtu(link: LinkState, mtu: number | undefined, field: string): void {
  if (mtu === undefined) return;
  if (link.minMtu > 0 && mtu < link.minMtu) {
    throw new InvalidNetworkArgumentError(field, `MTU ${mtu} is below ${link.name}'s minimum of ${link.minMtu}`);
  }
  if (link.maxMtu > 0 && mtu > link.maxMtu) {
    throw new InvalidNetworkArgumentError(field, `MTU ${mtu} is above ${link.name}'s maximum of ${link.maxMtu}`);
  }
}

/** A name no link has, for a link that must briefly step aside. */
function temporaryName(links: readonly LinkState[], link: LinkState): string {
  for (let n = link.index; ; n++) {
    const name = `kttmp${n}`;
    if (!links.some((l) => l.name === name)) return name;
  }
}

async function readOneLink(ip: IpCommand, name: string): Promise<LinkState> {
  const [link] = await readLinks(ip, name);
  if (link === undefined) throw new NetworkError('INTERNAL', `link ${JSON.stringify(name)} vanished while being configured`);
  return link;
}
