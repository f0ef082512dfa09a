// collectDeviceUpdates: all devices of a request through their handlers,
// conflicts, early validation, and the caller's one-step spec rewrite.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { collectDeviceUpdates } from '../../../src/agent/device/collect.js';
import { ConflictingDeviceUpdatesError, InvalidDeviceError, UnknownDeviceTypeError } from '../../../src/agent/device/errors.js';
import type { DeviceRequest } from '../../../src/agent/device/handler.js';
import { remapSpecDevices } from '../../../src/oci/devices/index.js';
import { withPciDeviceEnv } from '../../../src/oci/pci/index.js';
import { UeventTimeoutError } from '../../../src/agent/uevent/errors.js';
import { blockAdd, makeFakeSystem, uevent, type FakeSystem } from './fake-system.js';

let sys: FakeSystem;
beforeEach(async () => {
  sys = await makeFakeSystem();
});
afterEach(async () => {
  await sys.cleanup();
});

const mmio = (vmPath: string, containerPath: string): DeviceRequest => ({
  id: vmPath,
  type: 'mmioblk',
  vmPath,
  containerPath,
  options: [],
});

test('every device gives its update, in request order; the spec is rewritten in one step', async () => {
  await sys.node('vdb', 'b', 254, 16);
  await sys.node('pmem0', 'b', 259, 0);
  const devices: DeviceRequest[] = [
    mmio('/dev/vdb', '/dev/data'),
    { id: '', type: 'nvdimm', vmPath: '/dev/pmem0', containerPath: '/dev/pm', options: [] },
  ];
  const { updates, pciMap } = await collectDeviceUpdates(devices, sys.ctx());
  assert.deepEqual(updates, [
    { containerPath: '/dev/data', type: 'b', major: 254, minor: 16 },
    { containerPath: '/dev/pm', type: 'b', major: 259, minor: 0 },
  ]);
  assert.equal(pciMap.size, 0);

  // The caller's step: host numbers 8:0 and 259:3 become the guest's.
  const spec = {
    linux: {
      devices: [
        { path: '/dev/data', type: 'b', major: 8, minor: 0 },
        { path: '/dev/pm', type: 'b', major: 259, minor: 3 },
      ],
      resources: { devices: [{ allow: true, type: 'b', major: 8, minor: 0, access: 'rw' }] },
    },
  };
  const out = remapSpecDevices(spec, updates);
  assert.deepEqual(out.linux.devices, [
    { path: '/dev/data', type: 'b', major: 254, minor: 16 },
    { path: '/dev/pm', type: 'b', major: 259, minor: 0 },
  ]);
  assert.deepEqual(out.linux.resources?.devices?.[0], { allow: true, type: 'b', major: 254, minor: 16, access: 'rw' });
  assert.equal(spec.linux.devices[0]!.major, 8, 'collecting did not touch the spec');
});

test('VFIO functions fill the PCI map used for PCIDEVICE_* variables', async () => {
  await sys.sysDir('devices/pci0000:00/0000:00:02.0/pci_bus/0000:01');
  await sys.sysFile('bus/pci/rescan');
  await sys.monitor.inject(uevent({ DEVPATH: '/devices/pci0000:00/0000:00:02.0/0000:01:01.0', SUBSYSTEM: 'pci' }));
  await sys.monitor.inject(uevent({ DEVPATH: '/devices/pci0000:00/0000:00:02.0/0000:01:02.0', SUBSYSTEM: 'pci' }));
  const devices: DeviceRequest[] = [
    { id: '40', type: 'vfio-pci-gk', vmPath: '', containerPath: '/dev/vfio/40', options: ['0000:1a:00.0=02/01'] },
    { id: '41', type: 'vfio-pci-gk', vmPath: '', containerPath: '/dev/vfio/41', options: ['0000:1b:00.0=02/02'] },
  ];
  const { updates, pciMap } = await collectDeviceUpdates(devices, sys.ctx());
  assert.deepEqual(updates, []);
  assert.deepEqual([...pciMap], [
    ['0000:1a:00.0', '0000:01:01.0'],
    ['0000:1b:00.0', '0000:01:02.0'],
  ]);
  const spec = withPciDeviceEnv({ process: { env: ['PCIDEVICE_NIC=0000:1a:00.0,0000:1b:00.0'] } }, pciMap);
  assert.deepEqual(spec.process.env, ['PCIDEVICE_NIC=0000:01:01.0,0000:01:02.0']);
});

test('two devices for one container path are a conflict naming both', async () => {
  await sys.node('vdb', 'b', 254, 16);
  await sys.node('vdc', 'b', 254, 32);
  await assert.rejects(
    collectDeviceUpdates([mmio('/dev/vdb', '/dev/data'), mmio('/dev/vdb', '/dev/other'), mmio('/dev/vdc', '/dev/data')], sys.ctx()),
    (err) => {
      assert.ok(err instanceof ConflictingDeviceUpdatesError);
      assert.equal(err.containerPath, '/dev/data');
      assert.deepEqual(err.indexes, [0, 2]);
      assert.match(err.message, /^Conflicting device updates for \/dev\/data/);
      return true;
    },
  );
});

test('the whole list is validated before anything is waited for', async () => {
  // devices[0] would wait for /dev/vdq, but devices[1] is bad: nobody waits.
  const devices: DeviceRequest[] = [mmio('/dev/vdq', '/dev/data'), { ...mmio('/dev/vdr', '/dev/x'), type: 'foo' }];
  await assert.rejects(collectDeviceUpdates(devices, sys.ctx(60_000)), (err) => {
    assert.ok(err instanceof UnknownDeviceTypeError);
    assert.equal(err.field, 'devices[1].type');
    return true;
  });
  assert.equal(sys.monitor.waiterCount, 0);
  await assert.rejects(
    collectDeviceUpdates([mmio('/dev/vdq', 'relative')], sys.ctx()),
    (err) => err instanceof InvalidDeviceError && err.field === 'devices[0].container_path',
  );
});

test('a device that never appears fails the request with the device named', async () => {
  await sys.node('vdb', 'b', 254, 16);
  await sys.monitor.inject(blockAdd('/devices/platform/virtio-mmio.1/virtio1/block/vdb', 'vdb'));
  await assert.rejects(
    collectDeviceUpdates([mmio('/dev/vdb', '/dev/a'), mmio('/dev/vdz', '/dev/b')], sys.ctx(30)),
    (err) => err instanceof UeventTimeoutError && err.message.includes('/dev/vdz'),
  );
});

test('no devices, nothing to do', async () => {
  const { updates, pciMap } = await collectDeviceUpdates([], sys.ctx());
  assert.deepEqual(updates, []);
  assert.equal(pciMap.size, 0);
});
