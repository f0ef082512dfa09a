// Reading guest device nodes (upstream test_device_info_new and
// test_dev_update_new, rdev part) with real nodes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  deviceUpdateFromNode,
  devNameOf,
  guestPathOf,
  readDeviceNode,
} from '../../../src/agent/device/device-node.js';
import { DeviceSetupError, InvalidDeviceError } from '../../../src/agent/device/errors.js';
import { makeFakeSystem, type FakeSystem } from './fake-system.js';

let sys: FakeSystem;
before(async () => {
  sys = await makeFakeSystem();
});
after(async () => {
  await sys.cleanup();
});

describe('readDeviceNode', () => {
  test('/dev/null is char 1:3', async () => {
    assert.deepEqual(await readDeviceNode('/dev/null'), { type: 'c', major: 1, minor: 3 });
  });

  test('a block node, with numbers beyond the old 8-bit range', async () => {
    const p = await sys.node('bignode', 'b', 300, 70_000);
    assert.deepEqual(await readDeviceNode(p), { type: 'b', major: 300, minor: 70_000 });
  });

  test('a regular file, a missing path and "" are errors', async () => {
    const file = join(sys.root, 'plain');
    await writeFile(file, 'x');
    await assert.rejects(readDeviceNode(file), (err) => err instanceof DeviceSetupError && /not a device node/.test(err.message));
    await assert.rejects(readDeviceNode(join(sys.root, 'nope')), (err) => err instanceof DeviceSetupError && /nope/.test(err.message));
    await assert.rejects(readDeviceNode(''), DeviceSetupError);
  });
});

describe('deviceUpdateFromNode', () => {
  test('carries the container path, the node numbers and the final path', async () => {
    assert.deepEqual(await deviceUpdateFromNode('/dev/xda', '/dev/null', '/dev/new'), {
      containerPath: '/dev/xda',
      type: 'c',
      major: 1,
      minor: 3,
      finalPath: '/dev/new',
    });
    const withoutFinal = await deviceUpdateFromNode('/dev/xda', '/dev/null');
    assert.equal('finalPath' in withoutFinal, false);
  });

  test('a node that does not exist is an error', async () => {
    await assert.rejects(deviceUpdateFromNode('/dev/xda', join(sys.dev, 'vdz')), DeviceSetupError);
  });
});

describe('guest device paths', () => {
  test('names below /dev', () => {
    assert.equal(devNameOf('/dev/vda'), 'vda');
    assert.equal(devNameOf('/dev/vfio/12'), 'vfio/12');
    assert.equal(guestPathOf('vfio/12'), '/dev/vfio/12');
  });

  test('paths outside /dev, or with empty, "." or ".." components, name the field', () => {
    for (const bad of ['', 'vda', '/tmp/vda', '/dev/', '/dev', '/devx/vda', '/dev/../etc/shadow', '/dev//vda', '/dev/./vda']) {
      assert.throws(
        () => devNameOf(bad, 'vm_path'),
        (err) => err instanceof InvalidDeviceError && err.field === 'vm_path' && err.message.startsWith('vm_path: '),
        JSON.stringify(bad),
      );
    }
  });
});
