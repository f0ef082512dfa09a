// The errors of the container and process layer. Each carries the gRPC status
// name the RPC layer should answer with, so that layer can translate without
// knowing anything about runtimes or processes.

import { StatusError } from '../../common/status-error.js';

/** gRPC status names used by this layer (a subset of grpc.Code). */
export type ContainerErrorCode =
  | 'INVALID_ARGUMENT'
  | 'DEADLINE_EXCEEDED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'INTERNAL';

export class ContainerError extends StatusError<ContainerErrorCode> {
  override name = 'ContainerError';
}

/**
 * An OCI runtime command that failed. The message names the command and ends
 * with what the runtime printed (its stderr or its error log).
 */
export class RuntimeCommandError extends ContainerError {
  override name = 'RuntimeCommandError';
  constructor(
    /** The runtime subcommand, e.g. "create". */
    readonly command: string,
    /** Full argument list passed to the runtime binary. */
    readonly args: readonly string[],
    /** Exit code, or null if the runtime was killed by a signal. */
    readonly exitCode: number | null,
    /** What the runtime reported, trimmed (may be empty). */
    readonly stderr: string,
  ) {
    const detail = stderr.length > 0 ? `: ${stderr}` : '';
    super('INTERNAL', `runtime ${command} failed (exit ${exitCode ?? 'by signal'})${detail}`);
  }
}

/** Thrown by operations on a container id that does not exist. */
export function invalidContainerId(id: string): ContainerError {
  // Wording as the Kata agent answers (see agent API reference, process lookup).
  return new ContainerError('NOT_FOUND', `Invalid container id ${JSON.stringify(id)}`);
}

/** Thrown by operations naming an exec id the container does not have. */
export function invalidExecId(execId: string): ContainerError {
  return new ContainerError('NOT_FOUND', `Invalid exec id ${JSON.stringify(execId)}`);
}
