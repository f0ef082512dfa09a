// The errors of the sandbox-level operations (CreateSandbox's parts). Each
// names the request field at fault ("hostname: ...", "dns[2]: ...", proto
// field names) and carries the numeric gRPC status code the RPC layer answers
// with (see rpc/errors.ts, which reads `grpcCode`).

/** The gRPC status codes this layer uses (values of grpc.Code). */
export const SandboxGrpcCode = {
  INVALID_ARGUMENT: 3,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
} as const;

export class SandboxError extends Error {
  override name = 'SandboxError';

  constructor(
    /** Numeric gRPC status code. */
    readonly grpcCode: number,
    /** The request field at fault, e.g. "kernel_modules[1].parameters[0]". */
    readonly field: string,
    /** The problem, without the field name. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${detail}`, options);
  }
}

/** An INVALID_ARGUMENT error about `field`. */
export function invalidSandboxField(field: string, detail: string): SandboxError {
  return new SandboxError(SandboxGrpcCode.INVALID_ARGUMENT, field, detail);
}
