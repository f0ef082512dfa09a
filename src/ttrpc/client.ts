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

interface PendingCall {
  resolve(payload: Uint8Array): void;
  reject(err: TtrpcError): void;
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
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => settle(new CancelledError());
      const settle = (result: Uint8Array | TtrpcError) => {
        if (this.pending.get(streamId) !== entry) return;
        this.pending.delete(streamId);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (result instanceof TtrpcError) reject(result);
        else resolve(result);
      };
      const entry: PendingCall = { resolve: settle, reject: settle };
      this.pending.set(streamId, entry);
      if (timeoutMs !== undefined && timeoutMs <= MAX_TIMER_MS) {
        timer = setTimeout(() => settle(new DeadlineExceededError()), Math.max(0, timeoutMs));
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (!this.writer.write(encodeFrame(streamId, MessageType.Request, body))) {
        settle(new ConnectionClosedError());
      }
    });
  }

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
        call?.reject(new MessageTooLargeError(length, MESSAGE_LENGTH_MAX));
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
      let response: Response;
      try {
        response = fromBinary(ResponseSchema, item.payload);
      } catch (err) {
        call.reject(new TtrpcError(Code.INTERNAL, `unmarshal response error: ${(err as Error).message}`));
        continue;
      }
      const status = response.status;
      if (status && status.code !== Code.OK) call.reject(new TtrpcError(status.code, status.message));
      else call.resolve(response.payload);
    }
  }

  private shutDown(err: TtrpcError): void {
    if (this.closeError) return;
    this.closeError = err;
    this.writer.clear();
    if (this.decoder.midFrame) this.logger.debug({}, 'ttrpc client: connection closed in the middle of a frame');
    for (const call of [...this.pending.values()]) call.reject(err);
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
