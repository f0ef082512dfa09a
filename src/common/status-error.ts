// The agent's modules (containers, cgroups, storage, network, guest and
// sandbox operations) know nothing of ttRPC, but each failure means a gRPC
// status: their errors carry its name, and the RPC layer answers with
// `grpcCode` (see src/agent/rpc/errors.ts). This is their common base.

/** gRPC status names the modules use, with their numeric codes (grpc.Code). */
export const STATUS_CODES = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
} as const;

export type StatusName = keyof typeof STATUS_CODES;

export class StatusError<C extends StatusName = StatusName> extends Error {
  override name = 'StatusError';
  constructor(
    /** Which gRPC status the failure maps to. */
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The numeric gRPC status code. */
  get grpcCode(): number {
    return STATUS_CODES[this.code];
  }
}

/**
 * A failure about one request field: the message is "<field>: <detail>",
 * with proto field names (e.g. "copy_file.path", "dns[2]").
 */
export class FieldError<C extends StatusName = StatusName> extends StatusError<C> {
  override name = 'FieldError';
  constructor(
    code: C,
    /** The request field at fault. */
    readonly field: string,
    /** The problem, without the field name. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${field}: ${detail}`, options);
  }
}
