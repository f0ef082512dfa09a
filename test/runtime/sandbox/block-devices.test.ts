import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Spec } from '../../../src/oci/spec.js';
import { BLOCK_SOURCE_ANNOTATION_PREFIX, BlockDeviceError, findBlockDevices, hostBlockDevice } from '../../../src/runtime/sandbox/block-devices.js';

describe('findBlockDevices', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-blk-'));
    await writeFile(join(dir, 'disk.img'), Buffer.alloc(4096));
    await mkdir(join(dir, 'a-dir'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const spec = (devices: NonNullable<Spec['linux']>['devices'], annotations: Record<string, string> = {}): Spec => ({
    ociVersion: '1.0.2',
    annotations,
    linux: { devices },
  });

  test('an annotated raw image file backs the device; char devices are not hot-plugged', async () => {
    const found = await findBlockDevices(
      spec(
        [
          { path: '/dev/fuse', type: 'c', major: 10, minor: 229 },
          { path: '/dev/xda', type: 'b', major: 250, minor: 7 },
        ],
        { [`${BLOCK_SOURCE_ANNOTATION_PREFIX}/dev/xda`]: join(dir, 'disk.img') },
      ),
    );
    assert.deepEqual(found, [{ index: 1, containerPath: '/dev/xda', path: join(dir, 'disk.img'), kind: 'file' }]);
  });

  test('without an annotation, the host block device with the same numbers', async (t) => {
    // Any block device the host has a node for (its disks, loop devices).
    const numbers = await readdir('/sys/dev/block').catch(() => [] as string[]);
    const known = numbers.map((n) => n.split(':').map(Number) as [number, number]);
    let hit: { major: number; minor: number; node: string } | undefined;
    for (const [major, minor] of known) {
      const node = await hostBlockDevice(major, minor);
      if (node) {
        hit = { major, minor, node };
        break;
      }
    }
    if (!hit) return t.skip('this host has no block device node at all');
    assert.equal(statSync(hit.node).isBlockDevice(), true);
    const found = await findBlockDevices(spec([{ path: '/dev/xdb', type: 'b', major: hit.major, minor: hit.minor }]));
    assert.deepEqual(found, [{ index: 0, containerPath: '/dev/xdb', path: hit.node, kind: 'host_device' }]);
  });

  test('errors name the entry, the numbers and the annotation', async () => {
    await assert.rejects(
      findBlockDevices(spec([{ path: '/dev/xdc', type: 'b', major: 4095, minor: 4095 }])),
      (err: unknown) =>
        err instanceof BlockDeviceError &&
        /linux\.devices\[0\] \(\/dev\/xdc, b 4095:4095\): the host has no block device 4095:4095/.test(err.message) &&
        err.message.includes(`${BLOCK_SOURCE_ANNOTATION_PREFIX}/dev/xdc`),
    );
    await assert.rejects(
      findBlockDevices(spec([{ path: '/dev/xdd', type: 'b', major: 1, minor: 1 }], { [`${BLOCK_SOURCE_ANNOTATION_PREFIX}/dev/xdd`]: join(dir, 'a-dir') })),
      /annotations\["io\.kata-ts\.block-source\.\/dev\/xdd"\]: .*a-dir is not a raw image file or a block device/,
    );
    await assert.rejects(
      findBlockDevices(
        spec(
          [
            { path: '/dev/xde', type: 'b', major: 1, minor: 1 },
            { path: '/dev/xde', type: 'b', major: 1, minor: 2 },
          ],
          { [`${BLOCK_SOURCE_ANNOTATION_PREFIX}/dev/xde`]: join(dir, 'disk.img') },
        ),
      ),
      /linux\.devices\[1\] .*another entry has the same path/,
    );
  });
});
