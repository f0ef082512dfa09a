// The errors of the guest-level operations (OnlineCPUMem, MemHotplugByProbe,
// SetGuestDateTime, ReseedRandomDev, CopyFile). Each names the request field
// at fault ("copy_file.path: ...", proto field names) and carries the gRPC
// status the RPC layer answers with (see rpc/errors.ts, which reads
// `grpcCode`).

import { FieldError } from '../../common/status-error.js';

/** The gRPC statuses this layer uses. */
export const GuestGrpcCode = {
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  FAILED_PRECONDITION: 'FAILED_PRECONDITION',
  INTERNAL: 'INTERNAL',
} as const;

export type GuestErrorCode = (typeof GuestGrpcCode)[keyof typeof GuestGrpcCode];

export class GuestError extends FieldError<GuestErrorCode> {
  override name = 'GuestError';
}

/** An INVALID_ARGUMENT error about `field`. */
export function invalidGuestField(field: string, detail: string, options?: { cause?: unknown }): GuestError {
  return new GuestError(GuestGrpcCode.INVALID_ARGUMENT, field, detail, options);
}

/** The errno name of a system error ("ENOENT"), or undefined. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
