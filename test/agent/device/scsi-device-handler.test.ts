// virtio-scsi handler: host scans on a fake sysfs tree, injected uevents,
// real device nodes.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DeviceSetupError, InvalidDeviceError } from '../../../src/agent/device/errors.js';
import type { DeviceRequest } from '../../../src/agent/device/handler.js';
import { parseScsiAddress, scsiHandler } from '../../../src/agent/device/scsi-device-handler.js';
import { UeventTimeoutError } from '../../../src/agent/uevent/errors.js';
import { blockAdd, makeFakeSystem, untilWaiting, type FakeSystem } from './fake-system.js';

let sys: FakeSystem;
beforeEach(async () => {
  sys = await makeFakeSystem();
});
afterEach(async () => {
  await sys.cleanup();
});

function device(id: string): DeviceRequest {
  return { id, type: 'scsi', vmPath: '', containerPath: '/dev/sdx', options: [] };
}

const scsiDisk = (target: number, lun: number, name: string) =>
  blockAdd(
    `/devices/pci0000:00/0000:00:05.0/virtio2/host0/target0:0:${target}/0:0:${target}:${lun}/block/${name}`,
    name,
  );

describe('SCSI addresses', () => {
  test('"<scsi id>:<lun>" in decimal', () => {
    assert.deepEqual(parseScsiAddress('0:0'), { target: 0, lun: 0 });
    assert.deepEqual(parseScsiAddress('1:255'), { target: 1, lun: 255 });
  });
  test('anything else names the field', () => {
    for (const bad of ['', '1', '1:2:3', 'a:b', '0x1:2', '1:-2', ' 1:2']) {
      assert.throws(() => parseScsiAddress(bad, 'id'), (err) => err instanceof InvalidDeviceError && err.field === 'id', bad);
    }
  });
});

describe('scsi handler', () => {
  test('asks every SCSI host to scan, then waits for the disk', async () => {
    const scan0 = await sys.sysFile('class/scsi_host/host0/scan');
    const scan1 = await sys.sysFile('class/scsi_host/host1/scan');
    await sys.node('sdb', 'b', 8, 16);
    const pending = scsiHandler.handle(device('1:2'), sys.ctx());
    await untilWaiting(sys.monitor, pending);
    assert.equal(await readFile(scan0, 'utf8'), '0 1 2');
    assert.equal(await readFile(scan1, 'utf8'), '0 1 2');
    await sys.monitor.inject(scsiDisk(1, 1, 'sda')); // another LUN: not ours
    assert.equal(sys.monitor.waiterCount, 1);
    await sys.monitor.inject(scsiDisk(1, 2, 'sdb'));
    assert.deepEqual(await pending, { dev: { containerPath: '/dev/sdx', type: 'b', major: 8, minor: 16 } });
  });

  test('a disk that never comes times out naming its address', async () => {
    await sys.sysFile('class/scsi_host/host0/scan');
    await assert.rejects(
      scsiHandler.handle(device('0:3'), sys.ctx(30)),
      (err) => err instanceof UeventTimeoutError && /SCSI disk 0:3/.test(err.message),
    );
  });

  test('no SCSI host, or a bad id, are errors', async () => {
    await assert.rejects(scsiHandler.handle(device('0:0'), sys.ctx()), DeviceSetupError);
    await sys.sysDir('class/scsi_host/host0'); // a host without a scan attribute
    await assert.rejects(
      scsiHandler.handle(device('0:0'), sys.ctx()),
      (err) => err instanceof DeviceSetupError && /host0/.test(err.message),
    );
    await rm(join(sys.sysfs, 'class'), { recursive: true });
    await assert.rejects(scsiHandler.handle(device('zero'), sys.ctx()), InvalidDeviceError);
  });
});
