// Finding a PCI NIC's interface: an existing class/net link, or its uevent.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidDeviceError } from '../../../src/agent/device/errors.js';
import { waitForPciNetInterface } from '../../../src/agent/device/network-device.js';
import { UeventTimeoutError } from '../../../src/agent/uevent/errors.js';
import { makeFakeSystem, uevent, untilWaiting, type FakeSystem } from './fake-system.js';

let sys: FakeSystem;
beforeEach(async () => {
  sys = await makeFakeSystem();
  await sys.sysDir('devices/pci0000:00/0000:00:02.0/pci_bus/0000:01');
  await sys.sysFile('class/net/bonding_masters'); // a plain file among the links
  await sys.sysLink('class/net/lo', '../../devices/virtual/net/lo');
});
afterEach(async () => {
  await sys.cleanup();
});

test('an interface already in class/net is found without waiting', async () => {
  await sys.sysLink('class/net/eth0', '../../devices/pci0000:00/0000:00:03.0/virtio0/net/eth0');
  await sys.sysLink('class/net/eth1', '../../devices/pci0000:00/0000:00:02.0/0000:01:01.0/virtio3/net/eth1');
  assert.equal(await waitForPciNetInterface('02/01', sys.ctx()), 'eth1');
  assert.equal(await waitForPciNetInterface('03', sys.ctx()), 'eth0');
  assert.equal(sys.monitor.waiterCount, 0);
});

test('otherwise the interface uevent below the function gives the name', async () => {
  // A NIC in the neighbouring slot is not it.
  await sys.sysLink('class/net/eth2', '../../devices/pci0000:00/0000:00:02.0/0000:01:02.0/virtio4/net/eth2');
  const pending = waitForPciNetInterface('02/01', sys.ctx());
  await untilWaiting(sys.monitor, pending);
  await sys.monitor.inject(
    uevent({ DEVPATH: '/devices/pci0000:00/0000:00:02.0/0000:01:01.0/virtio5/net/eth3', SUBSYSTEM: 'net', INTERFACE: 'eth3' }),
  );
  assert.equal(await pending, 'eth3');
});

test('a timeout names the PCI path; a bad path names the field', async () => {
  await assert.rejects(
    waitForPciNetInterface('02/07', sys.ctx(30)),
    (err) => err instanceof UeventTimeoutError && /network device at PCI path 02\/07/.test(err.message),
  );
  await assert.rejects(
    waitForPciNetInterface('xx', sys.ctx(), 'interface.pci_path'),
    (err) => err instanceof InvalidDeviceError && err.field === 'interface.pci_path',
  );
});
