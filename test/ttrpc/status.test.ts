import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CancelledError,
  Code,
  codeName,
  ConnectionClosedError,
  DeadlineExceededError,
  isTtrpcError,
  MessageTooLargeError,
  statusOfError,
  TtrpcError,
  ttrpcError,
} from '../../src/ttrpc/status.js';

test('codes have the gRPC numbers', () => {
  const expected: Array<[keyof typeof Code, number]> = [
    ['OK', 0], ['CANCELLED', 1], ['UNKNOWN', 2], ['INVALID_ARGUMENT', 3], ['DEADLINE_EXCEEDED', 4],
    ['NOT_FOUND', 5], ['ALREADY_EXISTS', 6], ['PERMISSION_DENIED', 7], ['RESOURCE_EXHAUSTED', 8],
    ['FAILED_PRECONDITION', 9], ['ABORTED', 10], ['OUT_OF_RANGE', 11], ['UNIMPLEMENTED', 12],
    ['INTERNAL', 13], ['UNAVAILABLE', 14], ['DATA_LOSS', 15], ['UNAUTHENTICATED', 16],
  ];
  for (const [name, n] of expected) {
    assert.equal(Code[name], n);
    assert.equal(codeName(n), name);
  }
  assert.equal(codeName(99), 'CODE(99)');
});

test('TtrpcError keeps code and exact message', () => {
  const err = ttrpcError(Code.NOT_FOUND, 'process not found');
  assert.ok(err instanceof Error && isTtrpcError(err));
  assert.equal(err.code, Code.NOT_FOUND);
  assert.equal(err.message, 'process not found');
  assert.equal(err.codeName, 'NOT_FOUND');
  assert.equal(String(err), 'TtrpcError [NOT_FOUND]: process not found');
  assert.equal(isTtrpcError(new Error('x')), false);
});

test('named errors carry their codes', () => {
  assert.equal(new ConnectionClosedError().code, Code.UNAVAILABLE);
  assert.equal(new ConnectionClosedError().message, 'connection closed');
  assert.equal(new DeadlineExceededError().code, Code.DEADLINE_EXCEEDED);
  assert.equal(new DeadlineExceededError().message, 'timeout');
  assert.equal(new CancelledError().code, Code.CANCELLED);
  const big = new MessageTooLargeError(5_000_000, 4 << 20);
  assert.equal(big.code, Code.RESOURCE_EXHAUSTED);
  assert.equal(big.message, 'message length 5000000 exceed maximum message size of 4194304');
  for (const err of [new ConnectionClosedError(), new DeadlineExceededError(), new CancelledError(), big]) {
    assert.ok(err instanceof TtrpcError);
  }
});

test('statusOfError: TtrpcError keeps its status, anything else is UNKNOWN', () => {
  assert.deepEqual(statusOfError(new TtrpcError(Code.INTERNAL, 'boom')), { code: Code.INTERNAL, message: 'boom' });
  assert.deepEqual(statusOfError(new RangeError('bad index')), { code: Code.UNKNOWN, message: 'bad index' });
  assert.deepEqual(statusOfError(42), { code: Code.UNKNOWN, message: '42' });
});
