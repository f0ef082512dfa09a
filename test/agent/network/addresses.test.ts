// Addresses, prefixes, families, interface names and MACs of requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  checkDeclaredFamily,
  declaredFamily,
  formatAddress,
  formatPrefix,
  isIpv6LinkLocal,
  networkOf,
  parseAddress,
  parsePrefix,
  parsePrefixLength,
  sameAddress,
} from '../../../src/agent/network/addresses.js';
import { InvalidNetworkArgumentError } from '../../../src/agent/network/errors.js';
import { isValidLinkName, parseLinkName, parseMacAddress } from '../../../src/agent/network/identifiers.js';

function rejectsField(fn: () => unknown, field: string, reason?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidNetworkArgumentError, `not an InvalidNetworkArgumentError: ${String(err)}`);
    assert.equal(err.field, field);
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.equal(err.grpcCode, 3);
    assert.ok(err.message.startsWith(`${field}: `), err.message);
    if (reason) assert.match(err.reason, reason);
    return true;
  });
}

test('addresses parse to one value whatever the spelling, and print canonically', () => {
  const a = parseAddress('2001:DB8:0:0:0::1', 'f');
  const b = parseAddress('2001:db8::1', 'f');
  assert.ok(sameAddress(a, b));
  assert.equal(formatAddress(a), '2001:db8::1');
  assert.equal(formatAddress(parseAddress('::ffff:10.1.2.3', 'f')), '::ffff:a01:203');
  assert.equal(formatAddress(parseAddress('1:2:3:4:5:6:10.1.2.3', 'f')), '1:2:3:4:5:6:a01:203');
  assert.equal(formatAddress(parseAddress('::', 'f')), '::');
  assert.equal(formatAddress(parseAddress('1:0:0:2:0:0:0:3', 'f')), '1:0:0:2::3');
  assert.equal(formatAddress(parseAddress('1:0:2:3:4:5:6:7', 'f')), '1:0:2:3:4:5:6:7');
  assert.equal(formatAddress(parseAddress('10.0.0.1', 'f')), '10.0.0.1');
  assert.equal(parseAddress('10.0.0.1', 'f').family, 4);
  assert.equal(parseAddress('fe80::1', 'f').family, 6);
});

test('IPv6 printing agrees with the URL parser (RFC 5952) for any address', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }), (groups) => {
      const text = groups.map((g) => g.toString(16)).join(':');
      const printed = formatAddress(parseAddress(text, 'f'));
      assert.equal(`[${printed}]`, new URL(`http://[${text}]/`).hostname);
      assert.ok(sameAddress(parseAddress(printed, 'f'), parseAddress(text, 'f')));
    }),
  );
});

test('bad addresses name the field', () => {
  for (const bad of ['', '10.0.0', '10.0.0.256', '01.2.3.4', '10.0.0.1/24', 'fe80::1%eth0', '1::2::3', ' 10.0.0.1', 'eth0']) {
    rejectsField(() => parseAddress(bad, 'routes[2].gateway'), 'routes[2].gateway', /invalid address/);
  }
});

test('prefix lengths are decimal and within the family', () => {
  assert.equal(parsePrefixLength('24', 4, 'f'), 24);
  assert.equal(parsePrefixLength('0', 4, 'f'), 0);
  assert.equal(parsePrefixLength('128', 6, 'f'), 128);
  for (const bad of ['33', '', '255.255.255.0', '-1', '0x10', '24 ', '1e1']) {
    rejectsField(() => parsePrefixLength(bad, 4, 'interface.IPAddresses[0].mask'), 'interface.IPAddresses[0].mask', /0 to 32/);
  }
  rejectsField(() => parsePrefixLength('129', 6, 'm'), 'm', /0 to 128/);
});

test('prefixes: bare addresses are hosts; host bits are refused when a network is required', () => {
  assert.equal(formatPrefix(parsePrefix('10.0.0.5', 'f', true)), '10.0.0.5/32');
  assert.equal(formatPrefix(parsePrefix('2001:db8::/32', 'f', true)), '2001:db8::/32');
  assert.equal(formatPrefix(parsePrefix('10.0.0.5/24', 'f', false)), '10.0.0.5/24');
  assert.equal(formatPrefix(networkOf(parsePrefix('10.0.0.5/24', 'f', false))), '10.0.0.0/24');
  assert.equal(formatPrefix(networkOf(parsePrefix('2001:db8::1/0', 'f', false))), '::/0');
  rejectsField(() => parsePrefix('10.0.0.5/24', 'routes[0].dest', true), 'routes[0].dest', /host bits set \(the network is 10\.0\.0\.0\/24\)/);
  rejectsField(() => parsePrefix('10.0.0.0/40', 'routes[0].dest', true), 'routes[0].dest', /prefix length/);
});

test('families: 0 is unset (either), 1 and AF_INET6 (10) are v6, others refused', () => {
  assert.equal(declaredFamily(0, 'f'), undefined);
  assert.equal(declaredFamily(1, 'f'), 6);
  assert.equal(declaredFamily(10, 'f'), 6);
  rejectsField(() => declaredFamily(2, 'x.family'), 'x.family', /unknown address family 2/);
  checkDeclaredFamily(0, 6, 'f'); // a 2020 runtime's IPv6 route
  checkDeclaredFamily(1, 6, 'f');
  rejectsField(() => checkDeclaredFamily(1, 4, 'a.family'), 'a.family', /says IPv6 but the address is IPv4/);
});

test('IPv6 link-local is fe80::/10', () => {
  assert.ok(isIpv6LinkLocal(parseAddress('fe80::1', 'f')));
  assert.ok(isIpv6LinkLocal(parseAddress('febf::1', 'f')));
  assert.ok(!isIpv6LinkLocal(parseAddress('fec0::1', 'f')));
  assert.ok(!isIpv6LinkLocal(parseAddress('2001:db8::1', 'f')));
});

test('interface names: what a guest NIC can be called, nothing that looks like an option', () => {
  for (const ok of ['eth0', 'enp0s3', 'eth0.100', 'veth_a-b', 'a', '123456789012345']) assert.ok(isValidLinkName(ok), ok);
  for (const bad of ['', '1234567890123456', '-eth0', 'eth 0', 'eth0:1', 'a/b', '.', '..', 'eth0\n', 'é']) {
    assert.ok(!isValidLinkName(bad), bad);
  }
  rejectsField(() => parseLinkName('', 'routes[1].device'), 'routes[1].device', /missing/);
  rejectsField(() => parseLinkName('-json', 'interface.name'), 'interface.name', /invalid interface name/);
});

test('MAC addresses: six hex octets, returned in lower case', () => {
  assert.equal(parseMacAddress('02:42:AC:11:00:02', 'f'), '02:42:ac:11:00:02');
  for (const bad of ['', '02:42:ac:11:00', '02-42-ac-11-00-02', '0242ac110002', '02:42:ac:11:00:0g', '02:42:ac:11:00:02:03']) {
    rejectsField(() => parseMacAddress(bad, 'interface.hwAddr'), 'interface.hwAddr', /invalid MAC address/);
  }
});
