import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatAddress,
  InvalidAddressError,
  parseAddress,
  VMADDR_CID_ANY,
} from '../../../src/ttrpc/transport/address.js';

test('unix addresses: absolute paths and abstract names', () => {
  assert.deepEqual(parseAddress('unix:///run/kata/agent.sock'), {
    scheme: 'unix',
    path: '/run/kata/agent.sock',
    abstract: false,
  });
  assert.deepEqual(parseAddress('unix://@kata-agent'), { scheme: 'unix', path: '\0kata-agent', abstract: true });
});

test('vsock addresses: CID and port, -1 or empty CID for any', () => {
  assert.deepEqual(parseAddress('vsock://3:1024'), { scheme: 'vsock', cid: 3, port: 1024 });
  assert.deepEqual(parseAddress('vsock://-1:1024'), { scheme: 'vsock', cid: VMADDR_CID_ANY, port: 1024 });
  assert.deepEqual(parseAddress('vsock://:1024'), { scheme: 'vsock', cid: VMADDR_CID_ANY, port: 1024 });
  assert.deepEqual(parseAddress('vsock://4294967295:1'), { scheme: 'vsock', cid: VMADDR_CID_ANY, port: 1 });
});

test('hvsock addresses: socket path and optional port', () => {
  assert.deepEqual(parseAddress('hvsock:///run/vc/vm/x/root/kata.hvsock:1024'), {
    scheme: 'hvsock',
    path: '/run/vc/vm/x/root/kata.hvsock',
    port: 1024,
  });
  assert.deepEqual(parseAddress('hvsock:///tmp/kata.hvsock'), { scheme: 'hvsock', path: '/tmp/kata.hvsock', port: undefined });
  // A colon inside the path is kept; only a trailing :digits is the port.
  assert.deepEqual(parseAddress('hvsock:///tmp/a:b/s:7'), { scheme: 'hvsock', path: '/tmp/a:b/s', port: 7 });
});

test('serial addresses', () => {
  assert.deepEqual(parseAddress('serial:///dev/vport0p1'), { scheme: 'serial', path: '/dev/vport0p1' });
});

test('formatAddress writes the canonical form back', () => {
  for (const uri of [
    'unix:///run/a.sock',
    'unix://@name',
    'vsock://3:1024',
    'vsock://-1:1024',
    'hvsock:///run/x.hvsock:1024',
    'hvsock:///run/x.hvsock',
    'serial:///dev/vport0p1',
  ]) {
    assert.equal(formatAddress(parseAddress(uri)), uri);
  }
  assert.equal(formatAddress(parseAddress('vsock://:5')), 'vsock://-1:5');
});

test('bad addresses throw InvalidAddressError naming the bad part', () => {
  const cases: Array<[string, RegExp]> = [
    ['/run/agent.sock', /missing scheme/],
    ['tcp://1.2.3.4:5', /unknown scheme "tcp"/],
    ['unix://relative/path', /unix socket path "relative\/path" must be absolute/],
    ['unix://', /unix socket path "" must be absolute/],
    ['unix://@', /abstract socket name after "@" is empty/],
    [`unix:///${'x'.repeat(120)}`, /121 bytes long; the limit is 107/],
    ['vsock://3', /missing ":PORT"/],
    ['vsock://abc:1024', /CID "abc" is not a number/],
    ['vsock://-2:1024', /CID "-2" is not a number/],
    ['vsock://3:', /port "" is not a number/],
    ['vsock://3:http', /port "http" is not a number/],
    ['vsock://3:4294967296', /port "4294967296" is not a number from 0 to 4294967295/],
    ['vsock://4294967296:1', /CID "4294967296"/],
    ['hvsock://relative.sock:1024', /hybrid vsock socket path "relative.sock" must be absolute/],
    ['hvsock:///x:99999999999', /port "99999999999" is out of range/],
    ['serial://dev/vport0p1', /serial device path "dev\/vport0p1" must be absolute/],
  ];
  for (const [uri, message] of cases) {
    assert.throws(
      () => parseAddress(uri),
      (err: unknown) => {
        assert.ok(err instanceof InvalidAddressError, `${uri}: ${String(err)}`);
        assert.equal(err.address, uri);
        assert.match(err.message, message, uri);
        return true;
      },
    );
  }
});
