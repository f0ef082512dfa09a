// Checks on the identifiers and numbers container operations receive. Each
// failure is an INVALID_ARGUMENT error naming the request field.

import { ContainerError } from './errors.js';

/** Container ids become directory and runtime names: keep them to a safe alphabet. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;
const MAX_ID_LENGTH = 256;

export function validateContainerId(id: string, field = 'container_id'): void {
  if (typeof id !== 'string' || id.length === 0) {
    throw new ContainerError('INVALID_ARGUMENT', `${field}: must not be empty`);
  }
  if (id.length > MAX_ID_LENGTH || !ID_PATTERN.test(id)) {
    throw new ContainerError(
      'INVALID_ARGUMENT',
      `${field}: ${JSON.stringify(id)} is not a valid id (letters, digits, "_", ".", "+", "-"; at most ${MAX_ID_LENGTH}; not starting with a symbol)`,
    );
  }
}

/** Exec ids are only map keys (the shim sends UUIDs), but must not be empty. */
export function validateExecId(execId: string, field = 'exec_id'): void {
  if (typeof execId !== 'string' || execId.length === 0) {
    throw new ContainerError('INVALID_ARGUMENT', `${field}: must not be empty`);
  }
  if (execId.length > 1024) {
    throw new ContainerError('INVALID_ARGUMENT', `${field}: longer than 1024 characters`);
  }
}

/** Highest signal number on Linux (SIGRTMAX). */
export const MAX_SIGNAL = 64;

export function validateSignal(signal: number, field = 'signal'): void {
  if (!Number.isInteger(signal) || signal < 1 || signal > MAX_SIGNAL) {
    throw new ContainerError('INVALID_ARGUMENT', `${field}: ${String(signal)} is not a signal number (1-${MAX_SIGNAL})`);
  }
}

/** RemoveContainer's timeout: whole seconds, 0 meaning no limit. */
export function validateTimeoutSeconds(timeout: number, field = 'timeout'): void {
  if (!Number.isInteger(timeout) || timeout < 0 || timeout > 0xffffffff) {
    throw new ContainerError('INVALID_ARGUMENT', `${field}: ${String(timeout)} is not a number of seconds (0 = no limit)`);
  }
}
