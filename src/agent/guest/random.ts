// ReseedRandomDev: the host hands the guest fresh random bytes (a new VM, or
// one restored from a snapshot, must not reuse its random state).
//
// The bytes are added to the kernel's pool with ioctl(RNDADDENTROPY) on
// /dev/random, credited at 8 bits a byte (the host drew them from its own
// random device), then the kernel is asked to reseed its CRNG right away
// (RNDRESEEDCRNG, Linux >= 4.17; where the kernel lacks it the entropy is
// still added and this step is skipped). Both need CAP_SYS_ADMIN.
// The ioctls are the native addon's (native/src/process.c).
import { open } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';

import { processNative } from '../../native/process.js';
import { errnoCode, GuestError, GuestGrpcCode, invalidGuestField } from './errors.js';

/** The two ioctls used, as the addon exports them; injectable for tests. */
export interface EntropyIoctls {
  addEntropy(fd: number, data: Buffer, entropyBits: number): void;
  reseedCrng(fd: number): void;
}

export interface ReseedOptions {
  /** The random device. Default "/dev/random". */
  device?: string;
  /** Default: the native addon's ioctls. */
  ioctls?: EntropyIoctls;
}

/** Largest amount accepted in one request (the kernel mixes any size; this bounds the copy). */
export const MAX_RESEED_BYTES = 1 << 20;

const FIELD = 'reseed_random_dev.data';

/**
 * ReseedRandomDev. Empty or oversized data is an INVALID_ARGUMENT GuestError
 * naming reseed_random_dev.data; device or ioctl failures are INTERNAL
 * (PERMISSION_DENIED is not used: the agent runs as root in the guest).
 */
export async function reseedRandomDev(data: Uint8Array, options: ReseedOptions = {}): Promise<void> {
  if (data.length === 0) throw invalidGuestField(FIELD, 'is empty: no entropy to add');
  if (data.length > MAX_RESEED_BYTES) throw invalidGuestField(FIELD, `is ${data.length} bytes, more than ${MAX_RESEED_BYTES}`);
  const device = options.device ?? '/dev/random';
  const ioctls = options.ioctls ?? processNative();
  let handle;
  try {
    handle = await open(device, fsConstants.O_WRONLY);
  } catch (err) {
    throw new GuestError(GuestGrpcCode.INTERNAL, FIELD, `cannot open ${device}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    try {
      ioctls.addEntropy(handle.fd, bytes, bytes.length * 8);
    } catch (err) {
      throw new GuestError(GuestGrpcCode.INTERNAL, FIELD, `adding entropy to ${device} failed: ${(err as Error).message}`, { cause: err });
    }
    try {
      ioctls.reseedCrng(handle.fd);
    } catch (err) {
      // Kernels before 4.17 lack RNDRESEEDCRNG: the entropy is in the pool, which is what matters.
      if (errnoCode(err) !== 'EINVAL' && errnoCode(err) !== 'ENOTTY') {
        throw new GuestError(GuestGrpcCode.INTERNAL, FIELD, `reseeding the CRNG failed: ${(err as Error).message}`, { cause: err });
      }
    }
  } finally {
    await handle.close();
  }
}
