// UpdateRoutes: make the main routing table the one the runtime sends.
//
// 1. Every route is checked (nothing is touched if one is bad) and every
//    device must exist (NOT_FOUND otherwise, again before any change).
// 2. The main table's routes through the guest's interfaces are deleted,
//    except the loopback's and the ones the kernel made for the interfaces'
//    own addresses ("proto kernel": subnet routes, fe80::/64), which follow
//    the addresses UpdateInterface set.
// 3. The requested routes are added ("ip route replace", so one equal to a
//    kept kernel route simply takes it over), routes without a gateway
//    first: they make the gateways of the others reachable.
// (Older Kata agents did the same deletion, but skipped any device whose name
// merely contained "lo"; the current one deletes nothing and only replaces,
// so routes the runtime no longer sends linger.)
//
// Reading the request (see routes.ts for the shape):
// - The family comes from the addresses: a 2020 runtime never sets
//   Route.family (0, i.e. "v4") even for IPv6 routes. A family of v6 with
//   IPv4 addresses is refused. Without any address (default route straight
//   onto a link), Route.family decides.
// - source is the preferred source address (what the runtime reads from the
//   pod's route as "src"), with or without a /32 (/128) suffix. (The Kata
//   agent turns a bare address into a /32 source prefix, i.e. source
//   routing, which is not what the runtime meant.) Shorter prefixes are
//   refused.
// - scope is passed on for IPv4 (IPv6 routes have no scope).
// - Of flags, only RTNH_F_ONLINK (4) can be requested; the other bits are
//   the kernel's state of the host route (linkdown, offload, ...) and are
//   ignored.
// - mtu, when not 0, becomes the route's MTU metric.
import type { Route } from '../../protocols/gen/types_pb.js';
import {
  addressBits,
  declaredFamily,
  formatAddress,
  formatPrefix,
  parseAddress,
  parsePrefix,
  type AddressFamily,
  type IpAddress,
  type IpPrefix,
} from './addresses.js';
import { InvalidNetworkArgumentError, LinkNotFoundError } from './errors.js';
import { parseLinkName } from './identifiers.js';
import type { IpCommand } from './ip-command.js';
import { IFF_LOOPBACK, readLinks, type LinkState } from './links.js';
import { RTNH_F_ONLINK, kernelRouteToRoutes, readRoutes, routeDeleteArgs } from './routes.js';

/** One requested route, checked. */
export interface RouteSpec {
  /** Where it was in the request (for error messages). */
  field: string;
  family: AddressFamily;
  /** undefined: the default route. */
  dest: IpPrefix | undefined;
  gateway: IpAddress | undefined;
  device: string;
  source: IpAddress | undefined;
  scope: number;
  onlink: boolean;
  /** 0: none. */
  mtu: number;
}

/** Checks one Route without touching the system. */
export function parseRoute(route: Route, field: string): RouteSpec {
  const device = parseLinkName(route.device, `${field}.device`);

  const dest =
    route.dest === '' || route.dest === 'default' ? undefined : parsePrefix(route.dest, `${field}.dest`, true);
  const gateway = route.gateway === '' ? undefined : parseAddress(route.gateway, `${field}.gateway`);
  const source = route.source === '' ? undefined : parseSource(route.source, `${field}.source`);

  // The family is the addresses' family; they must agree with one another.
  let family: AddressFamily | undefined;
  let familyFrom = '';
  for (const [name, addr] of [['dest', dest], ['gateway', gateway], ['source', source]] as const) {
    if (addr === undefined) continue;
    if (family === undefined) {
      family = addr.family;
      familyFrom = name;
    } else if (addr.family !== family) {
      throw new InvalidNetworkArgumentError(
        `${field}.${name}`,
        `IPv${addr.family} address in a route whose ${familyFrom} is IPv${family}`,
      );
    }
  }
  const declared = declaredFamily(route.family, `${field}.family`);
  if (family !== undefined && declared !== undefined && declared !== family) {
    throw new InvalidNetworkArgumentError(`${field}.family`, `says IPv${declared} but the route's ${familyFrom} is IPv${family}`);
  }
  family ??= declared ?? 4;

  if (route.scope > 255) {
    throw new InvalidNetworkArgumentError(`${field}.scope`, `route scope ${route.scope} is out of range (0-255)`);
  }

  return {
    field,
    family,
    dest,
    gateway,
    device,
    source,
    scope: route.scope,
    onlink: (route.flags & RTNH_F_ONLINK) !== 0,
    mtu: route.mtu,
  };
}

/** Checks every route of a request ("routes[2].gateway: ..."). */
export function parseRoutesRequest(routes: readonly Route[], field = 'routes'): RouteSpec[] {
  return routes.map((r, i) => parseRoute(r, `${field}[${i}]`));
}

/** The order to add routes in: those without a gateway first, otherwise as given. */
export function orderForAdding(specs: readonly RouteSpec[]): RouteSpec[] {
  return [...specs.filter((s) => s.gateway === undefined), ...specs.filter((s) => s.gateway !== undefined)];
}

/** `ip route replace` arguments for a requested route. */
export function routeReplaceArgs(spec: RouteSpec): string[] {
  const args = [spec.family === 4 ? '-4' : '-6', 'route', 'replace'];
  args.push(spec.dest === undefined ? 'default' : formatPrefix(spec.dest));
  args.push('table', 'main', 'proto', 'boot');
  if (spec.family === 4) args.push('scope', String(spec.scope));
  if (spec.gateway !== undefined) args.push('via', formatAddress(spec.gateway));
  args.push('dev', spec.device);
  if (spec.source !== undefined) args.push('src', formatAddress(spec.source));
  if (spec.mtu !== 0) args.push('mtu', String(spec.mtu));
  if (spec.onlink) args.push('onlink');
  return args;
}

/**
 * Replaces the guest's routes with `routes` and returns the main table as
 * ListRoutes reports it.
 */
export async function updateRoutes(ip: IpCommand, routes: readonly Route[], field = 'routes'): Promise<Route[]> {
  const specs = parseRoutesRequest(routes, field);
  const links = await readLinks(ip);
  for (const s of specs) {
    if (!links.some((l) => l.name === s.device)) {
      throw new LinkNotFoundError(`${s.field}.device`, `no link named ${JSON.stringify(s.device)}`);
    }
  }

  for (const old of await readRoutes(ip)) {
    if (old.protocol === 'kernel') continue;
    if (!old.nexthops.some((hop) => hop.dev !== undefined && !isLoopback(links, hop.dev))) continue;
    await ip.run(routeDeleteArgs(old));
  }

  for (const s of orderForAdding(specs)) await ip.run(routeReplaceArgs(s));

  return (await readRoutes(ip)).flatMap(kernelRouteToRoutes);
}

/** A source given as an address, or as an address with a full-length prefix. */
function parseSource(text: string, field: string): IpAddress {
  const prefix = parsePrefix(text, field, false);
  if (prefix.length !== addressBits(prefix.family)) {
    throw new InvalidNetworkArgumentError(
      field,
      `${text} is a prefix; source must be the preferred source address (source routing is not supported)`,
    );
  }
  return { family: prefix.family, value: prefix.value };
}

function isLoopback(links: readonly LinkState[], name: string): boolean {
  const link = links.find((l) => l.name === name);
  return link !== undefined && (link.flags & IFF_LOOPBACK) !== 0;
}
