// The one error class of the cgroup layer. Each error carries the gRPC status
// name that the RPC layer should answer with, so that layer can translate it
// without knowing anything about cgroups.

/** gRPC status names used by the cgroup layer (a subset of grpc.Code). */
export type CgroupErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'FAILED_PRECONDITION'
  | 'DEADLINE_EXCEEDED'
  | 'UNIMPLEMENTED'
  | 'CANCELLED'
  | 'INTERNAL';

/** Numeric gRPC status codes for the names above. */
export const GRPC_CODES: Readonly<Record<CgroupErrorCode, number>> = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
};

export class CgroupError extends Error {
  override readonly name = 'CgroupError';
  constructor(
    /** Which gRPC status the failure maps to. */
    readonly code: CgroupErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The numeric gRPC status code. */
  get grpcCode(): number {
    return GRPC_CODES[this.code];
  }
}

/** The errno name of a Node system error ('ENOENT', ...), if it is one. */
export function errnoOf(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return undefined;
}

/**
 * Turns a failed read or write of a cgroup file into a CgroupError whose code
 * says what went wrong: a missing file means the kernel (or the hierarchy)
 * lacks that knob, EINVAL/ERANGE mean the kernel refused the value.
 */
export function fileError(action: string, file: string, err: unknown): CgroupError {
  const errno = errnoOf(err);
  const reason = err instanceof Error ? err.message : String(err);
  let code: CgroupErrorCode = 'INTERNAL';
  if (errno === 'ENOENT') code = 'UNIMPLEMENTED';
  else if (errno === 'EINVAL' || errno === 'ERANGE' || errno === 'EOVERFLOW') code = 'INVALID_ARGUMENT';
  else if (errno === 'EBUSY') code = 'FAILED_PRECONDITION';
  return new CgroupError(code, `${action} ${file}: ${reason}`, { cause: err });
}
