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
import { RequestSchema, ResponseSchema, StatusSchema, type KeyValue, type Request } from '../protocols/gen/ttrpc_pb.js';
import { encodeOkResponseFrame } from './envelope.js';
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

/**
 * One request being served; also the CallContext its handler gets.
 *
 * The AbortController behind `signal` is created only when the handler reads
 * `signal`: most handlers never do, and creating one per call is a
 * measurable share of a busy server's time. An abort that happens before
 * anyone asked for the signal is remembered, so a late read still sees an
 * aborted signal with the same reason. Metadata is grouped by key on first
 * read, for the same reason. (Both are getters, so a copy made with {...ctx}
 * lacks them.)
 */
class ActiveCall implements CallContext {
  readonly streamId: number;
  readonly service: string;
  readonly method: string;
  readonly deadline?: number;
  timer?: NodeJS.Timeout;
  /** Set once a response was sent or dropped: later results are discarded. */
  answered = false;
  private readonly metadataPairs: readonly KeyValue[];
  private groupedMetadata: Metadata | undefined;
  private controller: AbortController | undefined;
  /** Why the call was aborted, once it was. */
  private abortReason: TtrpcError | undefined;

  constructor(streamId: number, request: Request, deadline: number | undefined) {
    this.streamId = streamId;
    this.service = request.service;
    this.method = request.method;
    if (deadline !== undefined) this.deadline = deadline;
    this.metadataPairs = request.metadata;
  }

  get metadata(): Metadata {
    this.groupedMetadata ??= metadataFromKeyValues(this.metadataPairs);
    return this.groupedMetadata;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /** Aborts the call's signal (now, or when it is first read); only the first reason counts. */
  abort(reason: TtrpcError): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

export class ServerConnection {
  private readonly stream: Duplex;
  private readonly dispatcher: Dispatcher;
  private readonly logger: Logger;
  private readonly decoder = new FrameDecoder();
  private readonly writer: FrameWriter;
  private readonly calls = new Set<ActiveCall>();
  /** Handlers still running, including those whose call already timed out. */
  private running = 0;
  /** Callers of settled() waiting for `running` to drop to 0. */
  private settledWaiters: (() => void)[] = [];
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
      call.abort(new ConnectionClosedError());
    }
    this.calls.clear();
    this.stream.destroy();
    this.resolveClosed();
  }

  /** Resolves once every handler started on this connection has returned. */
  settled(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
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

    let deadline: number | undefined;
    let ms = 0;
    if (request.timeoutNano > 0n) {
      // Round up so the handler never gets less time than the client asked for.
      ms = Number((request.timeoutNano + 999_999n) / 1_000_000n);
      deadline = Date.now() + ms;
    }
    const call = new ActiveCall(streamId, request, deadline);
    if (deadline !== undefined && ms <= MAX_TIMER_MS) {
      call.timer = setTimeout(this.expire, ms, call);
    }
    this.calls.add(call);

    // The call is its handler's context. then() with two callbacks is the
    // cheapest way to wait: no async wrapper, one promise per call.
    let result: Promise<Uint8Array>;
    try {
      result = handler(request.payload, call);
    } catch (err) {
      // A raw handler that threw instead of returning a rejected promise.
      result = Promise.reject(err);
    }
    this.running++;
    void result.then(
      (payload) => {
        // `?? empty`: a raw handler written in JavaScript may return nothing.
        this.finishOk(call, payload ?? new Uint8Array(0));
        this.handlerReturned();
      },
      (err: unknown) => {
        this.finishWithError(call, err);
        this.handlerReturned();
      },
    );
  }

  private handlerReturned(): void {
    this.running--;
    if (this.running > 0) return;
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * The deadline passed before the handler finished: answer now, and tell the
   * handler. (A timer callback shared by all calls, which saves a closure per call.)
   */
  private readonly expire = (call: ActiveCall): void => {
    if (call.answered) return;
    const err = new DeadlineExceededError();
    this.finishWithError(call, err);
    call.abort(err);
  };

  /** The handler returned `payload`: answer OK, unless the call was already answered. */
  private finishOk(call: ActiveCall, payload: Uint8Array): void {
    if (!this.markAnswered(call)) return;
    this.sendOk(call.streamId, payload);
  }

  /** The handler threw `err` (or the deadline passed): answer with its status. */
  private finishWithError(call: ActiveCall, err: unknown): void {
    if (!this.markAnswered(call)) return;
    this.sendStatus(call.streamId, err);
  }

  /** Marks the call answered; false if it already was. */
  private markAnswered(call: ActiveCall): boolean {
    if (call.answered) return false;
    call.answered = true;
    clearTimeout(call.timer);
    this.calls.delete(call);
    return true;
  }

  private sendOk(streamId: number, payload: Uint8Array): void {
    if (this.closed) {
      this.logger.debug({ streamId }, 'ttrpc server: connection gone, response dropped');
      return;
    }
    let frame: Buffer;
    try {
      frame = encodeOkResponseFrame(streamId, payload);
    } catch (err) {
      // Only a response over 4 MiB fails here (a RESOURCE_EXHAUSTED error);
      // send that status instead of the payload.
      this.sendStatus(streamId, err);
      return;
    }
    this.writeFrame(streamId, frame);
  }

  /** Answers with a non-OK status and no payload. */
  private sendStatus(streamId: number, err: unknown): void {
    if (this.closed) {
      this.logger.debug({ streamId }, 'ttrpc server: connection gone, response dropped');
      return;
    }
    let frame: Buffer;
    try {
      frame = encodeFrame(streamId, MessageType.Response, encodeStatusResponse(err));
    } catch (tooLarge) {
      // A status message over 4 MiB: answer RESOURCE_EXHAUSTED instead.
      frame = encodeFrame(streamId, MessageType.Response, encodeStatusResponse(tooLarge));
    }
    this.writeFrame(streamId, frame);
  }

  private writeFrame(streamId: number, frame: Buffer): void {
    if (!this.writer.write(frame)) {
      this.logger.debug({ streamId }, 'ttrpc server: connection gone, response dropped');
    }
  }
}

/**
 * Response{status: {code, message}} for `err`, with no payload. Errors are
 * rare enough to go through protobuf-es.
 */
function encodeStatusResponse(err: unknown): Uint8Array {
  const status = create(StatusSchema, statusOfError(err));
  return toBinary(ResponseSchema, create(ResponseSchema, { status }));
}
