// Shared pieces of the ttRPC tests: temporary directories, a small protobuf
// service built at run time, and a raw peer that speaks frames by hand.

import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, type Readable, type Writable } from 'node:stream';
import { create, createFileRegistry, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import type { GenService } from '@bufbuild/protobuf/codegenv2';
import {
  BytesValueSchema,
  EmptySchema,
  file_google_protobuf_empty,
  file_google_protobuf_wrappers,
  FileDescriptorProtoSchema,
  StringValueSchema,
} from '@bufbuild/protobuf/wkt';
import { RequestSchema, ResponseSchema, type Response } from '../../src/protocols/gen/ttrpc_pb.js';
import { encodeFrame, FrameDecoder, MessageType, type DecodedFrame } from '../../src/ttrpc/frame.js';

/** A fresh temporary directory and a function that removes it. */
export async function tempDir(prefix = 'ttrpc-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

// A test service, "test.Echo", described at run time with well-known types as
// messages (so the typed API can be checked without generated code):
//   rpc Say(StringValue) returns (StringValue);
//   rpc Blob(BytesValue) returns (BytesValue);
//   rpc Ping(Empty) returns (Empty);
//   rpc Watch(Empty) returns (stream Empty);
const echoFile = create(FileDescriptorProtoSchema, {
  name: 'test/echo.proto',
  package: 'test',
  syntax: 'proto3',
  dependency: ['google/protobuf/wrappers.proto', 'google/protobuf/empty.proto'],
  service: [
    {
      name: 'Echo',
      method: [
        { name: 'Say', inputType: '.google.protobuf.StringValue', outputType: '.google.protobuf.StringValue' },
        { name: 'Blob', inputType: '.google.protobuf.BytesValue', outputType: '.google.protobuf.BytesValue' },
        { name: 'Ping', inputType: '.google.protobuf.Empty', outputType: '.google.protobuf.Empty' },
        {
          name: 'Watch',
          inputType: '.google.protobuf.Empty',
          outputType: '.google.protobuf.Empty',
          serverStreaming: true,
        },
      ],
    },
  ],
});

const registry = createFileRegistry(echoFile, (name) =>
  name === 'google/protobuf/wrappers.proto'
    ? file_google_protobuf_wrappers
    : name === 'google/protobuf/empty.proto'
      ? file_google_protobuf_empty
      : undefined,
);

export const EchoService = registry.getService('test.Echo') as unknown as GenService<{
  say: { methodKind: 'unary'; input: typeof StringValueSchema; output: typeof StringValueSchema };
  blob: { methodKind: 'unary'; input: typeof BytesValueSchema; output: typeof BytesValueSchema };
  ping: { methodKind: 'unary'; input: typeof EmptySchema; output: typeof EmptySchema };
  watch: { methodKind: 'server_streaming'; input: typeof EmptySchema; output: typeof EmptySchema };
}>;

/** A promise with its resolve function outside. */
export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A client that writes frames by hand and collects what comes back, to test a
 * server's handling of bytes no well-behaved client sends.
 */
export class RawPeer {
  readonly socket: net.Socket;
  private readonly decoder = new FrameDecoder();
  private readonly frames: DecodedFrame[] = [];
  private waiter: (() => void) | null = null;
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.frames.push(...this.decoder.push(chunk));
      this.waiter?.();
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('close', () => this.waiter?.());
    socket.on('error', () => {});
  }

  static connect(path: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(path, () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  sendRequest(streamId: number, init: MessageInitShape<typeof RequestSchema>): void {
    this.write(encodeFrame(streamId, MessageType.Request, toBinary(RequestSchema, create(RequestSchema, init))));
  }

  /** The next frame received (waits for it); rejects if the connection closes first. */
  async nextFrame(): Promise<DecodedFrame> {
    while (this.frames.length === 0) {
      if (this.socket.closed) throw new Error('connection closed while waiting for a frame');
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = null;
    }
    return this.frames.shift()!;
  }

  /** The next frame, decoded as a Response, with its stream id. */
  async nextResponse(): Promise<{ streamId: number; response: Response }> {
    const frame = await this.nextFrame();
    if (frame.kind !== 'frame' || frame.header.type !== MessageType.Response) {
      throw new Error(`expected a response frame, got ${JSON.stringify(frame.header)}`);
    }
    return { streamId: frame.header.streamId, response: fromBinary(ResponseSchema, frame.payload) };
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One Duplex made of a readable and a writable stream (e.g. the two ends of two FIFOs). */
export function joinStreams(readable: Readable, writable: Writable): Duplex {
  const joined = new Duplex({
    read() {
      readable.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      writable.write(chunk, callback);
    },
    final(callback) {
      writable.end(callback);
    },
    destroy(err, callback) {
      readable.destroy();
      writable.destroy();
      callback(err);
    },
  });
  readable.on('data', (chunk: Buffer) => {
    if (!joined.push(chunk)) readable.pause();
  });
  readable.on('end', () => joined.push(null));
  readable.on('error', (err) => joined.destroy(err));
  writable.on('error', (err) => joined.destroy(err));
  return joined;
}
