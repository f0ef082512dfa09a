// SetGuestDateTime: validation and the call to the setter (a recording one:
// this machine's clock is never changed), plus the native function's own
// refusal of out-of-range values, checked for real without setting anything.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { nativeRealtimeClockSetter, setGuestDateTime, type RealtimeClockSetter } from '../../../src/agent/guest/clock.js';
import { GuestError } from '../../../src/agent/guest/errors.js';

function recorder() {
  const calls: Array<[number, number]> = [];
  const setter: RealtimeClockSetter = (sec, usec) => {
    calls.push([sec, usec]);
  };
  return { calls, setter };
}

function invalidField(field: string) {
  return (err: unknown) => err instanceof GuestError && err.grpcCode === 3 && err.message.startsWith(`set_guest_date_time.${field}: `);
}

describe('SetGuestDateTime', () => {
  test('passes seconds and microseconds (bigint or number) to the setter', async () => {
    const { calls, setter } = recorder();
    await setGuestDateTime(1_700_000_000n, 250_000n, { setter });
    await setGuestDateTime(0, 0, { setter });
    await setGuestDateTime(1_700_000_001, 999_999, { setter });
    assert.deepEqual(calls, [
      [1_700_000_000, 250_000],
      [0, 0],
      [1_700_000_001, 999_999],
    ]);
  });

  test('refuses negative seconds and microseconds outside [0, 1e6) without calling the setter', async () => {
    const { calls, setter } = recorder();
    await assert.rejects(setGuestDateTime(-1n, 0n, { setter }), invalidField('Sec'));
    await assert.rejects(setGuestDateTime(1n << 60n, 0n, { setter }), invalidField('Sec'));
    await assert.rejects(setGuestDateTime(1.5, 0, { setter }), invalidField('Sec'));
    await assert.rejects(setGuestDateTime(0n, 1_000_000n, { setter }), invalidField('Usec'));
    await assert.rejects(setGuestDateTime(0n, -1n, { setter }), invalidField('Usec'));
    assert.equal(calls.length, 0);
  });

  test('a setter failure is INTERNAL (EPERM) or INVALID_ARGUMENT (EINVAL)', async () => {
    const failing = (code: string): RealtimeClockSetter => () => {
      throw Object.assign(new Error(`clock_settime failed: (${code})`), { code });
    };
    await assert.rejects(setGuestDateTime(1n, 0n, { setter: failing('EPERM') }), (err: unknown) => err instanceof GuestError && err.grpcCode === 13 && /^set_guest_date_time: setting the clock failed/.test(err.message));
    await assert.rejects(setGuestDateTime(1n, 0n, { setter: failing('EINVAL') }), (err: unknown) => err instanceof GuestError && err.grpcCode === 3);
  });

  test('the native setRealtimeClock refuses out-of-range values with EINVAL before any system call', () => {
    const native = nativeRealtimeClockSetter();
    // Each of these would be refused by the kernel as well: nothing can be set either way.
    for (const [sec, usec] of [
      [0, 1_000_000],
      [0, -1],
      [-1, 0],
    ] as const) {
      assert.throws(
        () => native(sec, usec),
        (err: unknown) => {
          const e = err as NodeJS.ErrnoException;
          return e.code === 'EINVAL' && e.errno === -22 && e.syscall === 'clock_settime';
        },
        `${sec}, ${usec}`,
      );
    }
    assert.throws(() => native(0.5 as number, 0), TypeError);
    assert.throws(() => (native as unknown as (a: unknown, b: unknown) => void)('1', 0), TypeError);
    // The clock was not moved to the epoch (the seconds asked for).
    assert.ok(new Date().getUTCFullYear() > 1970);
  });
});
