// The errors of the guest-level operations (OnlineCPUMem, MemHotplugByProbe,
// SetGuestDateTime, ReseedRandomDev, CopyFile). Each names the request field
// at fault ("copy_file.path: ...", proto field names) and carries the numeric
// gRPC status code the RPC layer answers with (see rpc/errors.ts, which reads
// `grpcCode`).

/** The gRPC status codes this layer uses (values of grpc.Code). */
export const GuestGrpcCode = {
  INVALID_ARGUMENT: 3,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
} as const;

export class GuestError extends Error {
  override name = 'GuestError';

  constructor(
    /** Numeric gRPC status code. */
    readonly grpcCode: number,
    /** The request field at fault, e.g. "copy_file.path" or "memHotplugProbeAddr[2]". */
    readonly field: string,
    /** The problem, without the field name. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${detail}`, options);
  }
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
