// ReseedRandomDev: a real RNDADDENTROPY + RNDRESEEDCRNG on /dev/random (as
// root), the call sequence with recording ioctls, and the refusals.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { reseedRandomDev, type EntropyIoctls } from '../../../src/agent/guest/random.js';
import { GuestError } from '../../../src/agent/guest/errors.js';

const isRoot = process.getuid?.() === 0;

function entropyAvail(): number {
  return Number(readFileSync('/proc/sys/kernel/random/entropy_avail', 'utf8').trim());
}

describe('ReseedRandomDev', () => {
  test('really adds random bytes to /dev/random and reseeds', { skip: isRoot ? false : 'RNDADDENTROPY needs root (CAP_SYS_ADMIN)' }, async () => {
    const before = entropyAvail();
    assert.ok(Number.isInteger(before) && before >= 0);
    await reseedRandomDev(randomBytes(64));
    // The kernel may or may not show a change (it caps and spends entropy): only readable.
    const after = entropyAvail();
    assert.ok(Number.isInteger(after) && after >= 0);
  });

  test('credits 8 bits a byte, then reseeds, on the device opened for writing', async () => {
    const calls: string[] = [];
    const ioctls: EntropyIoctls = {
      addEntropy(fd, data, bits) {
        assert.ok(fd >= 0);
        calls.push(`add ${data.toString('hex')} ${bits}`);
      },
      reseedCrng() {
        calls.push('reseed');
      },
    };
    await reseedRandomDev(new Uint8Array([1, 2, 3]), { device: '/dev/null', ioctls });
    assert.deepEqual(calls, ['add 010203 24', 'reseed']);
  });

  test('a kernel without RNDRESEEDCRNG still gets the entropy; other failures are INTERNAL', async () => {
    const failWith = (code: string) => () => {
      throw Object.assign(new Error(code), { code });
    };
    await reseedRandomDev(new Uint8Array([9]), { device: '/dev/null', ioctls: { addEntropy() {}, reseedCrng: failWith('EINVAL') } });
    const internal = (err: unknown) => err instanceof GuestError && err.grpcCode === 13 && err.message.startsWith('reseed_random_dev.data: ');
    await assert.rejects(reseedRandomDev(new Uint8Array([9]), { device: '/dev/null', ioctls: { addEntropy: failWith('EPERM'), reseedCrng() {} } }), internal);
    await assert.rejects(reseedRandomDev(new Uint8Array([9]), { device: '/nonexistent/random' }), internal);
    // The real ioctl on something that is not a random device fails cleanly.
    await assert.rejects(reseedRandomDev(new Uint8Array([9]), { device: '/dev/null' }), internal);
  });

  test('empty or oversized data is refused naming data', async () => {
    const invalid = (err: unknown) => err instanceof GuestError && err.grpcCode === 3 && /^reseed_random_dev\.data: /.test(err.message);
    await assert.rejects(reseedRandomDev(new Uint8Array(0)), invalid);
    await assert.rejects(reseedRandomDev(new Uint8Array((1 << 20) + 1)), invalid);
  });
});
