// The hand-written OK response envelope (src/ttrpc/envelope.ts) must be byte
// for byte what protobuf-es (and Go) produce, and its decoder must agree with
// protobuf-es or step aside.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { ResponseSchema, StatusSchema } from '../../src/protocols/gen/ttrpc_pb.js';
import { decodeOkResponse, encodeOkResponseFrame } from '../../src/ttrpc/envelope.js';
import { decodeHeader, MESSAGE_HEADER_LENGTH, MESSAGE_LENGTH_MAX, MessageType } from '../../src/ttrpc/frame.js';
import { Code, MessageTooLargeError } from '../../src/ttrpc/status.js';

const okResponse = (payload: Uint8Array): Uint8Array =>
  toBinary(ResponseSchema, create(ResponseSchema, { status: create(StatusSchema, { code: 0 }), payload }));

test('encodeOkResponseFrame writes the bytes protobuf-es writes, at every varint length boundary', () => {
  for (const n of [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, MESSAGE_LENGTH_MAX - 7]) {
    const payload = Uint8Array.from({ length: n }, (_, i) => i % 251);
    const frame = encodeOkResponseFrame(7, payload);
    const body = okResponse(payload);
    assert.deepEqual(decodeHeader(frame), { length: body.length, streamId: 7, type: MessageType.Response, flags: 0 });
    assert.ok(Buffer.from(body).equals(frame.subarray(MESSAGE_HEADER_LENGTH)), `payload of ${n} bytes`);
  }
});

test('an OK response over 4 MiB is refused with the length of the whole envelope', () => {
  const payload = new Uint8Array(MESSAGE_LENGTH_MAX - 6);
  assert.throws(
    () => encodeOkResponseFrame(1, payload),
    (err: unknown) =>
      err instanceof MessageTooLargeError &&
      err.code === Code.RESOURCE_EXHAUSTED &&
      err.message === `message length ${okResponse(payload).length} exceed maximum message size of ${MESSAGE_LENGTH_MAX}`,
  );
});

test('decodeOkResponse returns the payload of OK responses and nothing for any other response', () => {
  fc.assert(
    fc.property(fc.nat({ max: 16 }), fc.string(), fc.uint8Array({ maxLength: 300 }), (code, message, payload) => {
      const bytes = toBinary(ResponseSchema, create(ResponseSchema, { status: create(StatusSchema, { code, message }), payload }));
      const fast = decodeOkResponse(bytes);
      if (code === 0 && message === '') assert.deepEqual(fast, payload);
      else assert.equal(fast, undefined);
    }),
  );
});

test('on arbitrary bytes, decodeOkResponse either steps aside or agrees with protobuf-es', () => {
  const bytes = fc.array(fc.oneof(fc.constantFrom(0x0a, 0x00, 0x12, 0x80, 0x7f, 0x01), fc.nat({ max: 255 })), { maxLength: 24 });
  fc.assert(
    fc.property(bytes, (arr) => {
      const body = Uint8Array.from(arr);
      const fast = decodeOkResponse(body);
      if (fast === undefined) return;
      const response = fromBinary(ResponseSchema, body);
      assert.equal(response.status?.code ?? 0, 0);
      assert.deepEqual(fast, response.payload);
    }),
    { numRuns: 20_000 },
  );
});
