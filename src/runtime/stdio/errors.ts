// Failures of opening or relaying a process's stdio. Each names the request
// field it is about ("stdin", "stdout", "stderr", "terminal") and carries the
// gRPC status the task service answers with.

import { FieldError, type StatusName } from '../../common/status-error.js';

export class StdioError extends FieldError {
  override name = 'StdioError';
  constructor(code: StatusName, field: string, detail: string, options?: { cause?: unknown }) {
    super(code, field, detail, options);
  }
}

/**
 * Errors that only mean the other side of a pipe, socket or terminal went
 * away (a reader closed its end, a terminal hung up). For stdio these end
 * the stream; they are not failures.
 */
const PEER_GONE = new Set(['EPIPE', 'EIO', 'ECONNRESET', 'ENOTCONN']);

export function isPeerGone(err: unknown): boolean {
  return PEER_GONE.has((err as NodeJS.ErrnoException | undefined)?.code ?? '');
}
