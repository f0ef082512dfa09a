// The ttRPC client: many calls in flight on one connection.
//
//   const client = new Client(await connect('vsock://3:1024'));
//   const agent = createClient(client, AgentService);
//   await agent.createContainer({ containerId: 'c1', ... }, { timeoutMs: 30_000 });
//   await client.close();
//
// Every call gets the next odd stream id (1, 3, 5, ...), as containerd's ttrpc
// client does. A call settles with the response payload, or rejects with a
// TtrpcError: the server's status, or a local one (deadline, cancellation,
// closed connection, oversize message).

import type { Duplex } from 'node:stream';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { RequestSchema, ResponseSchema, type Response } from '../protocols/gen/ttrpc_pb.js';
import { decodeOkResponse } from './envelope.js';
import { encodeFrame, FrameDecoder, MESSAGE_LENGTH_MAX, MessageType } from './frame.js';
import { FrameWriter } from './frame-writer.js';
import { silentLogger, type Logger } from './logger.js';
import { metadataToKeyValues, type MetadataInit } from './metadata.js';
import {
  CancelledError,
  Code,
  ConnectionClosedError,
  DeadlineExceededError,
  MessageTooLargeError,
  TtrpcError,
} from './status.js';

export interface CallOptions {
  /** Deadline for the call. Sent to the server as timeout_nano; the call also fails locally when it passes. */
  timeoutMs?: number;
  /** Request metadata; keys are lower-cased. */
  metadata?: MetadataInit;
  /** Aborting it fails the call with CANCELLED (the server is not told; it will finish on its own). */
  signal?: AbortSignal;
}

export interface ClientOptions {
  logger?: Logger;
  /** Called once when the connection closes, with the error that closed it if any. */
  onClose?: (err?: Error) => void;
}

/** Stream ids are u32; the client stops when they run out. */
const MAX_STREAM_ID = 0xffff_ffff;
/** setTimeout() cannot wait longer than this; longer timeouts are not timed locally. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A call waiting for its response. */
interface PendingCall {
  readonly streamId: number;
  readonly resolve: (payload: Uint8Array) => void;
  readonly reject: (err: TtrpcError) => void;
  /** The local deadline, if the call has a timeout. */
  timer: NodeJS.Timeout | undefined;
  /** The caller's signal and our listener on it, if the caller passed one. */
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class Client {
  private readonly stream: Duplex;
  private readonly logger: Logger;
  private readonly onClose: ((err?: Error) => void) | undefined;
  private readonly decoder = new FrameDecoder();
  private readonly writer: FrameWriter;
  private readonly pending = new Map<number, PendingCall>();
  private nextStreamId = 1;
  private closeError: TtrpcError | null = null;

  constructor(stream: Duplex, options: ClientOptions = {}) {
    this.stream = stream;
    this.logger = options.logger ?? silentLogger;
    this.onClose = options.onClose;
    this.writer = new FrameWriter(stream);
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('end', () => this.shutDown(new ConnectionClosedError()));
    stream.on('close', () => this.shutDown(new ConnectionClosedError()));
    stream.on('error', (err: Error) =>
      this.shutDown(new ConnectionClosedError(`connection closed: ${err.message}`, { cause: err })),
    );
  }

  /** True once the connection is closed; calls then fail with UNAVAILABLE. */
  get closed(): boolean {
    return this.closeError !== null;
  }

  /** Number of calls waiting for their response. */
  get pendingCalls(): number {
    return this.pending.size;
  }

  /** Calls `service`/`method` with an already serialized request; resolves with the serialized response. */
  callRaw(service: string, method: string, payload: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    if (this.closeError) return Promise.reject(this.closeError);
    const { timeoutMs, signal } = options;
    if (signal?.aborted) return Promise.reject(new CancelledError());
    if (this.nextStreamId > MAX_STREAM_ID) {
      return Promise.reject(new TtrpcError(Code.RESOURCE_EXHAUSTED, 'stream ids exhausted on this connection'));
    }

    const request = create(RequestSchema, {
      service,
      method,
      payload,
      timeoutNano: timeoutMs === undefined ? 0n : BigInt(Math.max(1, Math.round(timeoutMs * 1e6))),
      metadata: metadataToKeyValues(options.metadata),
    });
    const body = toBinary(RequestSchema, request);
    if (body.length > MESSAGE_LENGTH_MAX) {
      return Promise.reject(new MessageTooLargeError(body.length, MESSAGE_LENGTH_MAX));
    }
    const streamId = this.nextStreamId;
    this.nextStreamId += 2;

    return new Promise<Uint8Array>((resolve, reject) => {
      // One plain object per call; the timer and abort listener are only
      // set up when the caller asked for them.
      const call: PendingCall = { streamId, resolve, reject, timer: undefined, signal, onAbort: undefined };
      this.pending.set(streamId, call);
      if (timeoutMs !== undefined && timeoutMs <= MAX_TIMER_MS) {
        call.timer = setTimeout(this.expire, Math.max(0, timeoutMs), call);
      }
      if (signal) {
        call.onAbort = () => this.settle(call, new CancelledError());
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      if (!this.writer.write(encodeFrame(streamId, MessageType.Request, body))) {
        this.settle(call, new ConnectionClosedError());
      }
    });
  }

  /** Ends `call` with a response payload or an error, unless it already ended. */
  private settle(call: PendingCall, result: Uint8Array | TtrpcError): void {
    if (this.pending.get(call.streamId) !== call) return;
    this.pending.delete(call.streamId);
    clearTimeout(call.timer);
    if (call.onAbort) call.signal?.removeEventListener('abort', call.onAbort);
    if (result instanceof TtrpcError) call.reject(result);
    else call.resolve(result);
  }

  /** A call's local deadline passed (a timer callback, shared by all calls). */
  private readonly expire = (call: PendingCall): void => this.settle(call, new DeadlineExceededError());

  /** Calls a unary method of a protobuf-es service with a request (or its init object). */
  async call<I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { input: I; output: O },
    request: MessageInitShape<I>,
    options?: CallOptions,
  ): Promise<MessageShape<O>> {
    if (method.methodKind !== 'unary') {
      throw new TtrpcError(Code.UNIMPLEMENTED, `${method.parent.typeName}/${method.name} is ${method.methodKind}; only unary calls are supported`);
    }
    const payload = toBinary(method.input, create(method.input, request));
    const reply = await this.callRaw(method.parent.typeName, method.name, payload, options);
    try {
      return fromBinary(method.output, reply);
    } catch (err) {
      throw new TtrpcError(Code.INTERNAL, `cannot decode ${method.output.typeName} response: ${(err as Error).message}`);
    }
  }

  /** Closes the connection; calls still waiting fail with UNAVAILABLE "connection closed". */
  async close(): Promise<void> {
    this.shutDown(new ConnectionClosedError());
    if (!this.stream.closed) {
      await new Promise<void>((resolve) => this.stream.once('close', () => resolve()));
    }
  }

  private onData(chunk: Buffer): void {
    for (const item of this.decoder.push(chunk)) {
      const { streamId, type, length } = item.header;
      const call = this.pending.get(streamId);
      if (item.kind === 'oversize') {
        this.logger.debug({ streamId, length }, 'ttrpc client: oversize response skipped');
        if (call) this.settle(call, new MessageTooLargeError(length, MESSAGE_LENGTH_MAX));
        continue;
      }
      if (type !== MessageType.Response) {
        this.logger.debug({ streamId, type }, 'ttrpc client: ignoring frame that is not a response');
        continue;
      }
      if (!call) {
        // A call that timed out or was cancelled; its late answer is dropped.
        this.logger.debug({ streamId }, 'ttrpc client: response for no pending call');
        continue;
      }
      // Nearly every response is an OK one in its usual encoding: take its
      // payload directly; anything else is decoded by protobuf-es.
      const ok = decodeOkResponse(item.payload);
      if (ok !== undefined) {
        this.settle(call, ok);
        continue;
      }
      let response: Response;
      try {
        response = fromBinary(ResponseSchema, item.payload);
      } catch (err) {
        this.settle(call, new TtrpcError(Code.INTERNAL, `unmarshal response error: ${(err as Error).message}`));
        continue;
      }
      const status = response.status;
      if (status && status.code !== Code.OK) this.settle(call, new TtrpcError(status.code, status.message));
      else this.settle(call, response.payload);
    }
  }

  private shutDown(err: TtrpcError): void {
    if (this.closeError) return;
    this.closeError = err;
    this.writer.clear();
    if (this.decoder.midFrame) this.logger.debug({}, 'ttrpc client: connection closed in the middle of a frame');
    for (const call of [...this.pending.values()]) this.settle(call, err);
    this.stream.destroy();
    this.onClose?.(err.cause instanceof Error ? err.cause : undefined);
  }
}

/** A typed client for a protobuf-es service: one async function per method, by localName. */
export type ServiceClient<S extends DescService> = {
  [K in keyof S['method']]: S['method'][K] extends {
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? (request: MessageInitShape<I>, options?: CallOptions) => Promise<MessageShape<O>>
    : never;
};

/** Builds a ServiceClient whose functions call through `client`. */
export function createClient<S extends DescService>(client: Client, service: S): ServiceClient<S> {
  const out: Record<string, unknown> = {};
  for (const method of service.methods) {
    out[method.localName] = (request: MessageInitShape<DescMessage>, options?: CallOptions) =>
      client.call(method, request, options);
  }
  return out as ServiceClient<S>;
}
