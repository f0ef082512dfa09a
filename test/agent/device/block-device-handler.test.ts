// virtio-blk handlers on a fake sysfs tree with injected uevents and real
// device nodes. Covers the 2020 "BB/DD" id, multi-level PCI paths, NUMA
// root complexes (upstream linux_abi pcipath cases), upstream
// test_get_device_name, and virtio-mmio disks.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  virtioBlkMmioHandler,
  virtioBlkPciHandler,
  waitForVirtioBlkPciDisk,
} from '../../../src/agent/device/block-device-handler.js';
import { DeviceSetupError, InvalidDeviceError } from '../../../src/agent/device/errors.js';
import type { DeviceRequest } from '../../../src/agent/device/handler.js';
import { UeventTimeoutError } from '../../../src/agent/uevent/errors.js';
import { blockAdd, makeFakeSystem, uevent, untilWaiting, type FakeSystem } from './fake-system.js';

let sys: FakeSystem;
beforeEach(async () => {
  sys = await makeFakeSystem();
  await sys.sysFile('bus/pci/rescan');
});
afterEach(async () => {
  await sys.cleanup();
});

function device(fields: Partial<DeviceRequest>): DeviceRequest {
  return { id: '', type: 'blk', vmPath: '', containerPath: '/dev/xvda', options: [], ...fields };
}

/** A bridge in `slot` of the root bus with bus `bus` behind it. */
async function bridge(rootBus: string, bridgeBdf: string, bus: string): Promise<void> {
  await sys.sysDir(`${rootBus.slice(1)}/${bridgeBdf}/pci_bus/${bus}`);
}

describe('blk (virtio-blk PCI)', () => {
  test('"02/01": the disk already announced is used (2020 bridge/device form)', async () => {
    await bridge('/devices/pci0000:00', '0000:00:02.0', '0000:01');
    await sys.node('vdb', 'b', 254, 16);
    await sys.monitor.inject(blockAdd('/devices/pci0000:00/0000:00:02.0/0000:01:01.0/virtio3/block/vdb', 'vdb'));

    const update = await virtioBlkPciHandler.handle(device({ id: '02/01' }), sys.ctx());
    assert.deepEqual(update, { dev: { containerPath: '/dev/xvda', type: 'b', major: 254, minor: 16 } });
    assert.equal(await readFile(join(sys.sysfs, 'bus/pci/rescan'), 'utf8'), '1', 'the PCI bus was rescanned');
  });

  test('a disk announced after the request is waited for; its partitions are not taken for it', async () => {
    await bridge('/devices/pci0000:00', '0000:00:02.0', '0000:01');
    await sys.node('vdc', 'b', 254, 32);
    await sys.node('vdc1', 'b', 254, 33);
    const pending = virtioBlkPciHandler.handle(device({ id: '02/03' }), sys.ctx());
    await untilWaiting(sys.monitor, pending);
    const disk = '/devices/pci0000:00/0000:00:02.0/0000:01:03.0/virtio5/block/vdc';
    await sys.monitor.inject(blockAdd(`${disk}/vdc1`, 'vdc1', { DEVTYPE: 'partition' }));
    assert.equal(sys.monitor.waiterCount, 1, 'a partition does not satisfy the wait');
    await sys.monitor.inject(blockAdd(disk, 'vdc', { DEVTYPE: 'disk' }));
    assert.deepEqual((await pending).dev, { containerPath: '/dev/xvda', type: 'b', major: 254, minor: 32 });
  });

  test('"02/00/01": three levels on root complex 00', async () => {
    await bridge('/devices/pci0000:00', '0000:00:02.0', '0000:01');
    await bridge('/devices/pci0000:00', '0000:00:02.0/0000:01:00.0', '0000:02');
    await sys.node('vdd', 'b', 254, 48);
    await sys.monitor.inject(
      blockAdd('/devices/pci0000:00/0000:00:02.0/0000:01:00.0/0000:02:01.0/virtio7/block/vdd', 'vdd'),
    );
    const update = await virtioBlkPciHandler.handle(device({ id: '02/00/01' }), sys.ctx());
    assert.equal(update.dev?.minor, 48);
  });

  test('"20/00/02": root complex 20 (a NUMA pxb-pcie) and path 00/02', async () => {
    await bridge('/devices/pci0000:20', '0000:00:00.0', '0000:01');
    await sys.node('vde', 'b', 254, 64);
    // The same relative path under root complex 00 must not be taken for it.
    await sys.node('vdf', 'b', 254, 80);
    await sys.monitor.inject(blockAdd('/devices/pci0000:00/0000:00:00.0/0000:01:02.0/virtio1/block/vdf', 'vdf'));
    await sys.monitor.inject(blockAdd('/devices/pci0000:20/0000:00:00.0/0000:01:02.0/virtio2/block/vde', 'vde'));
    const update = await virtioBlkPciHandler.handle(device({ id: '20/00/02' }), sys.ctx());
    assert.equal(update.dev?.minor, 64);
  });

  test('a disk that never comes times out with an error naming it', async () => {
    await bridge('/devices/pci0000:00', '0000:00:02.0', '0000:01');
    await assert.rejects(virtioBlkPciHandler.handle(device({ id: '02/04' }), sys.ctx(40)), (err) => {
      assert.ok(err instanceof UeventTimeoutError);
      assert.match(err.message, /virtio-blk PCI device 02\/04 \(\/devices\/pci0000:00\/0000:00:02\.0\/0000:01:04\.0\)/);
      return true;
    });
    assert.equal(sys.monitor.waiterCount, 0);
  });

  test('a malformed PCI path is an InvalidDeviceError for id', async () => {
    for (const id of ['zz/01', '02//01', '02/20.0', '40']) {
      await assert.rejects(
        virtioBlkPciHandler.handle(device({ id }), sys.ctx()),
        (err) => err instanceof InvalidDeviceError && err.field === 'id',
        id,
      );
      assert.throws(() => virtioBlkPciHandler.validate!(device({ id })), InvalidDeviceError, id);
    }
  });

  test('a bridge whose bus cannot be found is a setup error', async () => {
    await sys.sysDir('devices/pci0000:00/0000:00:02.0'); // no pci_bus, no children
    await assert.rejects(
      virtioBlkPciHandler.handle(device({ id: '02/01' }), sys.ctx()),
      (err) => err instanceof DeviceSetupError && /virtio-blk PCI device 02\/01/.test(err.message),
    );
  });

  test('without a PCI bus to rescan it is a setup error', async () => {
    await rm(join(sys.sysfs, 'bus/pci/rescan'));
    await assert.rejects(
      virtioBlkPciHandler.handle(device({ id: '02' }), sys.ctx()),
      (err) => err instanceof DeviceSetupError && /rescan/.test(err.message),
    );
  });

  test('an empty id uses vm_path (2020 Cloud Hypervisor)', async () => {
    await sys.node('vdg', 'b', 254, 96);
    const update = await virtioBlkPciHandler.handle(device({ vmPath: '/dev/vdg' }), sys.ctx());
    assert.deepEqual(update.dev, { containerPath: '/dev/xvda', type: 'b', major: 254, minor: 96 });
  });

  test('the disk name: recorded event first, then a new one after removal (upstream test_get_device_name)', async () => {
    await bridge('/devices/pci0000:00', '0000:00:0a.0', '0000:03');
    const vda = blockAdd('/devices/pci0000:00/0000:00:0a.0/0000:03:0b.0/virtio4/block/vda', 'vda');
    await sys.monitor.inject(vda);
    assert.equal(await waitForVirtioBlkPciDisk('0a/0b', sys.ctx()), 'vda');

    await sys.monitor.inject(uevent({ ACTION: 'remove', DEVPATH: vda.devpath, SUBSYSTEM: 'block', DEVNAME: 'vda' }));
    const pending = waitForVirtioBlkPciDisk('0a/0b', sys.ctx());
    await untilWaiting(sys.monitor, pending);
    await sys.monitor.inject(vda);
    assert.equal(await pending, 'vda');
  });
});

describe('mmioblk (virtio-mmio)', () => {
  test('an existing node is used without waiting', async () => {
    await sys.node('vdb', 'b', 254, 16);
    const update = await virtioBlkMmioHandler.handle(
      device({ type: 'mmioblk', vmPath: '/dev/vdb', id: '/dev/vdb' }),
      sys.ctx(),
    );
    assert.deepEqual(update.dev, { containerPath: '/dev/xvda', type: 'b', major: 254, minor: 16 });
    assert.equal(sys.monitor.waiterCount, 0);
  });

  test('a missing node is waited for through its uevent', async () => {
    const pending = virtioBlkMmioHandler.handle(device({ type: 'mmioblk', vmPath: '/dev/vdc' }), sys.ctx());
    await untilWaiting(sys.monitor, pending);
    // What devtmpfs and the kernel do, in that order.
    await sys.node('vdc', 'b', 254, 32);
    await sys.monitor.inject(blockAdd('/devices/virtio-mmio-cmdline/virtio-mmio.2/virtio2/block/vdc', 'vdc'));
    assert.deepEqual((await pending).dev, { containerPath: '/dev/xvda', type: 'b', major: 254, minor: 32 });
  });

  test('a timeout names the disk; a bad or missing vm_path is an InvalidDeviceError', async () => {
    await assert.rejects(
      virtioBlkMmioHandler.handle(device({ type: 'mmioblk', vmPath: '/dev/vdh' }), sys.ctx(30)),
      (err) => err instanceof UeventTimeoutError && /virtio-mmio block device \/dev\/vdh/.test(err.message),
    );
    for (const vmPath of ['', 'vdb', '/tmp/vdb', '/dev/../vdb']) {
      await assert.rejects(
        virtioBlkMmioHandler.handle(device({ type: 'mmioblk', id: 'x', vmPath }), sys.ctx()),
        (err) => err instanceof InvalidDeviceError && err.field === 'vm_path',
        vmPath,
      );
    }
  });
});
