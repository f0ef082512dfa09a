// One client connection on the server side: reads request frames, runs each
// call concurrently, and writes the responses back, in whatever order the
// handlers finish.
//
// Behaviour follows containerd's ttrpc server (server.go), so Go and Rust
// clients see what they expect:
// - a frame over 4 MiB is skipped and answered with RESOURCE_EXHAUSTED on its
//   stream id; the connection carries on;
// - a request that does not decode is answered with INVALID_ARGUMENT;
// - an even stream id is answered with INVALID_ARGUMENT, since clients use odd ids;
// - frames of other types (responses, streaming data) are ignored;
// - when the connection ends, every call still running has its signal aborted
//   and nothing more is written.

import type { Duplex } from 'node:stream';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { RequestSchema, ResponseSchema, StatusSchema, type Request } from '../protocols/gen/ttrpc_pb.js';
import { encodeFrame, FrameDecoder, MESSAGE_LENGTH_MAX, MessageType } from './frame.js';
import { FrameWriter } from './frame-writer.js';
import type { Logger } from './logger.js';
import { metadataFromKeyValues, type Metadata } from './metadata.js';
import {
  Code,
  ConnectionClosedError,
  DeadlineExceededError,
  MessageTooLargeError,
  statusOfError,
  TtrpcError,
} from './status.js';

/** What a handler gets besides its request. */
export interface CallContext {
  /** Service name as sent, e.g. "grpc.AgentService". */
  readonly service: string;
  /** Method name as sent, e.g. "CreateContainer". */
  readonly method: string;
  /** Request metadata, keys lower-cased. */
  readonly metadata: Metadata;
  /** Aborted when the call's deadline passes or its connection closes. */
  readonly signal: AbortSignal;
  /** When the call times out, in Date.now() milliseconds; absent if the client set no timeout. */
  readonly deadline?: number;
}

/** A handler on raw payload bytes (a serialized request in, a serialized response out). */
export type RawHandler = (payload: Uint8Array, ctx: CallContext) => Promise<Uint8Array>;

/** What the connection needs from its server. */
export interface Dispatcher {
  /** The handler for service/method, or the error to answer with. */
  resolve(service: string, method: string): RawHandler | TtrpcError;
  readonly logger: Logger;
}

/** setTimeout() cannot wait longer than this; longer deadlines are not timed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One request being served. */
interface ActiveCall {
  readonly streamId: number;
  readonly controller: AbortController;
  timer?: NodeJS.Timeout;
  /** Set once a response was sent or dropped: later results are discarded. */
  answered: boolean;
}

export class ServerConnection {
  private readonly stream: Duplex;
  private readonly dispatcher: Dispatcher;
  private readonly logger: Logger;
  private readonly decoder = new FrameDecoder();
  private readonly writer: FrameWriter;
  private readonly calls = new Set<ActiveCall>();
  /** Handlers still running, including those whose call already timed out. */
  private readonly running = new Set<Promise<void>>();
  private closed = false;
  private resolveClosed!: () => void;
  /** Settles when the connection is closed. */
  readonly closedPromise = new Promise<void>((resolve) => (this.resolveClosed = resolve));

  constructor(stream: Duplex, dispatcher: Dispatcher) {
    this.stream = stream;
    this.dispatcher = dispatcher;
    this.logger = dispatcher.logger;
    // While the peer does not read our responses, stop reading its requests.
    this.writer = new FrameWriter(stream, (congested) => {
      if (this.closed) return;
      if (congested) stream.pause();
      else stream.resume();
    });
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    // containerd's server also drops the connection at end of input: there is
    // no way to answer a client that has shut down its side.
    stream.on('end', () => this.close('end of input'));
    stream.on('close', () => this.close('closed'));
    stream.on('error', (err: Error) => this.close(err.message));
  }

  /** Closes the connection: aborts running calls and stops writing. */
  close(reason = 'server closing'): void {
    if (this.closed) return;
    this.closed = true;
    this.logger.debug(
      { reason, activeCalls: this.calls.size, midFrame: this.decoder.midFrame },
      'ttrpc server: connection closed',
    );
    this.writer.clear();
    for (const call of this.calls) {
      call.answered = true;
      clearTimeout(call.timer);
      call.controller.abort(new ConnectionClosedError());
    }
    this.calls.clear();
    this.stream.destroy();
    this.resolveClosed();
  }

  /** Resolves once every handler started on this connection has returned. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    for (const item of this.decoder.push(chunk)) {
      if (this.closed) return;
      const { streamId, type, length } = item.header;
      if (item.kind === 'oversize') {
        this.logger.debug({ streamId, length }, 'ttrpc server: oversize frame skipped');
        this.sendStatus(streamId, new MessageTooLargeError(length, MESSAGE_LENGTH_MAX));
        continue;
      }
      if (type !== MessageType.Request) {
        this.logger.debug({ streamId, type }, 'ttrpc server: ignoring frame that is not a request');
        continue;
      }
      let request: Request;
      try {
        request = fromBinary(RequestSchema, item.payload);
      } catch (err) {
        this.sendStatus(
          streamId,
          new TtrpcError(Code.INVALID_ARGUMENT, `unmarshal request error: ${(err as Error).message}`),
        );
        continue;
      }
      if (streamId % 2 !== 1) {
        this.sendStatus(
          streamId,
          new TtrpcError(Code.INVALID_ARGUMENT, 'StreamID must be odd for client initiated streams'),
        );
        continue;
      }
      this.startCall(streamId, request);
    }
  }

  private startCall(streamId: number, request: Request): void {
    const { service, method } = request;
    const handler = this.dispatcher.resolve(service, method);
    if (handler instanceof TtrpcError) {
      this.sendStatus(streamId, handler);
      return;
    }
    // A negative timeout means the client's deadline had already passed.
    if (request.timeoutNano < 0n) {
      this.sendStatus(streamId, new DeadlineExceededError());
      return;
    }

    const call: ActiveCall = { streamId, controller: new AbortController(), answered: false };
    let deadline: number | undefined;
    if (request.timeoutNano > 0n) {
      // Round up so the handler never gets less time than the client asked for.
      const ms = Number((request.timeoutNano + 999_999n) / 1_000_000n);
      deadline = Date.now() + ms;
      if (ms <= MAX_TIMER_MS) {
        call.timer = setTimeout(() => this.expire(call), ms);
      }
    }
    const ctx: CallContext = {
      service,
      method,
      metadata: metadataFromKeyValues(request.metadata),
      signal: call.controller.signal,
      ...(deadline === undefined ? {} : { deadline }),
    };
    this.calls.add(call);

    const run = (async () => {
      try {
        const payload = await handler(request.payload, ctx);
        this.finish(call, undefined, payload);
      } catch (err) {
        this.finish(call, err, undefined);
      }
    })();
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** The deadline passed before the handler finished: answer now, and tell the handler. */
  private expire(call: ActiveCall): void {
    if (call.answered) return;
    const err = new DeadlineExceededError();
    this.finish(call, err, undefined);
    call.controller.abort(err);
  }

  private finish(call: ActiveCall, err: unknown, payload: Uint8Array | undefined): void {
    if (call.answered) return;
    call.answered = true;
    clearTimeout(call.timer);
    this.calls.delete(call);
    if (err !== undefined) {
      this.sendStatus(call.streamId, err);
      return;
    }
    this.send(call.streamId, Code.OK, '', payload ?? new Uint8Array(0));
  }

  private sendStatus(streamId: number, err: unknown): void {
    const { code, message } = statusOfError(err);
    this.send(streamId, code, message, new Uint8Array(0));
  }

  private send(streamId: number, code: Code, message: string, payload: Uint8Array): void {
    if (this.closed) {
      this.logger.debug({ streamId }, 'ttrpc server: connection gone, response dropped');
      return;
    }
    // The status is always present, as in containerd's ttrpc (an OK status is
    // an empty message), so our bytes match what a Go server sends.
    const response = create(ResponseSchema, { status: create(StatusSchema, { code, message }), payload });
    let frame: Buffer;
    try {
      frame = encodeFrame(streamId, MessageType.Response, toBinary(ResponseSchema, response));
    } catch (err) {
      // Only a response over 4 MiB fails here (encodeFrame throws a
      // RESOURCE_EXHAUSTED error); send that status instead of the payload.
      const fallback = statusOfError(err);
      const small = create(ResponseSchema, { status: create(StatusSchema, fallback) });
      frame = encodeFrame(streamId, MessageType.Response, toBinary(ResponseSchema, small));
    }
    if (!this.writer.write(frame)) {
      this.logger.debug({ streamId }, 'ttrpc server: connection gone, response dropped');
    }
  }
}
