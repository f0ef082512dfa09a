// ttRPC framing: every message on the byte stream is a 10-byte header
// followed by `length` bytes of payload (a protobuf Request or Response).
//
//   bytes 0..3  length     u32 big-endian, payload bytes after the header
//   bytes 4..7  stream id  u32 big-endian, pairs a response with its request
//   byte  8     type       1 = request, 2 = response, 3 = data (streaming)
//   byte  9     flags      0 for unary calls
//
// The layout and limits match containerd's ttrpc (channel.go) and ttrpc-rust
// (proto.rs), so frames are byte-compatible with both.

import { MessageTooLargeError } from './status.js';

export const MESSAGE_HEADER_LENGTH = 10;
/** The largest payload either side accepts: 4 MiB. */
export const MESSAGE_LENGTH_MAX = 4 << 20;

export enum MessageType {
  Request = 1,
  Response = 2,
  /** Only used by streaming calls (ttrpc protocol 1.2); unary peers ignore it. */
  Data = 3,
}

// Flags defined by the streaming protocol. Unary calls send 0 and the server
// ignores them; they are listed so logs can name them.
export const FLAG_REMOTE_CLOSED = 0x1;
export const FLAG_REMOTE_OPEN = 0x2;
export const FLAG_NO_DATA = 0x4;

export interface FrameHeader {
  /** Payload length in bytes (header not included). */
  length: number;
  streamId: number;
  /** A MessageType, or any other byte a peer sent. */
  type: number;
  flags: number;
}

/** Writes `header` as 10 bytes. Values must fit their fields (u32, u32, u8, u8). */
export function encodeHeader(header: FrameHeader): Buffer {
  const buf = Buffer.allocUnsafe(MESSAGE_HEADER_LENGTH);
  writeHeader(buf, header);
  return buf;
}

/** Writes `header` into the first 10 bytes of `buf`. */
export function writeHeader(buf: Buffer, header: FrameHeader): void {
  buf.writeUInt32BE(header.length, 0);
  buf.writeUInt32BE(header.streamId, 4);
  buf.writeUInt8(header.type, 8);
  buf.writeUInt8(header.flags, 9);
}

/** Reads a header from the first 10 bytes of `buf` (from `offset`). */
export function decodeHeader(buf: Uint8Array, offset = 0): FrameHeader {
  if (buf.length - offset < MESSAGE_HEADER_LENGTH) {
    throw new RangeError(`a frame header needs ${MESSAGE_HEADER_LENGTH} bytes, got ${buf.length - offset}`);
  }
  // Read byte by byte rather than through a DataView: this runs for every
  // frame, and a view would be one more object to collect each time.
  return {
    length: readUInt32BE(buf, offset),
    streamId: readUInt32BE(buf, offset + 4),
    type: buf[offset + 8]!,
    flags: buf[offset + 9]!,
  };
}

function readUInt32BE(buf: Uint8Array, offset: number): number {
  // The top byte is multiplied, not shifted, so the result stays unsigned.
  return buf[offset]! * 0x1000000 + ((buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!);
}

/**
 * Header and payload in one buffer, ready for a single write.
 * Throws MessageTooLargeError (RESOURCE_EXHAUSTED) for a payload over 4 MiB.
 */
export function encodeFrame(streamId: number, type: MessageType | number, payload: Uint8Array, flags = 0): Buffer {
  if (payload.length > MESSAGE_LENGTH_MAX) {
    throw new MessageTooLargeError(payload.length, MESSAGE_LENGTH_MAX);
  }
  const buf = Buffer.allocUnsafe(MESSAGE_HEADER_LENGTH + payload.length);
  writeHeader(buf, { length: payload.length, streamId, type, flags });
  buf.set(payload, MESSAGE_HEADER_LENGTH);
  return buf;
}

const EMPTY = Buffer.alloc(0);

/** What the decoder produces: a whole frame, or the header of a frame too large to accept. */
export type DecodedFrame =
  | { kind: 'frame'; header: FrameHeader; payload: Buffer }
  | { kind: 'oversize'; header: FrameHeader };

/**
 * Turns a byte stream, arriving in chunks of any size, back into frames.
 *
 * A frame whose header announces more than MESSAGE_LENGTH_MAX bytes is not
 * buffered: its body is counted off and dropped as it arrives, and once it has
 * been skipped the decoder reports `{kind: 'oversize', header}` so the server
 * can answer on that stream id (as containerd's ttrpc does). The stream stays in
 * sync because the skipped body is exactly `header.length` bytes.
 *
 * Payloads may share memory with the pushed chunks: a caller must not reuse a
 * chunk's memory after pushing it. The decoder itself copies only what spans
 * two chunks.
 */
export class FrameDecoder {
  private readonly maxLength: number;
  /** Bytes received and not consumed yet: chunks[0] from `offset` on, then the other chunks whole. */
  private chunks: Buffer[] = [];
  private offset = 0;
  /** How many bytes `chunks` holds from `offset` on. */
  private buffered = 0;
  /** Header of the frame whose body we are waiting for, if any. */
  private header: FrameHeader | null = null;
  /** Bytes of an oversize body still to drop. */
  private skipping = 0;
  /**
   * Where a header split across two chunks is put back together. It is
   * decoded at once and never handed out, so one buffer serves every frame.
   */
  private readonly headerScratch = Buffer.alloc(MESSAGE_HEADER_LENGTH);

  constructor(maxLength = MESSAGE_LENGTH_MAX) {
    this.maxLength = maxLength;
  }

  /** Feeds the next chunk of the stream; returns the frames it completed, in order. */
  push(chunk: Uint8Array): DecodedFrame[] {
    const out: DecodedFrame[] = [];
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    while (true) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, buf.length);
        this.skipping -= n;
        buf = buf.subarray(n);
        if (this.skipping > 0) return out;
        out.push({ kind: 'oversize', header: this.header! });
        this.header = null;
      }
      if (buf.length > 0) {
        this.chunks.push(buf);
        this.buffered += buf.length;
        buf = EMPTY;
      }
      if (this.header === null) {
        if (this.buffered < MESSAGE_HEADER_LENGTH) return out;
        this.header = this.takeHeader();
        if (this.header.length > this.maxLength) {
          // Start skipping, and run what is already buffered back through
          // push(): the first bytes are the body to drop, anything after it
          // belongs to the next frames.
          this.skipping = this.header.length;
          const rest = this.chunks;
          if (rest.length > 0) rest[0] = rest[0]!.subarray(this.offset);
          this.chunks = [];
          this.offset = 0;
          this.buffered = 0;
          for (const c of rest) out.push(...this.push(c));
          return out;
        }
      }
      if (this.buffered < this.header.length) return out;
      out.push({ kind: 'frame', header: this.header, payload: this.take(this.header.length) });
      this.header = null;
    }
  }

  /** Bytes held waiting for the rest of a frame (never more than one frame's worth). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True while part of a frame (header, body, or an oversize body being skipped) is outstanding. */
  get midFrame(): boolean {
    return this.buffered > 0 || this.header !== null || this.skipping > 0;
  }

  /** Removes and decodes the next header (10 <= buffered). */
  private takeHeader(): FrameHeader {
    const first = this.chunks[0]!;
    if (first.length - this.offset >= MESSAGE_HEADER_LENGTH) {
      // The common case: decode in place.
      const header = decodeHeader(first, this.offset);
      this.consume(MESSAGE_HEADER_LENGTH);
      return header;
    }
    this.copyOut(this.headerScratch, MESSAGE_HEADER_LENGTH);
    return decodeHeader(this.headerScratch);
  }

  /** Removes and returns the next `n` buffered bytes (n <= buffered). */
  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[0]!;
    if (first.length - this.offset >= n) {
      // The common case: the bytes are in one chunk; no copy.
      const out = first.subarray(this.offset, this.offset + n);
      this.consume(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    this.copyOut(out, n);
    return out;
  }

  /** Moves the next `n` buffered bytes into the start of `target`. */
  private copyOut(target: Buffer, n: number): void {
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const count = Math.min(c.length - this.offset, n - filled);
      c.copy(target, filled, this.offset, this.offset + count);
      filled += count;
      this.consume(count);
    }
  }

  /** Drops `n` bytes from the front of the first chunk (n <= what it has left). */
  private consume(n: number): void {
    this.offset += n;
    this.buffered -= n;
    if (this.offset === this.chunks[0]!.length) {
      this.chunks.shift();
      this.offset = 0;
    }
  }
}
