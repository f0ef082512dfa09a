// SetGuestDateTime: sets the guest's realtime clock (after the VM was
// paused or restored, its clock lags the host's).
//
// Node cannot set the clock; the native addon's setRealtimeClock(sec, usec)
// calls clock_settime(CLOCK_REALTIME) (native/src/clock.c), refusing values
// out of range itself too. The setter is injectable so tests never move this
// machine's clock.
import { loadAddon } from '../../native/addon.js';
import { errnoCode, GuestError, GuestGrpcCode, invalidGuestField } from './errors.js';

/** Sets CLOCK_REALTIME to `sec` seconds and `usec` microseconds since the epoch. */
export type RealtimeClockSetter = (sec: number, usec: number) => void;

/** The native setter (loaded on first use). */
export function nativeRealtimeClockSetter(): RealtimeClockSetter {
  const addon = loadAddon() as { setRealtimeClock?: RealtimeClockSetter };
  if (typeof addon.setRealtimeClock !== 'function') {
    throw new Error('the native addon has no setRealtimeClock: rebuild it (node-gyp rebuild -C native)');
  }
  return addon.setRealtimeClock;
}

export interface GuestDateTimeOptions {
  /** Default: the native clock_settime(CLOCK_REALTIME). */
  setter?: RealtimeClockSetter;
}

/** Converts an int64 request field to a safe integer, or undefined. */
function toSafeInteger(value: bigint | number): number | undefined {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
  }
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * Sets the clock from SetGuestDateTimeRequest{Sec, Usec}. Sec must be >= 0
 * and Usec in [0, 1000000); otherwise an INVALID_ARGUMENT GuestError names
 * set_guest_date_time.Sec / .Usec and nothing is set. A failure of the system
 * call (EPERM without CAP_SYS_TIME, ...) is INTERNAL.
 */
export async function setGuestDateTime(sec: bigint | number, usec: bigint | number, options: GuestDateTimeOptions = {}): Promise<void> {
  const s = toSafeInteger(sec);
  if (s === undefined || s < 0) throw invalidGuestField('set_guest_date_time.Sec', `${String(sec)} is not a time in seconds since the epoch (>= 0)`);
  const us = toSafeInteger(usec);
  if (us === undefined || us < 0 || us >= 1_000_000) {
    throw invalidGuestField('set_guest_date_time.Usec', `${String(usec)} is not a number of microseconds in [0, 1000000)`);
  }
  const setter = options.setter ?? nativeRealtimeClockSetter();
  try {
    setter(s, us);
  } catch (err) {
    const code = errnoCode(err) === 'EINVAL' ? GuestGrpcCode.INVALID_ARGUMENT : GuestGrpcCode.INTERNAL;
    throw new GuestError(code, 'set_guest_date_time', `setting the clock failed: ${(err as Error).message}`, { cause: err });
  }
}
