// Checking requests and building ip arguments, without touching the system.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import {
  ARPNeighborSchema,
  IPAddressSchema,
  IPFamily,
  InterfaceSchema,
  RouteSchema,
} from '../../../src/protocols/gen/types_pb.js';
import { formatAddress, formatPrefix, parsePrefix } from '../../../src/agent/network/addresses.js';
import { neighborReplaceArgs, parseNeighbor, parseNeighborsRequest } from '../../../src/agent/network/arp-neighbors.js';
import { InvalidNetworkArgumentError } from '../../../src/agent/network/errors.js';
import { linkFlagsFromNames, parseLinks, linkToInterface } from '../../../src/agent/network/links.js';
import { kernelRouteToRoutes, parseRoutes, routeDeleteArgs } from '../../../src/agent/network/routes.js';
import { addressReplaceArgs, parseInterfaceUpdate, staleAddresses } from '../../../src/agent/network/update-interface.js';
import {
  orderForAdding,
  parseRoute,
  parseRoutesRequest,
  routeReplaceArgs,
} from '../../../src/agent/network/update-routes.js';

function rejectsField(fn: () => unknown, field: string, reason?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidNetworkArgumentError, `not an InvalidNetworkArgumentError: ${String(err)}`);
    assert.equal(err.field, field);
    if (reason) assert.match(err.message, reason);
    return true;
  });
}

const addr = (address: string, mask: string, family = IPFamily.v4) => create(IPAddressSchema, { address, mask, family });

test('an interface request: MAC, name, MTU, NOARP and de-duplicated addresses', () => {
  const u = parseInterfaceUpdate(
    create(InterfaceSchema, {
      hwAddr: '02:00:00:00:0A:01',
      name: 'eth0',
      device: 'eth0',
      mtu: 1400n,
      rawFlags: 0x80 | 0x1000, // NOARP | MULTICAST: only NOARP counts
      type: 'veth',
      IPAddresses: [addr('10.1.0.2', '24'), addr('2001:DB8::2', '64', IPFamily.v6), addr('10.1.0.2', '24'), addr('2001:db8::3', '64')],
    }),
  );
  assert.deepEqual(u.link, { by: 'mac', mac: '02:00:00:00:0a:01', field: 'interface.hwAddr' });
  assert.equal(u.name, 'eth0');
  assert.equal(u.mtu, 1400);
  assert.equal(u.arp, false);
  // The last one has family 0 (unset) with an IPv6 address: fine.
  assert.deepEqual(u.addresses.map((a) => `${formatAddress(a)}/${a.length}`), ['10.1.0.2/24', '2001:db8::2/64', '2001:db8::3/64']);
});

test('without hwAddr the link is found by device, then by name; MTU 0 keeps the MTU', () => {
  const byDevice = parseInterfaceUpdate(create(InterfaceSchema, { device: 'eth1', name: 'net1' }));
  assert.deepEqual(byDevice.link, { by: 'name', name: 'eth1', field: 'interface.device' });
  assert.equal(byDevice.name, 'net1');
  assert.equal(byDevice.mtu, undefined);
  assert.equal(byDevice.arp, true);
  const byName = parseInterfaceUpdate(create(InterfaceSchema, { name: 'eth2' }));
  assert.deepEqual(byName.link, { by: 'name', name: 'eth2', field: 'interface.name' });
  rejectsField(() => parseInterfaceUpdate(create(InterfaceSchema, {})), 'interface.hwAddr', /missing/);
});

test('bad interface fields are named', () => {
  const base = { hwAddr: '02:00:00:00:0a:01', name: 'eth0' };
  rejectsField(() => parseInterfaceUpdate(create(InterfaceSchema, { ...base, hwAddr: '02:00:00:00:0a' })), 'interface.hwAddr');
  rejectsField(() => parseInterfaceUpdate(create(InterfaceSchema, { ...base, name: 'a name' })), 'interface.name');
  rejectsField(() => parseInterfaceUpdate(create(InterfaceSchema, { ...base, mtu: 1n << 40n })), 'interface.mtu');
  rejectsField(
    () => parseInterfaceUpdate(create(InterfaceSchema, { ...base, IPAddresses: [addr('10.1.0.2', '24'), addr('10.1.0.300', '24')] })),
    'interface.IPAddresses[1].address',
  );
  rejectsField(
    () => parseInterfaceUpdate(create(InterfaceSchema, { ...base, IPAddresses: [addr('10.1.0.2', '255.255.255.0')] })),
    'interface.IPAddresses[0].mask',
  );
  rejectsField(
    () => parseInterfaceUpdate(create(InterfaceSchema, { ...base, IPAddresses: [addr('10.1.0.2', '24', IPFamily.v6)] })),
    'interface.IPAddresses[0].family',
  );
});

test('address arguments: IPv4 with its broadcast, IPv6 without DAD', () => {
  const u = parseInterfaceUpdate(
    create(InterfaceSchema, { name: 'eth0', IPAddresses: [addr('10.1.0.2', '24'), addr('10.9.0.1', '31'), addr('2001:db8::2', '64')] }),
  );
  assert.deepEqual(addressReplaceArgs(u.addresses[0]!, 'eth0'), ['address', 'replace', '10.1.0.2/24', 'broadcast', '+', 'dev', 'eth0']);
  assert.deepEqual(addressReplaceArgs(u.addresses[1]!, 'eth0'), ['address', 'replace', '10.9.0.1/31', 'dev', 'eth0']);
  assert.deepEqual(addressReplaceArgs(u.addresses[2]!, 'eth0'), ['address', 'replace', '2001:db8::2/64', 'dev', 'eth0', 'nodad']);
});

test('routes: the family comes from the addresses (a 2020 runtime sends 0 for IPv6)', () => {
  const v6 = parseRoute(create(RouteSchema, { dest: '2001:db8:1::/64', device: 'eth0', family: IPFamily.v4 }), 'routes[0]');
  assert.equal(v6.family, 6);
  const gw6 = parseRoute(create(RouteSchema, { gateway: 'fe80::1', device: 'eth0' }), 'routes[1]');
  assert.equal(gw6.family, 6);
  assert.equal(gw6.dest, undefined);
  assert.deepEqual(routeReplaceArgs(gw6), ['-6', 'route', 'replace', 'default', 'table', 'main', 'proto', 'boot', 'via', 'fe80::1', 'dev', 'eth0']);
  // No address at all: Route.family decides.
  assert.equal(parseRoute(create(RouteSchema, { device: 'eth0', family: IPFamily.v6 }), 'r').family, 6);
  assert.equal(parseRoute(create(RouteSchema, { device: 'eth0' }), 'r').family, 4);
});

test('routes: IPv4 arguments carry scope, source, MTU and onlink', () => {
  const r = parseRoute(
    create(RouteSchema, { dest: '10.70.0.0/16', gateway: '10.99.0.1', device: 'eth0', source: '10.1.0.2/32', scope: 0, flags: 4 | 16, mtu: 1300 }),
    'routes[0]',
  );
  assert.deepEqual(routeReplaceArgs(r), [
    '-4', 'route', 'replace', '10.70.0.0/16', 'table', 'main', 'proto', 'boot', 'scope', '0',
    'via', '10.99.0.1', 'dev', 'eth0', 'src', '10.1.0.2', 'mtu', '1300', 'onlink',
  ]);
  const link = parseRoute(create(RouteSchema, { dest: '10.2.0.0/16', device: 'eth0', scope: 253 }), 'routes[1]');
  assert.deepEqual(routeReplaceArgs(link), ['-4', 'route', 'replace', '10.2.0.0/16', 'table', 'main', 'proto', 'boot', 'scope', '253', 'dev', 'eth0']);
  assert.equal(formatPrefix(parseRoute(create(RouteSchema, { dest: '10.0.0.7', device: 'eth0' }), 'r').dest!), '10.0.0.7/32');
  assert.equal(parseRoute(create(RouteSchema, { dest: 'default', device: 'eth0' }), 'r').dest, undefined);
});

test('bad routes are named by index and field', () => {
  const good = { dest: '10.2.0.0/16', device: 'eth0' };
  const req = (bad: Record<string, unknown>) => [create(RouteSchema, good), create(RouteSchema, good), create(RouteSchema, { ...good, ...bad })];
  rejectsField(() => parseRoutesRequest(req({ gateway: '10.0.0.x' })), 'routes[2].gateway', /routes\[2\]\.gateway: invalid address/);
  rejectsField(() => parseRoutesRequest(req({ dest: '10.2.0.1/16' })), 'routes[2].dest', /host bits/);
  rejectsField(() => parseRoutesRequest(req({ device: '' })), 'routes[2].device', /missing/);
  rejectsField(() => parseRoutesRequest(req({ gateway: '2001:db8::1' })), 'routes[2].gateway', /IPv6 address in a route whose dest is IPv4/);
  rejectsField(() => parseRoutesRequest(req({ family: IPFamily.v6 })), 'routes[2].family', /says IPv6/);
  rejectsField(() => parseRoutesRequest(req({ family: 7 })), 'routes[2].family', /unknown address family/);
  rejectsField(() => parseRoutesRequest(req({ source: '10.1.0.0/24' })), 'routes[2].source', /preferred source/);
  rejectsField(() => parseRoutesRequest(req({ scope: 256 })), 'routes[2].scope', /out of range/);
});

test('routes without a gateway are added first, otherwise in request order', () => {
  const specs = parseRoutesRequest([
    create(RouteSchema, { gateway: '10.2.0.1', device: 'eth0' }),
    create(RouteSchema, { dest: '10.2.0.0/16', device: 'eth0', scope: 253 }),
    create(RouteSchema, { dest: '10.3.0.0/16', gateway: '10.2.0.1', device: 'eth0' }),
    create(RouteSchema, { dest: '2001:db8:1::/64', device: 'eth0' }),
  ]);
  assert.deepEqual(orderForAdding(specs).map((s) => s.field), ['routes[1]', 'routes[3]', 'routes[0]', 'routes[2]']);
});

test('neighbours: state 0 is permanent, IPv6 with AF_INET6 as family, router flag', () => {
  const [v4, v6] = parseNeighborsRequest([
    create(ARPNeighborSchema, { toIPAddress: addr('10.1.0.1', ''), device: 'eth0', lladdr: '02:AA:BB:CC:DD:EE' }),
    create(ARPNeighborSchema, { toIPAddress: addr('2001:db8::1', '', 10 as IPFamily), device: 'eth0', lladdr: '02:aa:bb:cc:dd:ef', state: 0x80, flags: 0x80 | 0x20 }),
  ]);
  assert.deepEqual(neighborReplaceArgs(v4!), ['-4', 'neigh', 'replace', '10.1.0.1', 'lladdr', '02:aa:bb:cc:dd:ee', 'dev', 'eth0', 'nud', 'permanent']);
  assert.deepEqual(neighborReplaceArgs(v6!), ['-6', 'neigh', 'replace', '2001:db8::1', 'lladdr', '02:aa:bb:cc:dd:ef', 'dev', 'eth0', 'nud', 'permanent', 'router']);
  const reachable = parseNeighbor(create(ARPNeighborSchema, { toIPAddress: addr('10.1.0.9', ''), device: 'eth0', state: 0x02, flags: 0x10 }), 'n');
  assert.deepEqual(neighborReplaceArgs(reachable), ['-4', 'neigh', 'replace', '10.1.0.9', 'dev', 'eth0', 'nud', 'reachable', 'extern_learn']);
});

test('bad neighbours are named', () => {
  const n = (over: Record<string, unknown>) =>
    create(ARPNeighborSchema, { toIPAddress: addr('10.1.0.1', ''), device: 'eth0', lladdr: '02:aa:bb:cc:dd:ee', ...over });
  rejectsField(() => parseNeighborsRequest([n({}), n({ toIPAddress: undefined })]), 'neighbors[1].toIPAddress.address', /missing/);
  rejectsField(() => parseNeighborsRequest([n({ toIPAddress: addr('10.1.0.1', '', IPFamily.v6) })]), 'neighbors[0].toIPAddress.family');
  rejectsField(() => parseNeighborsRequest([n({ lladdr: 'zz' })]), 'neighbors[0].lladdr', /invalid MAC/);
  rejectsField(() => parseNeighborsRequest([n({ state: 0x82 })]), 'neighbors[0].state', /unknown neighbour state 130/);
  rejectsField(() => parseNeighborsRequest([n({ flags: 0x08 })]), 'neighbors[0].flags', /proxy/);
  rejectsField(() => parseNeighborsRequest([n({ flags: -1 })]), 'neighbors[0].flags');
  rejectsField(() => parseNeighborsRequest([n({ device: 'eth0:1' })]), 'neighbors[0].device');
});

test('link flags: names back to IFF bits, RUNNING unless NO-CARRIER', () => {
  assert.equal(linkFlagsFromNames(['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP']), 0x1 | 0x2 | 0x1000 | 0x10000 | 0x40);
  assert.equal(linkFlagsFromNames(['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP', 'M-DOWN']), 0x1 | 0x2 | 0x1000);
  assert.equal(linkFlagsFromNames(['LOOPBACK', 'NOARP']), 0x8 | 0x80);
  assert.equal(linkFlagsFromNames(['BROADCAST', '0x80000']), 0x2 | 0x80000);
});

test('ip link output becomes types.Interface', () => {
  const [link] = parseLinks([
    {
      ifindex: 3, ifname: 'eth0', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1400, link_type: 'ether',
      address: '02:00:00:00:0A:01', min_mtu: 68, max_mtu: 65535, linkinfo: { info_kind: 'veth' },
      addr_info: [
        { family: 'inet', local: '10.1.0.2', prefixlen: 24, scope: 'global', secondary: true },
        { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
        { family: 'mpls' },
      ],
    },
  ]);
  assert.deepEqual(
    linkToInterface(link!),
    create(InterfaceSchema, {
      name: 'eth0', hwAddr: '02:00:00:00:0a:01', mtu: 1400n, type: 'veth', rawFlags: 0x11043,
      IPAddresses: [addr('10.1.0.2', '24'), addr('fe80::1', '64', IPFamily.v6)],
    }),
  );
  assert.equal(link!.addresses[0]!.secondary, true);
  assert.equal(link!.minMtu, 68);
});

test('ip route output becomes types.Route; delete arguments name the route exactly', () => {
  const v4 = parseRoutes(
    [
      { type: 'unicast', dst: 'default', gateway: '10.1.0.1', dev: 'eth0', protocol: 'boot', scope: 'global', flags: ['onlink', 'linkdown'], metrics: [{ mtu: 1400 }] },
      { type: 'unicast', dst: '10.1.0.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '10.1.0.2', flags: [] },
      { type: 'unicast', dst: '10.5.0.7', dev: 'eth0', protocol: 'static', scope: 'link', metric: 5, tos: '0x10', flags: [] },
      { type: 'blackhole', dst: '10.6.0.0/16', protocol: 'boot', scope: 'global', flags: [] },
      { type: 'unicast', dst: '10.7.0.0/16', protocol: 'boot', scope: 'global', flags: [], nexthops: [
        { gateway: '10.1.0.1', dev: 'eth0', weight: 1, flags: [] }, { gateway: '10.1.0.9', dev: 'eth0', weight: 1, flags: ['onlink'] },
      ] },
    ],
    4,
  );
  const routes = v4.flatMap(kernelRouteToRoutes);
  const r = (o: Record<string, unknown>) => create(RouteSchema, { family: IPFamily.v4, ...o });
  assert.deepEqual(routes, [
    r({ dest: '', gateway: '10.1.0.1', device: 'eth0', flags: 4 | 16, mtu: 1400 }),
    r({ dest: '10.1.0.0/24', device: 'eth0', source: '10.1.0.2', scope: 253 }),
    r({ dest: '10.5.0.7/32', device: 'eth0', scope: 253 }),
    r({ dest: '10.7.0.0/16', gateway: '10.1.0.1', device: 'eth0' }),
    r({ dest: '10.7.0.0/16', gateway: '10.1.0.9', device: 'eth0', flags: 4 }),
  ]);
  assert.deepEqual(routeDeleteArgs(v4[0]!), ['-4', 'route', 'del', 'default', 'table', 'main', 'via', '10.1.0.1', 'dev', 'eth0']);
  assert.deepEqual(routeDeleteArgs(v4[2]!), ['-4', 'route', 'del', '10.5.0.7', 'table', 'main', 'tos', '0x10', 'dev', 'eth0', 'metric', '5']);
  assert.deepEqual(routeDeleteArgs(v4[3]!), ['-4', 'route', 'del', 'blackhole', '10.6.0.0/16', 'table', 'main']);
  assert.deepEqual(routeDeleteArgs(v4[4]!), ['-4', 'route', 'del', '10.7.0.0/16', 'table', 'main']);

  const [v6] = parseRoutes([{ type: 'unicast', dst: '2001:db8:1::/64', dev: 'eth0', protocol: 'boot', scope: 'global', metric: 1024, flags: [], pref: 'medium' }], 6);
  assert.deepEqual(kernelRouteToRoutes(v6!), [create(RouteSchema, { dest: '2001:db8:1::/64', device: 'eth0', family: IPFamily.v6 })]);
  assert.deepEqual(routeDeleteArgs(v6!), ['-6', 'route', 'del', '2001:db8:1::/64', 'table', 'main', 'dev', 'eth0', 'metric', '1024']);
});

test('stale addresses: unwanted ones, and IPv4 subnets whose primary is not the first requested', () => {
  const on = (text: string, secondary = false) => {
    const p = parsePrefix(text, 'f', false);
    return { family: p.family, value: p.value, text: text.split('/')[0]!, prefixLength: p.length, secondary };
  };
  const want = (...texts: string[]) => texts.map((t) => parsePrefix(t, 'f', false));
  const current = [on('10.1.0.2/24'), on('10.2.0.2/24'), on('10.1.0.3/24', true), on('2001:db8::2/64'), on('fe80::1/64')];
  const names = (list: ReturnType<typeof staleAddresses>) => list.map((a) => `${a.text}/${a.prefixLength}`);
  // Same addresses, same primaries: nothing to do (link-local kept).
  assert.deepEqual(names(staleAddresses(current, want('10.1.0.2/24', '10.2.0.2/24', '10.1.0.3/24', '2001:db8::2/64'))), []);
  // Unwanted ones go; a different prefix length is a different address.
  assert.deepEqual(names(staleAddresses(current, want('10.1.0.2/24', '10.2.0.2/16'))), ['10.2.0.2/24', '10.1.0.3/24', '2001:db8::2/64']);
  // 10.1.0.3 asked for first in its subnet: the whole subnet is redone.
  assert.deepEqual(names(staleAddresses(current, want('10.2.0.2/24', '10.1.0.3/24', '10.1.0.2/24', '2001:db8::2/64'))), ['10.1.0.2/24', '10.1.0.3/24']);
});
