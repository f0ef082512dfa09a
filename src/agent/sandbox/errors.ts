// The errors of the sandbox-level operations (CreateSandbox's parts). Each
// names the request field at fault ("hostname: ...", "dns[2]: ...", proto
// field names) and carries the gRPC status the RPC layer answers
// with (see rpc/errors.ts, which reads `grpcCode`).

import { FieldError } from '../../common/status-error.js';

/** The gRPC statuses this layer uses. */
export const SandboxGrpcCode = {
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  FAILED_PRECONDITION: 'FAILED_PRECONDITION',
  INTERNAL: 'INTERNAL',
} as const;

export type SandboxErrorCode = (typeof SandboxGrpcCode)[keyof typeof SandboxGrpcCode];

export class SandboxError extends FieldError<SandboxErrorCode> {
  override name = 'SandboxError';
}

/** An INVALID_ARGUMENT error about `field`. */
export function invalidSandboxField(field: string, detail: string): SandboxError {
  return new SandboxError(SandboxGrpcCode.INVALID_ARGUMENT, field, detail);
}
