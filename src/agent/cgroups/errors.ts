// The one error class of the cgroup layer. Each error carries the gRPC status
// name that the RPC layer should answer with, so that layer can translate it
// without knowing anything about cgroups.

import { StatusError } from '../../common/status-error.js';

/** gRPC status names used by the cgroup layer (a subset of grpc.Code). */
export type CgroupErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'FAILED_PRECONDITION'
  | 'DEADLINE_EXCEEDED'
  | 'UNIMPLEMENTED'
  | 'CANCELLED'
  | 'INTERNAL';

export class CgroupError extends StatusError<CgroupErrorCode> {
  override readonly name = 'CgroupError';
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
