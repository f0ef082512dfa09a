// Turning the agent modules' errors into ttRPC statuses. The modules know
// nothing of ttRPC: most of their errors carry the gRPC code they mean as
// `grpcCode`; a few well-known error classes are mapped here by kind. Anything
// else is an INTERNAL error, as the Kata agent answers.
import { Code, TtrpcError, isTtrpcError } from '../../ttrpc/index.js';
import { InvalidDeviceError, ConflictingDeviceUpdatesError } from '../device/errors.js';
import { UeventTimeoutError } from '../uevent/errors.js';
import { DeviceRemapError } from '../../oci/devices/errors.js';
import { PciParseError } from '../../oci/pci/errors.js';
import { SpecValidationError } from '../../oci/validation-error.js';

function hasGrpcCode(err: unknown): err is Error & { grpcCode: number } {
  return err instanceof Error && typeof (err as { grpcCode?: unknown }).grpcCode === 'number';
}

export function toTtrpcError(err: unknown): TtrpcError {
  if (isTtrpcError(err)) return err;
  if (hasGrpcCode(err)) return new TtrpcError(err.grpcCode, err.message, { cause: err });
  if (err instanceof UeventTimeoutError) return new TtrpcError(Code.DEADLINE_EXCEEDED, err.message, { cause: err });
  if (
    err instanceof InvalidDeviceError ||
    err instanceof ConflictingDeviceUpdatesError ||
    err instanceof DeviceRemapError ||
    err instanceof PciParseError ||
    err instanceof SpecValidationError
  ) {
    return new TtrpcError(Code.INVALID_ARGUMENT, err.message, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new TtrpcError(Code.INTERNAL, message, { cause: err });
}

/** Runs a handler body, translating whatever it throws. */
export async function translated<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toTtrpcError(err);
  }
}

/** An INVALID_ARGUMENT error naming the request field at fault. */
export function invalidArgument(field: string, problem: string): TtrpcError {
  return new TtrpcError(Code.INVALID_ARGUMENT, `${field}: ${problem}`);
}
