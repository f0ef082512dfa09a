// NVDIMM handler: existing pmem nodes, or waiting for their uevent.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidDeviceError } from '../../../src/agent/device/errors.js';
import type { DeviceRequest } from '../../../src/agent/device/handler.js';
import { nvdimmHandler } from '../../../src/agent/device/nvdimm-device-handler.js';
import { UeventTimeoutError } from '../../../src/agent/uevent/errors.js';
import { blockAdd, makeFakeSystem, untilWaiting, type FakeSystem } from './fake-system.js';

let sys: FakeSystem;
beforeEach(async () => {
  sys = await makeFakeSystem();
});
afterEach(async () => {
  await sys.cleanup();
});

function device(vmPath: string): DeviceRequest {
  return { id: '', type: 'nvdimm', vmPath, containerPath: '/dev/pmem-c', options: [] };
}

const pmemPath = (n: number) => `/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0012:00/ndbus0/region${n}/btt${n}.0/block/pmem${n}`;

test('an existing /dev/pmemN gives its numbers', async () => {
  await sys.node('pmem0', 'b', 259, 0);
  const update = await nvdimmHandler.handle(device('/dev/pmem0'), sys.ctx());
  assert.deepEqual(update, { dev: { containerPath: '/dev/pmem-c', type: 'b', major: 259, minor: 0 } });
});

test('a missing node is waited for; a pmem of the same name outside the ACPI root does not count', async () => {
  const pending = nvdimmHandler.handle(device('/dev/pmem1'), sys.ctx());
  await untilWaiting(sys.monitor, pending);
  await sys.monitor.inject(blockAdd('/devices/pci0000:00/block/pmem1', 'pmem1'));
  assert.equal(sys.monitor.waiterCount, 1);
  await sys.node('pmem1', 'b', 259, 1);
  await sys.monitor.inject(blockAdd(pmemPath(1), 'pmem1'));
  assert.deepEqual((await pending).dev, { containerPath: '/dev/pmem-c', type: 'b', major: 259, minor: 1 });
});

test('a timeout names the device; an empty or foreign vm_path is invalid', async () => {
  await assert.rejects(
    nvdimmHandler.handle(device('/dev/pmem7'), sys.ctx(30)),
    (err) => err instanceof UeventTimeoutError && /NVDIMM device \/dev\/pmem7/.test(err.message),
  );
  for (const vmPath of ['', '/mnt/pmem0']) {
    assert.throws(() => nvdimmHandler.validate!(device(vmPath)), (err) => err instanceof InvalidDeviceError && err.field === 'vm_path');
    await assert.rejects(nvdimmHandler.handle(device(vmPath), sys.ctx()), InvalidDeviceError);
  }
});
