import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  decodeHeader,
  encodeFrame,
  encodeHeader,
  FrameDecoder,
  MESSAGE_HEADER_LENGTH,
  MESSAGE_LENGTH_MAX,
  MessageType,
  type DecodedFrame,
} from '../../src/ttrpc/frame.js';
import { Code, MessageTooLargeError } from '../../src/ttrpc/status.js';

const u32 = fc.nat({ max: 0xffff_ffff });
const u8 = fc.nat({ max: 0xff });
const headerArb = fc.record({ length: u32, streamId: u32, type: u8, flags: u8 });

/** Cuts `bytes` at the given offsets (any order, duplicates allowed) into chunks. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  return out;
}

/** Plain-data view of decoder output, for deep comparison. */
function plain(items: DecodedFrame[]) {
  return items.map((i) =>
    i.kind === 'frame' ? { kind: i.kind, header: i.header, payload: [...i.payload] } : { kind: i.kind, header: i.header },
  );
}

describe('frame header', () => {
  test('constants match containerd ttrpc and ttrpc-rust', () => {
    assert.equal(MESSAGE_HEADER_LENGTH, 10);
    assert.equal(MESSAGE_LENGTH_MAX, 4 * 1024 * 1024);
    assert.equal(MessageType.Request, 1);
    assert.equal(MessageType.Response, 2);
    assert.equal(MessageType.Data, 3);
  });

  test('decode(encode(header)) is the identity, and the layout is big-endian', () => {
    fc.assert(
      fc.property(headerArb, (h) => {
        const bytes = encodeHeader(h);
        assert.equal(bytes.length, 10);
        assert.deepEqual(decodeHeader(bytes), { ...h });
        assert.equal(bytes.readUInt32BE(0), h.length);
        assert.equal(bytes.readUInt32BE(4), h.streamId);
        assert.equal(bytes[8], h.type);
        assert.equal(bytes[9], h.flags);
      }),
    );
  });

  // Header test vectors from ttrpc-rust's proto.rs tests (byte values are facts).
  test('ttrpc-rust MESSAGE_HEADER vector', () => {
    const bytes = Uint8Array.from([0x10, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x03, 0x2, 0xef]);
    const h = decodeHeader(bytes);
    assert.deepEqual(h, { length: 0x1000_0000, streamId: 3, type: MessageType.Response, flags: 0xef });
    assert.deepEqual([...encodeHeader(h)], [...bytes]);
  });

  test('ttrpc-rust PROTOBUF_MESSAGE_HEADER vector', () => {
    const bytes = Uint8Array.from([0x00, 0x0, 0x0, 67, 0x0, 0x12, 0x34, 0x56, 0x1, 0xef]);
    assert.deepEqual(decodeHeader(bytes), { length: 67, streamId: 0x123456, type: MessageType.Request, flags: 0xef });
  });

  test('decodeHeader refuses fewer than 10 bytes', () => {
    assert.throws(() => decodeHeader(new Uint8Array(9)), RangeError);
  });

  test('encodeFrame puts the header before the payload', () => {
    const frame = encodeFrame(7, MessageType.Response, Uint8Array.from([1, 2, 3]));
    assert.deepEqual([...frame], [0, 0, 0, 3, 0, 0, 0, 7, 2, 0, 1, 2, 3]);
  });

  test('encodeFrame refuses a payload over 4 MiB with RESOURCE_EXHAUSTED', () => {
    assert.throws(
      () => encodeFrame(1, MessageType.Request, new Uint8Array(MESSAGE_LENGTH_MAX + 1)),
      (err: unknown) =>
        err instanceof MessageTooLargeError &&
        err.code === Code.RESOURCE_EXHAUSTED &&
        err.message === 'message length 4194305 exceed maximum message size of 4194304',
    );
    // Exactly the maximum is allowed.
    assert.equal(encodeFrame(1, MessageType.Request, new Uint8Array(MESSAGE_LENGTH_MAX)).length, MESSAGE_LENGTH_MAX + 10);
  });
});

describe('FrameDecoder', () => {
  const frameArb = fc.record({
    streamId: u32,
    type: u8,
    flags: u8,
    payload: fc.uint8Array({ maxLength: 120 }),
  });

  test('frames split and coalesced at any byte boundaries decode to the same frames', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 40 }), (frames, cuts) => {
        const stream = Buffer.concat(frames.map((f) => encodeFrame(f.streamId, f.type, f.payload, f.flags)));
        const decoder = new FrameDecoder();
        const out: DecodedFrame[] = [];
        for (const chunk of split(stream, cuts)) out.push(...decoder.push(chunk));
        assert.deepEqual(
          plain(out),
          frames.map((f) => ({
            kind: 'frame',
            header: { length: f.payload.length, streamId: f.streamId, type: f.type, flags: f.flags },
            payload: [...f.payload],
          })),
        );
        assert.equal(decoder.midFrame, false);
      }),
    );
  });

  test('oversize frames are skipped and reported wherever the stream is cut', () => {
    // A decoder with a 64-byte limit, so random frames cross it often.
    const limit = 64;
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 40 }), (frames, cuts) => {
        const stream = Buffer.concat(frames.map((f) => encodeFrame(f.streamId, f.type, f.payload, f.flags)));
        const decoder = new FrameDecoder(limit);
        const out: DecodedFrame[] = [];
        for (const chunk of split(stream, cuts)) {
          out.push(...decoder.push(chunk));
          // An oversize body is never held in memory.
          assert.ok(decoder.bufferedBytes <= limit + MESSAGE_HEADER_LENGTH);
        }
        assert.deepEqual(
          plain(out),
          frames.map((f) => {
            const header = { length: f.payload.length, streamId: f.streamId, type: f.type, flags: f.flags };
            return f.payload.length > limit
              ? { kind: 'oversize', header }
              : { kind: 'frame', header, payload: [...f.payload] };
          }),
        );
      }),
    );
  });

  test('an oversize frame at the real limit is reported after its body, not buffered', () => {
    const decoder = new FrameDecoder();
    const length = MESSAGE_LENGTH_MAX + 1;
    const header = encodeHeader({ length, streamId: 5, type: MessageType.Request, flags: 0 });
    assert.deepEqual(decoder.push(header), []);
    const chunk = Buffer.alloc(256 * 1024, 0xaa);
    let sent = 0;
    while (sent + chunk.length < length) {
      assert.deepEqual(decoder.push(chunk), []);
      assert.equal(decoder.bufferedBytes, 0);
      sent += chunk.length;
    }
    // The rest of the body plus the start of the next frame, in one chunk.
    const next = encodeFrame(7, MessageType.Request, Uint8Array.from([9]));
    const out = decoder.push(Buffer.concat([Buffer.alloc(length - sent, 0xaa), next]));
    assert.deepEqual(plain(out), [
      { kind: 'oversize', header: { length, streamId: 5, type: 1, flags: 0 } },
      { kind: 'frame', header: { length: 1, streamId: 7, type: 1, flags: 0 }, payload: [9] },
    ]);
  });

  test('midFrame reports a partial frame', () => {
    const decoder = new FrameDecoder();
    const frame = encodeFrame(1, MessageType.Request, new Uint8Array(20));
    decoder.push(frame.subarray(0, 4));
    assert.equal(decoder.midFrame, true);
    decoder.push(frame.subarray(4, 15));
    assert.equal(decoder.midFrame, true);
    assert.equal(decoder.push(frame.subarray(15)).length, 1);
    assert.equal(decoder.midFrame, false);
  });
});
