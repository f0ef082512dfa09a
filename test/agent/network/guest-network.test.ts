// The guest network API against the real kernel, inside network namespaces of
// the test's own, with veth links whose peers stay down (no carrier, so the
// kernel adds no IPv6 link-local address and what we read back is exactly
// what we configured).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import {
  ARPNeighborSchema,
  IPAddressSchema,
  IPFamily,
  InterfaceSchema,
  RouteSchema,
  type Interface,
  type Route,
} from '../../../src/protocols/gen/types_pb.js';
import { IpCommandError, LinkNotFoundError, NetworkError } from '../../../src/agent/network/errors.js';
import { GuestNetwork } from '../../../src/agent/network/guest-network.js';
import { TestNetns } from './netns.js';

const MAC_A = '02:00:00:00:0a:01';
const MAC_B = '02:00:00:00:0b:01';
const UP = 0x1;
const BROADCAST = 0x2;
const LOOPBACK = 0x8;
const NOARP = 0x80;
const MULTICAST = 0x1000;

const v4 = (address: string, mask: string) => create(IPAddressSchema, { family: IPFamily.v4, address, mask });
const v6 = (address: string, mask: string) => create(IPAddressSchema, { family: IPFamily.v6, address, mask });
const route = (o: Partial<Omit<Route, '$typeName'>>) => create(RouteSchema, o);

/** Fails unless `promise` rejects with `code` and a message starting with `field: `. */
async function rejectsWith(promise: Promise<unknown>, code: NetworkError['code'], field: string, text?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof NetworkError, String(err));
    assert.equal(err.code, code);
    assert.ok(err.message.startsWith(`${field}: `), err.message);
    if (text) assert.match(err.message, text);
    return true;
  });
}

const canRun = TestNetns.available();
const skip = !canRun && 'cannot create network namespaces (needs root)';
const namespaces: TestNetns[] = [];
function newNamespace(): TestNetns {
  const ns = TestNetns.create();
  namespaces.push(ns);
  return ns;
}
after(() => {
  for (const ns of namespaces) ns.delete();
  for (const ns of namespaces) assert.ok(!ns.exists(), `namespace ${ns.name} left behind`);
});

describe('the runtime\'s call sequence: interface, routes, neighbours', { skip }, () => {
  let ns: TestNetns;
  let net: GuestNetwork;
  before(() => {
    ns = newNamespace();
    ns.addVeth('kt-a', MAC_A, 'kt-ap', '02:00:00:00:0a:02');
    // Something to replace: an old address on the NIC.
    ns.ip('address', 'add', '10.9.9.9/24', 'dev', 'kt-a');
    net = new GuestNetwork({ netns: ns.name });
  });

  test('UpdateInterface by MAC renames, sets the MTU, replaces the addresses and brings the link up', async () => {
    const result = await net.updateInterface(
      create(InterfaceSchema, {
        device: 'eth0',
        name: 'eth0',
        hwAddr: MAC_A.toUpperCase(), // case does not matter
        mtu: 1400n,
        type: 'veth',
        IPAddresses: [v4('10.1.0.2', '24'), v6('2001:db8::2', '64')],
      }),
    );
    const expected = create(InterfaceSchema, {
      name: 'eth0',
      hwAddr: MAC_A,
      mtu: 1400n,
      type: 'veth',
      rawFlags: UP | BROADCAST | MULTICAST, // no carrier: not RUNNING
      IPAddresses: [v4('10.1.0.2', '24'), v6('2001:db8::2', '64')],
    });
    assert.deepEqual(result, expected);
    const listed = (await net.listInterfaces()).find((i) => i.hwAddr === MAC_A);
    assert.deepEqual(listed, expected);

    // And as ip itself sees it.
    const [link] = ns.json('address', 'show', 'dev', 'eth0');
    assert.equal(link!['mtu'], 1400);
    assert.ok((link!['flags'] as string[]).includes('UP'));
    const addrs = (link!['addr_info'] as Array<Record<string, unknown>>).map((a) => `${a['local']}/${a['prefixlen']}`);
    assert.deepEqual(addrs, ['10.1.0.2/24', '2001:db8::2/64']);
    const names = ns.json('link', 'show').map((l) => l['ifname']);
    assert.ok(!names.includes('kt-a'), `old name still there: ${names.join(' ')}`);
  });

  test('a second UpdateInterface replaces the addresses again and is idempotent', async () => {
    const req = create(InterfaceSchema, { name: 'eth0', hwAddr: MAC_A, IPAddresses: [v4('10.1.0.3', '24'), v4('10.1.0.2', '24')] });
    const first = await net.updateInterface(req);
    const second = await net.updateInterface(req);
    assert.deepEqual(first, second);
    assert.deepEqual(first.IPAddresses, [v4('10.1.0.3', '24'), v4('10.1.0.2', '24')]);
    assert.equal(first.mtu, 1400n, 'MTU 0 keeps the MTU');
    // Back to the addresses the routes below use.
    const back = await net.updateInterface(
      create(InterfaceSchema, { name: 'eth0', hwAddr: MAC_A, IPAddresses: [v4('10.1.0.2', '24'), v6('2001:db8::2', '64')] }),
    );
    assert.deepEqual(back.IPAddresses, [v4('10.1.0.2', '24'), v6('2001:db8::2', '64')]);
  });

  test('UpdateRoutes replaces the routes, adding link routes before the gateways that need them', async () => {
    ns.ip('link', 'set', 'dev', 'lo', 'up');
    ns.ip('route', 'add', '10.50.0.0/16', 'dev', 'eth0', 'proto', 'static'); // an old route: goes
    ns.ip('route', 'add', '10.60.0.0/16', 'dev', 'lo'); // the loopback's: stays
    ns.ip('route', 'add', '10.80.0.0/16', 'nexthop', 'via', '10.1.0.1', 'dev', 'eth0', 'nexthop', 'via', '10.1.0.3', 'dev', 'eth0'); // goes
    ns.ip('-6', 'route', 'add', '2001:db8:50::/64', 'via', '2001:db8::7', 'dev', 'eth0', 'proto', 'ra'); // goes
    const result = await net.updateRoutes([
      // The gateway is only reachable through the next route.
      route({ dest: '', gateway: '10.2.0.1', device: 'eth0' }),
      route({ dest: '10.2.0.0/16', device: 'eth0', scope: 253 }),
      // A 2020 runtime's IPv6 routes: family left at 0.
      route({ dest: '2001:db8:1::/64', device: 'eth0', family: IPFamily.v4 }),
      route({ gateway: '2001:db8::1', device: 'eth0', source: '2001:db8::2' }),
      // HEAD fields: flags (onlink) and mtu.
      route({ dest: '10.70.0.0/16', gateway: '10.99.0.1', device: 'eth0', flags: 4, mtu: 1300, family: IPFamily.v4 }),
    ]);
    assert.deepEqual(result, await net.listRoutes());

    const linkdown = 16; // the veth has no carrier: the kernel marks its routes
    const r4 = (o: Partial<Omit<Route, '$typeName'>>) => route({ family: IPFamily.v4, device: 'eth0', flags: linkdown, ...o });
    const r6 = (o: Partial<Omit<Route, '$typeName'>>) => route({ family: IPFamily.v6, device: 'eth0', flags: linkdown, ...o });
    const byDest = (a: Route, b: Route) => `${a.family}${a.dest}${a.gateway}`.localeCompare(`${b.family}${b.dest}${b.gateway}`);
    assert.deepEqual(
      result.filter((r) => r.device === 'eth0').sort(byDest),
      [
        r4({ gateway: '10.2.0.1' }),
        r4({ dest: '10.1.0.0/24', source: '10.1.0.2', scope: 253 }), // the kernel's subnet route stays
        r4({ dest: '10.2.0.0/16', scope: 253 }),
        r4({ dest: '10.70.0.0/16', gateway: '10.99.0.1', flags: 4 | linkdown, mtu: 1300 }),
        r6({ gateway: '2001:db8::1', source: '2001:db8::2' }),
        r6({ dest: '2001:db8:1::/64' }),
        r6({ dest: '2001:db8::/64' }),
      ].sort(byDest),
    );
    assert.ok(result.some((r) => r.dest === '10.60.0.0/16' && r.device === 'lo'), 'loopback route deleted');
    for (const gone of ['10.50.0.0/16', '10.80.0.0/16', '2001:db8:50::/64']) {
      assert.ok(!result.some((r) => r.dest === gone), `old route ${gone} kept`);
    }
    // As ip sees it: the IPv6 routes are IPv6 routes.
    const six = ns.json('-6', 'route', 'show', 'table', 'main').map((r) => r['dst']);
    assert.ok(six.includes('2001:db8:1::/64') && six.includes('default'), JSON.stringify(six));
  });

  test('AddARPNeighbors adds permanent entries', async () => {
    await net.addArpNeighbors([
      create(ARPNeighborSchema, { toIPAddress: v4('10.1.0.1', ''), device: 'eth0', lladdr: '02:AA:BB:CC:DD:EE', state: 0x80 }),
      // As a 2020 runtime sends IPv6 ones: family 10 (AF_INET6); state 0 means permanent.
      create(ARPNeighborSchema, {
        toIPAddress: create(IPAddressSchema, { family: 10 as IPFamily, address: '2001:db8::1' }),
        device: 'eth0',
        lladdr: '02:aa:bb:cc:dd:ef',
        flags: 0x80, // NTF_ROUTER
      }),
    ]);
    const entries = ns.json('neigh', 'show', 'dev', 'eth0', 'nud', 'all');
    const find = (dst: string) => entries.find((e) => e['dst'] === dst);
    assert.deepEqual(find('10.1.0.1')?.['state'], ['PERMANENT']);
    assert.equal(find('10.1.0.1')?.['lladdr'], '02:aa:bb:cc:dd:ee');
    assert.deepEqual(find('2001:db8::1')?.['state'], ['PERMANENT']);
    assert.equal(find('2001:db8::1')?.['lladdr'], '02:aa:bb:cc:dd:ef');
    assert.ok(find('2001:db8::1') !== undefined && 'router' in find('2001:db8::1')!);
    // Sending them again is harmless.
    await net.addArpNeighbors([create(ARPNeighborSchema, { toIPAddress: v4('10.1.0.1', ''), device: 'eth0', lladdr: '02:aa:bb:cc:dd:ee' })]);
  });

  test('bad input is refused with the right code and nothing changes', async () => {
    const snapshot = () => ({
      links: ns.ip('-details', 'address', 'show'),
      routes4: ns.ip('route', 'show', 'table', 'all'),
      routes6: ns.ip('-6', 'route', 'show', 'table', 'all'),
      neigh: ns.ip('neigh', 'show', 'nud', 'all'),
    });
    const before = snapshot();
    const iface = (o: Partial<Omit<Interface, '$typeName'>>) =>
      create(InterfaceSchema, { name: 'eth0', hwAddr: MAC_A, IPAddresses: [v4('10.1.0.5', '24')], ...o });

    await rejectsWith(net.updateInterface(iface({ hwAddr: '02:00:00:00:0a' })), 'INVALID_ARGUMENT', 'interface.hwAddr');
    await rejectsWith(net.updateInterface(iface({ hwAddr: '02:00:00:00:0c:01' })), 'NOT_FOUND', 'interface.hwAddr', /no link with address 02:00:00:00:0c:01/);
    await rejectsWith(net.updateInterface(iface({ hwAddr: '', device: 'eth7' })), 'NOT_FOUND', 'interface.device', /no link named "eth7"/);
    await rejectsWith(
      net.updateInterface(iface({ IPAddresses: [v4('10.1.0.5', '24'), v4('10.1.0.300', '24')] })),
      'INVALID_ARGUMENT',
      'interface.IPAddresses[1].address',
    );
    await rejectsWith(net.updateInterface(iface({ IPAddresses: [v6('2001:db8::5', '129')] })), 'INVALID_ARGUMENT', 'interface.IPAddresses[0].mask');
    await rejectsWith(net.updateInterface(iface({ mtu: 70000n })), 'INVALID_ARGUMENT', 'interface.mtu', /maximum of 65535/);
    await rejectsWith(net.updateInterface(iface({ name: 'lo' })), 'INVALID_ARGUMENT', 'interface.name', /loopback/);

    const good = route({ dest: '10.3.0.0/16', device: 'eth0' });
    await rejectsWith(
      net.updateRoutes([good, good, route({ gateway: '10.2.0.x', device: 'eth0' })]),
      'INVALID_ARGUMENT',
      'routes[2].gateway',
      /invalid address/,
    );
    await rejectsWith(net.updateRoutes([good, route({ dest: '10.4.0.0/16', device: 'eth9' })]), 'NOT_FOUND', 'routes[1].device');
    await rejectsWith(
      net.updateRoutes([route({ dest: '10.4.0.0/16', gateway: '2001:db8::1', device: 'eth0' })]),
      'INVALID_ARGUMENT',
      'routes[0].gateway',
    );
    await rejectsWith(
      net.addArpNeighbors([create(ARPNeighborSchema, { toIPAddress: v4('10.1.0.7', ''), device: 'eth0', lladdr: '02:aa' })]),
      'INVALID_ARGUMENT',
      'neighbors[0].lladdr',
    );
    await rejectsWith(
      net.addArpNeighbors([
        create(ARPNeighborSchema, { toIPAddress: v4('10.1.0.7', ''), device: 'eth0', lladdr: '02:aa:bb:cc:dd:01' }),
        create(ARPNeighborSchema, { toIPAddress: v4('10.1.0.8', ''), device: 'eth5', lladdr: '02:aa:bb:cc:dd:02' }),
      ]),
      'NOT_FOUND',
      'neighbors[1].device',
    );
    assert.deepEqual(snapshot(), before);
  });

  test('a route the kernel refuses is an INTERNAL error carrying ip\'s message', async () => {
    await assert.rejects(
      net.updateRoutes([route({ dest: '10.8.0.0/16', gateway: '10.99.0.1', device: 'eth0' })]),
      (err: unknown) =>
        err instanceof IpCommandError && err.code === 'INTERNAL' && /route replace 10\.8\.0\.0\/16/.test(err.message) && /gateway/i.test(err.stderr),
    );
  });
});

describe('UpdateInterface details', { skip }, () => {
  test('a name held by another link: the two links swap names', async () => {
    const ns = newNamespace();
    ns.addVeth('eth0', MAC_A, 'kt-ap', '02:00:00:00:0a:02');
    ns.addVeth('eth1', MAC_B, 'kt-bp', '02:00:00:00:0b:02');
    ns.ip('link', 'set', 'dev', 'eth0', 'up');
    const net = new GuestNetwork({ netns: ns.name });
    const result = await net.updateInterface(create(InterfaceSchema, { name: 'eth0', hwAddr: MAC_B }));
    assert.equal(result.name, 'eth0');
    assert.equal(result.hwAddr, MAC_B);
    const other = (await net.listInterfaces()).find((i) => i.hwAddr === MAC_A);
    assert.equal(other?.name, 'eth1');
    assert.equal((other!.rawFlags & UP) !== 0, true, 'the other link was up and is up again');
  });

  test('without hwAddr the link is found by name; IFF_NOARP in raw_flags turns ARP off', async () => {
    const ns = newNamespace();
    ns.addVeth('kt-c', '02:00:00:00:0c:01', 'kt-cp', '02:00:00:00:0c:02');
    const net = new GuestNetwork({ netns: ns.name });
    const result = await net.updateInterface(create(InterfaceSchema, { device: 'kt-c', name: 'net1', rawFlags: NOARP, mtu: 9000n }));
    assert.equal(result.name, 'net1');
    assert.equal(result.mtu, 9000n);
    assert.equal(result.rawFlags & NOARP, NOARP);
    assert.ok((ns.json('link', 'show', 'dev', 'net1')[0]!['flags'] as string[]).includes('NOARP'));
    // And back on.
    const again = await net.updateInterface(create(InterfaceSchema, { name: 'net1' }));
    assert.equal(again.rawFlags & NOARP, 0);
  });

  test('IPv6 addresses are skipped on a link with IPv6 disabled', async () => {
    const ns = newNamespace();
    ns.addVeth('kt-d', '02:00:00:00:0d:01', 'kt-dp', '02:00:00:00:0d:02');
    ns.exec('sysctl', '-q', '-w', 'net.ipv6.conf.kt-d.disable_ipv6=1');
    const net = new GuestNetwork({ netns: ns.name });
    const result = await net.updateInterface(
      create(InterfaceSchema, { name: 'kt-d', hwAddr: '02:00:00:00:0d:01', IPAddresses: [v4('10.4.0.2', '24'), v6('2001:db8:4::2', '64')] }),
    );
    assert.deepEqual(result.IPAddresses, [v4('10.4.0.2', '24')]);
  });

  test('the kernel\'s IPv6 link-local address is kept; loopback can be brought up', async () => {
    const ns = newNamespace();
    // A veth whose peer is up has a carrier, hence a link-local address.
    ns.addVeth('kt-e', '02:00:00:00:0e:01', 'kt-ep', '02:00:00:00:0e:02');
    ns.ip('link', 'set', 'dev', 'kt-ep', 'up');
    const net = new GuestNetwork({ netns: ns.name });
    await net.updateInterface(create(InterfaceSchema, { name: 'kt-e', hwAddr: '02:00:00:00:0e:01', IPAddresses: [v6('2001:db8:5::2', '64')] }));
    const again = await net.updateInterface(create(InterfaceSchema, { name: 'kt-e', hwAddr: '02:00:00:00:0e:01', IPAddresses: [v4('10.5.0.2', '24')] }));
    const texts = again.IPAddresses.map((a) => `${a.address}/${a.mask}`);
    // EUI-64 from the MAC: 02:00:00:00:0e:01 -> fe80::ff:fe00:e01
    assert.deepEqual(texts.sort(), ['10.5.0.2/24', 'fe80::ff:fe00:e01/64']);

    await net.bringUpLoopback();
    const lo = (await net.listInterfaces()).find((i) => i.name === 'lo');
    assert.equal(lo!.rawFlags & (LOOPBACK | UP), LOOPBACK | UP);
    assert.ok(lo!.IPAddresses.some((a) => a.address === '127.0.0.1' && a.mask === '8'));
  });

  test('calls on one GuestNetwork run one at a time', async () => {
    const ns = newNamespace();
    ns.addVeth('kt-f', '02:00:00:00:0f:01', 'kt-fp', '02:00:00:00:0f:02');
    const net = new GuestNetwork({ netns: ns.name });
    // Without serialisation these would interleave their remove/add steps.
    const results = await Promise.all(
      ['10.6.0.1', '10.6.0.2', '10.6.0.3', '10.6.0.4'].map((a) =>
        net.updateInterface(create(InterfaceSchema, { name: 'kt-f', hwAddr: '02:00:00:00:0f:01', IPAddresses: [v4(a, '24')] })),
      ),
    );
    assert.deepEqual(results.map((r) => r.IPAddresses.map((a) => a.address)), [['10.6.0.1'], ['10.6.0.2'], ['10.6.0.3'], ['10.6.0.4']]);
    const [link] = ns.json('address', 'show', 'dev', 'kt-f');
    assert.deepEqual((link!['addr_info'] as Array<Record<string, unknown>>).map((a) => a['local']), ['10.6.0.4']);
  });

  test('a link missing by MAC is NOT_FOUND (a LinkNotFoundError)', async () => {
    const ns = newNamespace();
    const net = new GuestNetwork({ netns: ns.name });
    await assert.rejects(
      net.updateInterface(create(InterfaceSchema, { name: 'eth0', hwAddr: MAC_A })),
      (err: unknown) => err instanceof LinkNotFoundError && err.grpcCode === 5 && err.field === 'interface.hwAddr',
    );
  });
});
