// The guest root disk deny rule (upstream test_update_device_cgroup) and
// dev_t splitting.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import fc from 'fast-check';
import {
  guestRootDenyRule,
  makeDevT,
  MissingLinuxSectionError,
  readGuestRootDevice,
  splitDevT,
  withGuestRootDenyRule,
  type DeviceCgroupRule,
} from '../../../src/oci/devices/index.js';

/** The "major:minor" column of /proc/self/mountinfo for the mount at `/`: an independent source. */
function rootDeviceFromMountinfo(): { major: number; minor: number } {
  const line = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[4] === '/')
    .at(-1); // the topmost mount at / wins
  assert.ok(line, 'a mount at / in mountinfo');
  const [major, minor] = line[2]!.split(':').map(Number);
  return { major: major!, minor: minor! };
}

describe('dev_t', () => {
  test('known values: 0xfe00 is 254:0, /dev/null is 1:3', () => {
    assert.deepEqual(splitDevT(0xfe00), { major: 254, minor: 0 });
    assert.deepEqual(splitDevT(statSync('/dev/null', { bigint: true }).rdev), { major: 1, minor: 3 });
    // Large numbers use the high bits: major 0x12345, minor 0x6789a.
    assert.deepEqual(splitDevT(makeDevT(0x12345, 0x6789a)), { major: 0x12345, minor: 0x6789a });
  });

  test('property: split(make(major, minor)) round-trips over 32-bit numbers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (major, minor) => {
        assert.deepEqual(splitDevT(makeDevT(major, minor)), { major, minor });
      }),
    );
  });
});

describe('guest root deny rule', () => {
  test('test_update_device_cgroup: a spec with empty resources gets exactly one deny rule for "/"', async () => {
    const root = await readGuestRootDevice('/');
    assert.deepEqual(root, rootDeviceFromMountinfo(), 'stat("/").dev agrees with mountinfo');
    const spec = { linux: { resources: {} as { devices?: DeviceCgroupRule[] } } };
    const out = withGuestRootDenyRule(spec, root);
    if (root.major === 0) {
      // "/" is not on a block device on this machine: nothing to protect.
      assert.equal(out, spec);
    } else {
      assert.deepEqual(out.linux.resources.devices, [{ allow: false, type: 'b', major: root.major, minor: root.minor, access: 'rw' }]);
    }
    assert.deepEqual(spec.linux.resources, {}, 'input not modified');
  });

  test('pure form: appended last, after existing rules; resources created when missing', () => {
    const allowAll: DeviceCgroupRule = { allow: true, access: 'rwm' };
    const spec = { ociVersion: '1.0.2', linux: { resources: { devices: [allowAll] } } };
    const out = withGuestRootDenyRule(spec, { major: 254, minor: 1 });
    assert.deepEqual(out.linux.resources.devices, [allowAll, { allow: false, type: 'b', major: 254, minor: 1, access: 'rw' }]);
    assert.equal(out.ociVersion, '1.0.2');
    assert.equal(spec.linux.resources.devices.length, 1, 'input not modified');

    const bare = withGuestRootDenyRule({ linux: {} as { resources?: { devices?: DeviceCgroupRule[] } } }, { major: 8, minor: 0 });
    assert.deepEqual(bare.linux.resources, { devices: [{ allow: false, type: 'b', major: 8, minor: 0, access: 'rw' }] });
  });

  test('major 0 (tmpfs, initramfs, overlay) means no rule', () => {
    assert.equal(guestRootDenyRule({ major: 0, minor: 27 }), undefined);
    const spec = { linux: {} };
    assert.equal(withGuestRootDenyRule(spec, { major: 0, minor: 27 }), spec);
  });

  test('no linux section is an error', () => {
    assert.throws(() => withGuestRootDenyRule({} as { linux?: object }, { major: 8, minor: 0 }), MissingLinuxSectionError);
  });

  test('the reader reports major 0 for a tmpfs-like mount', async () => {
    // /proc is never on a block device.
    assert.equal((await readGuestRootDevice('/proc')).major, 0);
  });
});
