// Reading the main routing table (`ip -json -details route show table main`,
// IPv4 then IPv6) and reporting it as types.Route.
//
// Route shape (the same one UpdateRoutes takes, so a listing can be sent back):
// - dest: "network/length", or "" for a default route (types.proto: an empty
//   dest means the default route). The Kata agent prints "0.0.0.0" (or
//   "::1") as the dest of every route with a gateway; we do not.
// - gateway: the next hop, "" for a route straight onto the link;
// - device: the outgoing interface;
// - source: the preferred source address (ip's "src"), bare;
// - scope: the kernel's route scope number (0 universe, 200 site, 253 link,
//   254 host, 255 nowhere). IPv6 routes have no scope: always 0;
// - family: v4 or v6; flags: RTNH_F_* / RTM_F_* bits; mtu: the route's MTU
//   metric, 0 if none.
// Only unicast routes are reported (blackhole, unreachable, ... routes have
// no shape in types.Route). A multipath route gives one Route per next hop.
import { create } from '@bufbuild/protobuf';
import { RouteSchema, type Route } from '../../protocols/gen/types_pb.js';
import { formatPrefix, type AddressFamily, type IpPrefix } from './addresses.js';
import type { IpCommand } from './ip-command.js';
import {
  asObject,
  optionalNumber,
  optionalString,
  outputPrefix,
  requireString,
  stringArray,
  type JsonObject,
} from './ip-json.js';
import { familyToProto } from './links.js';

/** Kernel route scopes by the names ip prints. */
export const ROUTE_SCOPES: Readonly<Record<string, number>> = {
  global: 0,
  universe: 0,
  site: 200,
  link: 253,
  host: 254,
  nowhere: 255,
};

export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;

/** Route flag bits (RTNH_F_* in the low byte, RTM_F_* above) by ip's names. */
export const ROUTE_FLAG_BITS: Readonly<Record<string, number>> = {
  dead: 0x1,
  pervasive: 0x2,
  onlink: 0x4,
  offload: 0x8,
  linkdown: 0x10,
  unresolved: 0x20,
  trap: 0x40,
  notify: 0x100,
  rt_offload: 0x4000,
  rt_trap: 0x8000,
  rt_offload_failed: 0x20000000,
};

export const RTNH_F_ONLINK = 0x4;

/** One next hop of a route. */
export interface NextHop {
  gateway: string | undefined;
  dev: string | undefined;
  flags: string[];
}

/** A route of the main table, as read from the kernel. */
export interface KernelRoute {
  family: AddressFamily;
  /** "unicast", "blackhole", "unreachable", ... */
  type: string;
  /** The destination as ip prints it ("default", "10.0.0.0/24", "10.0.0.5"). */
  dst: string;
  /** The destination parsed; undefined for "default". */
  dest: IpPrefix | undefined;
  protocol: string;
  scope: number;
  prefsrc: string | undefined;
  metric: number | undefined;
  tos: string | undefined;
  /** IPv6 source prefix of a source-specific route. */
  from: string | undefined;
  mtu: number;
  /** One entry for a plain route; several for a multipath one. */
  nexthops: NextHop[];
  /** Whether ip printed the next hops as a "nexthops" list. */
  multipath: boolean;
}

/** The main table's routes, IPv4 first. */
export async function readRoutes(ip: IpCommand): Promise<KernelRoute[]> {
  const v4 = await ip.json(['-details', '-4', 'route', 'show', 'table', 'main']);
  const v6 = await ip.json(['-details', '-6', 'route', 'show', 'table', 'main']);
  return [...parseRoutes(v4, 4), ...parseRoutes(v6, 6)];
}

/** Turns `ip -json -details -4|-6 route show` output into KernelRoutes. */
export function parseRoutes(json: unknown[], family: AddressFamily): KernelRoute[] {
  return json.map((entry) => {
    const o = asObject(entry, 'route');
    const dst = requireString(o, 'dst');
    const hops = Array.isArray(o['nexthops']) ? (o['nexthops'] as unknown[]).map((h) => nextHop(asObject(h, 'nexthop'))) : undefined;
    return {
      family,
      type: optionalString(o, 'type') ?? 'unicast',
      dst,
      dest: dst === 'default' ? undefined : outputPrefix(dst),
      protocol: optionalString(o, 'protocol') ?? '',
      scope: scopeNumber(o['scope']),
      prefsrc: optionalString(o, 'prefsrc'),
      metric: optionalNumber(o, 'metric'),
      tos: optionalString(o, 'tos'),
      from: optionalString(o, 'from'),
      mtu: routeMtu(o['metrics']),
      nexthops: hops ?? [nextHop(o)],
      multipath: hops !== undefined,
    };
  });
}

/** Route flag bits from the names ip prints (unknown names are dropped). */
export function routeFlagsFromNames(names: readonly string[]): number {
  let flags = 0;
  for (const n of names) flags |= ROUTE_FLAG_BITS[n] ?? 0;
  return flags >>> 0;
}

/** A kernel route in the shape ListRoutes reports: none, one, or one per next hop. */
export function kernelRouteToRoutes(r: KernelRoute): Route[] {
  if (r.type !== 'unicast') return [];
  return r.nexthops.map((hop) =>
    create(RouteSchema, {
      dest: r.dest === undefined ? '' : formatPrefix(r.dest),
      gateway: hop.gateway ?? '',
      device: hop.dev ?? '',
      source: r.prefsrc ?? '',
      scope: r.scope,
      family: familyToProto(r.family),
      flags: routeFlagsFromNames(hop.flags),
      mtu: r.mtu,
    }),
  );
}

/** `ip route del` arguments that remove exactly this route. */
export function routeDeleteArgs(r: KernelRoute): string[] {
  const args = [r.family === 4 ? '-4' : '-6', 'route', 'del'];
  if (r.type !== 'unicast') args.push(r.type);
  args.push(r.dst, 'table', 'main');
  if (r.tos !== undefined) args.push('tos', r.tos);
  if (r.from !== undefined) args.push('from', r.from);
  if (!r.multipath) {
    const hop = r.nexthops[0]!;
    if (hop.gateway !== undefined) args.push('via', hop.gateway);
    if (hop.dev !== undefined) args.push('dev', hop.dev);
  }
  if (r.metric !== undefined) args.push('metric', String(r.metric));
  return args;
}

function nextHop(o: JsonObject): NextHop {
  return { gateway: optionalString(o, 'gateway'), dev: optionalString(o, 'dev'), flags: stringArray(o['flags']) };
}

function scopeNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return RT_SCOPE_UNIVERSE;
  const named = ROUTE_SCOPES[v];
  if (named !== undefined) return named;
  return /^[0-9]+$/.test(v) ? Number(v) : RT_SCOPE_UNIVERSE;
}

/** The "mtu" entry of ip's metrics list ([{"mtu":1400}] or [{"mtu":{"lock":..}}]). */
function routeMtu(metrics: unknown): number {
  if (!Array.isArray(metrics)) return 0;
  for (const m of metrics) {
    if (typeof m === 'object' && m !== null && 'mtu' in m) {
      const v = (m as JsonObject)['mtu'];
      if (typeof v === 'number') return v;
    }
  }
  return 0;
}
