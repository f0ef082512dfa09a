// The ip runner: argument checks, namespace selection, errors carrying stderr.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IpCommandError, NetworkError } from '../../../src/agent/network/errors.js';
import { IpCommand, checkIpArgs, isValidNetnsName } from '../../../src/agent/network/ip-command.js';
import { TestNetns } from './netns.js';

test('arguments that our builders could not produce are refused', () => {
  checkIpArgs(['-json', '-details', 'address', 'show', 'dev', 'eth0']);
  checkIpArgs(['-6', 'route', 'replace', 'default', 'via', 'fe80::1', 'dev', 'eth0']);
  for (const bad of [[], [''], ['link', 'show dev'], ['link', 'x\n'], ['-force', 'link'], ['-batch', 'x'], ['link', 'a'.repeat(257)], ['link', 'é']]) {
    assert.throws(
      () => checkIpArgs(bad),
      (err: unknown) => err instanceof NetworkError && err.code === 'INTERNAL' && /refusing/.test(err.message),
      JSON.stringify(bad),
    );
  }
  assert.throws(() => checkIpArgs([42 as unknown as string]), /refusing/);
});

test('namespace names', () => {
  assert.ok(isValidNetnsName('kata-ts-test-1-0'));
  for (const bad of ['', '.', '..', 'a/b', '-n', 'a b', 'x'.repeat(65)]) assert.ok(!isValidNetnsName(bad), bad);
  assert.throws(
    () => new IpCommand({ netns: '../etc' }),
    (err: unknown) => err instanceof NetworkError && err.code === 'INVALID_ARGUMENT' && /netns/.test(err.message),
  );
});

test('a missing ip binary is an INTERNAL error saying so', async () => {
  const ip = new IpCommand({ binary: '/nonexistent/ip' });
  await assert.rejects(
    ip.run(['link', 'show']),
    (err: unknown) => err instanceof IpCommandError && err.exitCode === null && /no ip binary at \/nonexistent\/ip/.test(err.message),
  );
});

test('a command that hangs is killed after the time limit', async () => {
  // Stands in for an ip that never returns (which a healthy machine cannot produce).
  const ip = new IpCommand({ binary: '/bin/sleep', timeoutMs: 100 });
  await assert.rejects(
    ip.run(['30']),
    (err: unknown) => err instanceof IpCommandError && err.exitCode === null && /timed out after 100 ms/.test(err.message),
  );
});

describe('in a network namespace', { skip: !TestNetns.available() && 'cannot create network namespaces (needs root)' }, () => {
  let ns: TestNetns;
  let ip: IpCommand;
  before(() => {
    ns = TestNetns.create();
    ns.addVeth('kt-x', '02:00:00:00:0b:01', 'kt-xp', '02:00:00:00:0b:02');
    ip = new IpCommand({ netns: ns.name });
  });
  after(() => {
    ns.delete();
    assert.ok(!ns.exists(), 'namespace left behind');
  });

  test('commands run inside the namespace', async () => {
    const links = await ip.json(['link', 'show']);
    const names = links.map((l) => (l as { ifname: string }).ifname).sort();
    assert.deepEqual(names, ['kt-x', 'kt-xp', 'lo']);
    assert.equal(await ip.run(['link', 'set', 'dev', 'kt-x', 'mtu', '1300']), '');
    assert.equal(ns.json('link', 'show', 'dev', 'kt-x')[0]!['mtu'], 1300);
  });

  test('a failing command is an IpCommandError with ip\'s stderr and exit code', async () => {
    await assert.rejects(ip.run(['link', 'show', 'dev', 'kt-nope']), (err: unknown) => {
      assert.ok(err instanceof IpCommandError);
      assert.equal(err.code, 'INTERNAL');
      assert.equal(err.grpcCode, 13);
      assert.equal(err.exitCode, 1);
      assert.deepEqual(err.args, ['link', 'show', 'dev', 'kt-nope']);
      assert.match(err.stderr, /Device "kt-nope" does not exist/);
      assert.match(err.message, /^ip link show dev kt-nope failed \(exit 1\): Device "kt-nope" does not exist/);
      return true;
    });
  });

  test('sysctls are read as the namespace sees them', async () => {
    ns.exec('sysctl', '-q', '-w', 'net.ipv6.conf.kt-x.disable_ipv6=1');
    assert.equal(await ip.readNetSysctl('ipv6/conf/kt-x/disable_ipv6'), '1');
    assert.equal(await ip.readNetSysctl('ipv6/conf/kt-xp/disable_ipv6'), '0');
    assert.equal(await ip.readNetSysctl('ipv6/conf/kt-none/disable_ipv6'), undefined);
    // Our own namespace has no kt-x.
    assert.equal(await new IpCommand().readNetSysctl('ipv6/conf/kt-x/disable_ipv6'), undefined);
    await assert.rejects(ip.readNetSysctl('../../etc/passwd'), /refusing/);
  });
});
