// Failures of task operations, each with the gRPC status containerd expects
// (its errdefs map NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION and
// INVALID_ARGUMENT to its own error kinds, which ctr and the CRI act on).
import { StatusError, type StatusName } from '../../common/status-error.js';

export class TaskError extends StatusError {
  override name = 'TaskError';
}

export function notFound(message: string): TaskError {
  return new TaskError('NOT_FOUND', message);
}

export function alreadyExists(message: string): TaskError {
  return new TaskError('ALREADY_EXISTS', message);
}

export function failedPrecondition(message: string): TaskError {
  return new TaskError('FAILED_PRECONDITION', message);
}

export function invalidArgument(field: string, detail: string): TaskError {
  return new TaskError('INVALID_ARGUMENT', `${field}: ${detail}`);
}

export function taskError(code: StatusName, message: string, cause?: unknown): TaskError {
  return new TaskError(code, message, cause === undefined ? undefined : { cause });
}
