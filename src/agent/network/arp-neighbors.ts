// AddARPNeighbors: static neighbour (ARP / NDP) entries.
//
// Each ARPNeighbor becomes `ip neigh replace <address> lladdr <mac> dev <device>
// nud <state>`, so sending the same list twice is harmless.
// - toIPAddress.address picks IPv4 (ARP) or IPv6 (NDP); its family field is
//   only checked for contradictions (a 2020 runtime writes 10, AF_INET6,
//   there for IPv6 neighbours).
// - state is a NUD_* value; 0 (unset) means NUD_PERMANENT, the entry the
//   runtime means: it copies the pod's static entries.
// - flags: NTF_ROUTER and NTF_EXT_LEARNED are applied; NTF_PROXY (a proxy
//   entry is another kind of object) is refused; the other bits are the
//   kernel's or a bridge's bookkeeping and are ignored.
// - lladdr may be empty (the kernel then decides), as with the Kata agent.
// All entries are checked, and their devices looked up, before any is added.
import type { ARPNeighbor } from '../../protocols/gen/types_pb.js';
import { checkDeclaredFamily, formatAddress, parseAddress, type IpAddress } from './addresses.js';
import { InvalidNetworkArgumentError, LinkNotFoundError } from './errors.js';
import { parseLinkName, parseMacAddress } from './identifiers.js';
import type { IpCommand } from './ip-command.js';
import { readLinks } from './links.js';

/** Neighbour states (NUD_*) by the names ip takes. */
export const NUD_STATES: Readonly<Record<number, string>> = {
  0x01: 'incomplete',
  0x02: 'reachable',
  0x04: 'stale',
  0x08: 'delay',
  0x10: 'probe',
  0x20: 'failed',
  0x40: 'noarp',
  0x80: 'permanent',
};

export const NUD_PERMANENT = 0x80;
export const NTF_PROXY = 0x08;
export const NTF_EXT_LEARNED = 0x10;
export const NTF_ROUTER = 0x80;

/** One requested neighbour, checked. */
export interface NeighborSpec {
  field: string;
  address: IpAddress;
  device: string;
  /** Lower case; undefined if the request left it empty. */
  lladdr: string | undefined;
  /** The ip name of the NUD state ("permanent", ...). */
  state: string;
  router: boolean;
  externLearned: boolean;
}

/** Checks one ARPNeighbor without touching the system. */
export function parseNeighbor(n: ARPNeighbor, field: string): NeighborSpec {
  const to = n.toIPAddress;
  if (to === undefined || to.address === '') {
    throw new InvalidNetworkArgumentError(`${field}.toIPAddress.address`, 'missing neighbour address');
  }
  const address = parseAddress(to.address, `${field}.toIPAddress.address`);
  checkDeclaredFamily(to.family, address.family, `${field}.toIPAddress.family`);
  const device = parseLinkName(n.device, `${field}.device`);
  const lladdr = n.lladdr === '' ? undefined : parseMacAddress(n.lladdr, `${field}.lladdr`);

  const stateValue = n.state === 0 ? NUD_PERMANENT : n.state;
  const state = NUD_STATES[stateValue];
  if (state === undefined) {
    throw new InvalidNetworkArgumentError(`${field}.state`, `unknown neighbour state ${n.state} (expected one NUD_* value)`);
  }
  if (n.flags < 0 || n.flags > 0xff) {
    throw new InvalidNetworkArgumentError(`${field}.flags`, `unknown neighbour flags ${n.flags}`);
  }
  if ((n.flags & NTF_PROXY) !== 0) {
    throw new InvalidNetworkArgumentError(`${field}.flags`, 'proxy neighbour entries are not supported');
  }
  return {
    field,
    address,
    device,
    lladdr,
    state,
    router: (n.flags & NTF_ROUTER) !== 0,
    externLearned: (n.flags & NTF_EXT_LEARNED) !== 0,
  };
}

/** Checks every neighbour of a request ("neighbors[1].lladdr: ..."). */
export function parseNeighborsRequest(list: readonly ARPNeighbor[], field = 'neighbors'): NeighborSpec[] {
  return list.map((n, i) => parseNeighbor(n, `${field}[${i}]`));
}

/** `ip neigh replace` arguments for a requested neighbour. */
export function neighborReplaceArgs(n: NeighborSpec): string[] {
  const args = [n.address.family === 4 ? '-4' : '-6', 'neigh', 'replace', formatAddress(n.address)];
  if (n.lladdr !== undefined) args.push('lladdr', n.lladdr);
  args.push('dev', n.device, 'nud', n.state);
  if (n.router) args.push('router');
  if (n.externLearned) args.push('extern_learn');
  return args;
}

/** Adds (or updates) the neighbour entries. */
export async function addArpNeighbors(ip: IpCommand, list: readonly ARPNeighbor[], field = 'neighbors'): Promise<void> {
  const specs = parseNeighborsRequest(list, field);
  if (specs.length === 0) return;
  const links = await readLinks(ip);
  for (const s of specs) {
    if (!links.some((l) => l.name === s.device)) {
      throw new LinkNotFoundError(`${s.field}.device`, `no link named ${JSON.stringify(s.device)}`);
    }
  }
  for (const s of specs) await ip.run(neighborReplaceArgs(s));
}
