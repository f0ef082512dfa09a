// The request/response envelopes must be byte-identical to what containerd's
// ttrpc (Go, gogo protobuf) and ttrpc-rust produce.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { RequestSchema, ResponseSchema, StatusSchema } from '../../src/protocols/gen/ttrpc_pb.js';

// ttrpc-rust's encoded Request test vector (src/proto.rs, PROTOBUF_REQUEST):
// service "grpc.TestServices", method "Test", payload 1..9, timeout 20 ms,
// one metadata pair test_key1=test_value1.
const PROTOBUF_REQUEST = Uint8Array.from([
  10, 17, 103, 114, 112, 99, 46, 84, 101, 115, 116, 83, 101, 114, 118, 105, 99, 101, 115, 18, 4, 84, 101, 115, 116,
  26, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 32, 128, 218, 196, 9, 42, 24, 10, 9, 116, 101, 115, 116, 95, 107, 101, 121, 49,
  18, 11, 116, 101, 115, 116, 95, 118, 97, 108, 117, 101, 49,
]);

test('ttrpc-rust PROTOBUF_REQUEST decodes to the expected fields', () => {
  assert.equal(PROTOBUF_REQUEST.length, 67);
  const req = fromBinary(RequestSchema, PROTOBUF_REQUEST);
  assert.equal(req.service, 'grpc.TestServices');
  assert.equal(req.method, 'Test');
  assert.deepEqual([...req.payload], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(req.timeoutNano, 20_000_000n);
  assert.deepEqual(
    req.metadata.map((kv) => [kv.key, kv.value]),
    [['test_key1', 'test_value1']],
  );
});

test('the same request encodes to exactly the PROTOBUF_REQUEST bytes', () => {
  const req = create(RequestSchema, {
    service: 'grpc.TestServices',
    method: 'Test',
    payload: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]),
    timeoutNano: 20n * 1000n * 1000n,
    metadata: [{ key: 'test_key1', value: 'test_value1' }],
  });
  assert.deepEqual([...toBinary(RequestSchema, req)], [...PROTOBUF_REQUEST]);
});

test('an OK response carries an empty status, as a Go server sends it', () => {
  // Go: Response{Status: &Status{}, Payload: []byte{1,2,3}} marshals to
  // 0a 00 (status, empty) 12 03 01 02 03 (payload).
  const res = create(ResponseSchema, { status: create(StatusSchema, { code: 0 }), payload: Uint8Array.from([1, 2, 3]) });
  assert.deepEqual([...toBinary(ResponseSchema, res)], [0x0a, 0x00, 0x12, 0x03, 1, 2, 3]);
});

test('an error response is the status alone', () => {
  const res = create(ResponseSchema, { status: create(StatusSchema, { code: 5, message: 'x' }) });
  assert.deepEqual([...toBinary(ResponseSchema, res)], [0x0a, 0x05, 0x08, 0x05, 0x12, 0x01, 0x78]);
});
