// Errors of the guest network configuration. Each carries the gRPC status name
// the RPC layer answers with:
//   InvalidNetworkArgumentError -> INVALID_ARGUMENT  (bad request field)
//   LinkNotFoundError           -> NOT_FOUND         (no such interface)
//   IpCommandError              -> INTERNAL          (iproute2 refused or failed)

import { StatusError } from '../../common/status-error.js';

/** gRPC status names used by this module. */
export type NetworkErrorCode = 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'INTERNAL';

/** Base class of the errors below. */
export class NetworkError extends StatusError<NetworkErrorCode> {
  override name = 'NetworkError';
}

/**
 * A request field is unusable. `field` names it the way the request does,
 * e.g. "interface.hwAddr" or "routes[2].gateway"; the message is
 * "<field>: <reason>".
 */
export class InvalidNetworkArgumentError extends NetworkError {
  override name = 'InvalidNetworkArgumentError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super('INVALID_ARGUMENT', `${field}: ${reason}`);
  }
}

/**
 * The request names an interface (by MAC address or by name) that the guest
 * does not have. The message is "<field>: <reason>".
 */
export class LinkNotFoundError extends NetworkError {
  override name = 'LinkNotFoundError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super('NOT_FOUND', `${field}: ${reason}`);
  }
}

/**
 * An `ip` command that failed. The message names the command (its arguments)
 * and ends with what ip printed on stderr.
 */
export class IpCommandError extends NetworkError {
  override name = 'IpCommandError';
  constructor(
    /** The arguments given to ip (after any namespace option). */
    readonly args: readonly string[],
    /** Exit code, or null if ip did not exit normally (signal, timeout, not found). */
    readonly exitCode: number | null,
    /** What ip printed on stderr, trimmed (may be empty). */
    readonly stderr: string,
    options?: { cause?: unknown; detail?: string },
  ) {
    const how = exitCode === null ? (options?.detail ?? 'did not complete') : `exit ${exitCode}`;
    const said = stderr.length > 0 ? `: ${stderr}` : '';
    super('INTERNAL', `ip ${args.join(' ')} failed (${how})${said}`, { cause: options?.cause });
  }
}
