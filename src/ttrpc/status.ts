// Status codes and errors of ttRPC calls.
//
// ttRPC reuses gRPC's status model: a response carries a google.rpc.Status
// with a numeric code and a human-readable message. On the client side a
// non-OK status becomes a rejected promise with a TtrpcError; on the server
// side a handler throws a TtrpcError to choose the code it answers with.

/** The gRPC status codes (google.golang.org/grpc/codes), as sent on the wire. */
export enum Code {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** The name of a code ("NOT_FOUND"), or "CODE(n)" for a number outside the enum. */
export function codeName(code: number): string {
  const name = Code[code];
  return typeof name === 'string' ? name : `CODE(${code})`;
}

/**
 * A call that ended with a non-OK status. `message` is exactly the status
 * message sent on the wire; `code` is the status code.
 */
export class TtrpcError extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TtrpcError';
    this.code = code;
  }

  /** "NOT_FOUND", "INTERNAL", ... */
  get codeName(): string {
    return codeName(this.code);
  }

  override toString(): string {
    return `${this.name} [${this.codeName}]: ${this.message}`;
  }
}

/** Builds a TtrpcError; `ttrpcError(Code.NOT_FOUND, 'no such process')`. */
export function ttrpcError(code: Code, message: string, options?: ErrorOptions): TtrpcError {
  return new TtrpcError(code, message, options);
}

export function isTtrpcError(err: unknown): err is TtrpcError {
  return err instanceof TtrpcError;
}

// Named failures. Each is a TtrpcError with a fixed code, so callers can test
// either `instanceof ConnectionClosedError` or `err.code === Code.UNAVAILABLE`.

/** The connection went away (closed by either side, or failed) before the call finished. */
export class ConnectionClosedError extends TtrpcError {
  constructor(message = 'connection closed', options?: ErrorOptions) {
    super(Code.UNAVAILABLE, message, options);
    this.name = 'ConnectionClosedError';
  }
}

/** The call's deadline passed. The server answers with the message "timeout". */
export class DeadlineExceededError extends TtrpcError {
  constructor(message = 'timeout', options?: ErrorOptions) {
    super(Code.DEADLINE_EXCEEDED, message, options);
    this.name = 'DeadlineExceededError';
  }
}

/** The caller gave up on the call (its AbortSignal fired). */
export class CancelledError extends TtrpcError {
  constructor(message = 'cancelled', options?: ErrorOptions) {
    super(Code.CANCELLED, message, options);
    this.name = 'CancelledError';
  }
}

/**
 * A message longer than the 4 MiB frame limit. The message text matches
 * containerd's ttrpc: "message length N exceed maximum message size of 4194304".
 */
export class MessageTooLargeError extends TtrpcError {
  readonly length: number;

  constructor(length: number, max: number) {
    super(Code.RESOURCE_EXHAUSTED, `message length ${length} exceed maximum message size of ${max}`);
    this.name = 'MessageTooLargeError';
    this.length = length;
  }
}

/**
 * The status a server answers with when a handler throws `err`:
 * a TtrpcError keeps its code and message; anything else becomes UNKNOWN with
 * the error's message (containerd's ttrpc does the same for plain Go errors).
 */
export function statusOfError(err: unknown): { code: Code; message: string } {
  if (err instanceof TtrpcError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: Code.UNKNOWN, message: err.message };
  return { code: Code.UNKNOWN, message: String(err) };
}
