// The handler table and request validation: every error names its field.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidDeviceError, UnknownDeviceTypeError } from '../../../src/agent/device/errors.js';
import type { DeviceRequest } from '../../../src/agent/device/handler.js';
import { deviceHandlerNames, findDeviceHandler } from '../../../src/agent/device/registry.js';
import { validateDevice, validateDevices } from '../../../src/agent/device/validate.js';
import { create } from '@bufbuild/protobuf';
import { DeviceSchema } from '../../../src/protocols/gen/agent_pb.js';

describe('handler table', () => {
  test('lists the supported driver types', () => {
    assert.deepEqual(deviceHandlerNames(), ['blk', 'mmioblk', 'nvdimm', 'scsi', 'vfio-pci', 'vfio-pci-gk']);
  });

  test('each name leads to a handler that claims it', () => {
    for (const name of deviceHandlerNames()) {
      assert.ok(findDeviceHandler(name)?.driverTypes.includes(name), name);
    }
    assert.equal(findDeviceHandler('blk-ccw'), undefined);
    assert.equal(findDeviceHandler(''), undefined);
  });
});

describe('validation', () => {
  const good: DeviceRequest = { id: '02/01', type: 'blk', vmPath: '', containerPath: '/dev/xda', options: [] };
  const at = (i: number, device: Partial<DeviceRequest>) => () => validateDevice({ ...good, ...device }, i);

  function rejects(fn: () => unknown, field: string, reason: RegExp): void {
    assert.throws(fn, (err) => {
      assert.ok(err instanceof InvalidDeviceError, String(err));
      assert.equal(err.field, field);
      assert.match(err.message, new RegExp(`^${field.replace(/[[\]]/g, '\\$&')}: `));
      assert.match(err.reason, reason);
      return true;
    });
  }

  test('a good device returns its handler; protobuf Devices are accepted', () => {
    assert.equal(validateDevice(good, 0), findDeviceHandler('blk'));
    const pb = create(DeviceSchema, { type: 'mmioblk', vmPath: '/dev/vdb', containerPath: '/dev/vdb' });
    assert.equal(validateDevice(pb, 0), findDeviceHandler('mmioblk'));
  });

  test('type must be present and known', () => {
    rejects(at(0, { type: '' }), 'devices[0].type', /must not be empty/);
    assert.throws(at(1, { type: 'foo' }), (err) => {
      assert.ok(err instanceof UnknownDeviceTypeError);
      assert.equal(err.message, 'devices[1].type: unknown device type "foo"');
      return true;
    });
  });

  test('id and vm_path must not both be empty', () => {
    rejects(at(2, { id: '', vmPath: '' }), 'devices[2].id', /both be empty/);
  });

  test('container_path: non-empty, absolute, below /dev, no ".."', () => {
    rejects(at(0, { containerPath: '' }), 'devices[0].container_path', /empty/);
    rejects(at(0, { containerPath: 'dev/xda' }), 'devices[0].container_path', /absolute/);
    rejects(at(0, { containerPath: '/tmp/xda' }), 'devices[0].container_path', /below \/dev/);
    rejects(at(0, { containerPath: '/dev/' }), 'devices[0].container_path', /below \/dev/);
    rejects(at(0, { containerPath: '/dev/../etc/shadow' }), 'devices[0].container_path', /"\.\."/);
    assert.doesNotThrow(at(0, { containerPath: '/dev/vfio/12' }));
  });

  test('driver-specific fields are checked by the handler, named from the request', () => {
    rejects(at(3, { id: '02/xyz' }), 'devices[3].id', /invalid PCI path/);
    rejects(at(0, { type: 'scsi', id: '1' }), 'devices[0].id', /SCSI address/);
    rejects(at(0, { type: 'mmioblk', id: 'x', vmPath: '' }), 'devices[0].vm_path', /\/dev path/);
    rejects(at(0, { type: 'nvdimm', id: '', vmPath: '/pmem0' }), 'devices[0].vm_path', /below \/dev/);
    rejects(at(1, { type: 'vfio-pci', id: '12', options: ['0000:01:00.0=02', 'x'] }), 'devices[1].options[1]', /form/);
  });

  test('validateDevices checks them all, in order', () => {
    const list = [good, { ...good, type: 'nvdimm', id: '', vmPath: '/dev/pmem0' }];
    assert.deepEqual(validateDevices(list), [findDeviceHandler('blk'), findDeviceHandler('nvdimm')]);
    assert.throws(() => validateDevices([good, { ...good, type: 'ccw' }]), /^UnknownDeviceTypeError: devices\[1\]\.type/);
  });
});
