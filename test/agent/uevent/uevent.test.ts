// Parsing kernel uevent datagrams.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatUevent, makeUevent, parseUevent } from '../../../src/agent/uevent/uevent.js';

/** A datagram shaped like the kernel's: header, KEY=VALUE pairs, each NUL-terminated. */
function datagram(header: string, pairs: string[]): Buffer {
  return Buffer.from([header, ...pairs].map((s) => `${s}\0`).join(''), 'utf8');
}

describe('parseUevent', () => {
  test('reads the fields after the action@devpath header; DEVPATH has no /sys', () => {
    const ev = parseUevent(
      datagram('add@/devices/pci0000:00/0000:00:02.0/virtio1/block/vda', [
        'ACTION=add',
        'DEVPATH=/devices/pci0000:00/0000:00:02.0/virtio1/block/vda',
        'SUBSYSTEM=block',
        'MAJOR=254',
        'MINOR=0',
        'DEVNAME=vda',
        'DEVTYPE=disk',
        'SEQNUM=1234',
      ]),
    );
    assert.ok(ev);
    assert.equal(ev.action, 'add');
    assert.equal(ev.devpath, '/devices/pci0000:00/0000:00:02.0/virtio1/block/vda');
    assert.equal(ev.devname, 'vda');
    assert.equal(ev.subsystem, 'block');
    assert.equal(ev.seqnum, '1234');
    assert.equal(ev.interface, '');
    assert.equal(ev.env.MAJOR, '254');
    assert.equal(ev.env.DEVTYPE, 'disk');
    // The header is not a field.
    assert.equal(Object.keys(ev.env).some((k) => k.includes('@')), false);
  });

  test('INTERFACE of a network device; values may contain "="', () => {
    const ev = parseUevent(
      datagram('add@/devices/pci0000:00/0000:00:03.0/virtio2/net/eth1', [
        'ACTION=add',
        'DEVPATH=/devices/pci0000:00/0000:00:03.0/virtio2/net/eth1',
        'SUBSYSTEM=net',
        'INTERFACE=eth1',
        'IFINDEX=3',
        'X=a=b',
        'SEQNUM=7',
      ]),
    );
    assert.equal(ev?.interface, 'eth1');
    assert.equal(ev?.devname, '');
    assert.equal(ev?.env.X, 'a=b');
  });

  test('messages that are not kernel uevents are refused', () => {
    // udevd's re-broadcasts start with "libudev" and a binary header.
    assert.equal(parseUevent(Buffer.from('libudev\0\xfe\xed\xca\xfe', 'latin1')), undefined);
    // No ACTION, or no DEVPATH.
    assert.equal(parseUevent(datagram('add@/devices/x', ['DEVPATH=/devices/x'])), undefined);
    assert.equal(parseUevent(datagram('add@/devices/x', ['ACTION=add'])), undefined);
    assert.equal(parseUevent(''), undefined);
  });

  test('formatUevent produces what parseUevent reads back', () => {
    const ev = makeUevent({ ACTION: 'remove', DEVPATH: '/devices/virtual/vfio/3', DEVNAME: 'vfio/3', SEQNUM: '9' });
    const back = parseUevent(formatUevent(ev));
    assert.deepEqual(back, ev);
    assert.ok(formatUevent(ev).toString('utf8').startsWith('remove@/devices/virtual/vfio/3\0'));
  });
});
