// FrameWriter: frames written in one tick leave in one write(), in order, and
// are held (and the owner told) while the stream is full.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Writable } from 'node:stream';
import { FrameWriter } from '../../src/ttrpc/frame-writer.js';

/** A Writable that records every chunk it is given; `full` makes write() report backpressure. */
function recorder(highWaterMark: number): { stream: Writable; chunks: Buffer[]; release: () => void } {
  const chunks: Buffer[] = [];
  let pending: (() => void) | null = null;
  let hold = true;
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      if (hold) pending = done;
      else done();
    },
  });
  return {
    stream,
    chunks,
    release: () => {
      hold = false;
      pending?.();
    },
  };
}

test('frames written in one tick reach the stream as one chunk, in order', async () => {
  const { stream, chunks, release } = recorder(1 << 20);
  release();
  const writer = new FrameWriter(stream);
  for (let i = 0; i < 5; i++) assert.equal(writer.write(Buffer.from([i, i])), true);
  assert.equal(chunks.length, 0, 'nothing is written before the tick ends');
  await new Promise((resolve) => process.nextTick(resolve));
  assert.equal(chunks.length, 1);
  assert.deepEqual([...chunks[0]!], [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
});

test('a large frame is written on its own, without being copied into a batch', async () => {
  const { stream, chunks, release } = recorder(1 << 22);
  release();
  const writer = new FrameWriter(stream);
  const big = Buffer.alloc(1 << 20, 7);
  writer.write(Buffer.from([1]));
  writer.write(big);
  writer.write(Buffer.from([2]));
  await new Promise((resolve) => process.nextTick(resolve));
  assert.equal(chunks.length, 3);
  assert.equal(chunks[1], big);
});

test('while the stream is full, frames wait and the owner is told; after drain they follow in order', async () => {
  const { stream, chunks, release } = recorder(4);
  const events: boolean[] = [];
  const writer = new FrameWriter(stream, (congested) => events.push(congested));
  writer.write(Buffer.alloc(8, 1));
  await new Promise((resolve) => process.nextTick(resolve));
  assert.deepEqual(events, [true]);
  writer.write(Buffer.from([2]));
  writer.write(Buffer.from([3]));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(chunks.length, 1, 'nothing more is written while the stream is full');
  release();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(events, [true, false]);
  assert.deepEqual(Buffer.concat(chunks.slice(1)), Buffer.from([2, 3]));
});

test('clear() still hands over the frames of this tick, and drops those held back by backpressure', async () => {
  const open = recorder(1 << 20);
  open.release();
  const writer = new FrameWriter(open.stream);
  writer.write(Buffer.from([9]));
  writer.clear();
  assert.deepEqual(open.chunks.map((c) => [...c]), [[9]]);

  const full = recorder(1);
  const held = new FrameWriter(full.stream);
  held.write(Buffer.alloc(4));
  await new Promise((resolve) => process.nextTick(resolve));
  held.write(Buffer.from([5]));
  held.clear();
  full.release();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(full.chunks.length, 1);
});

test('a write to a destroyed stream is refused', () => {
  const { stream } = recorder(16);
  stream.destroy();
  assert.equal(new FrameWriter(stream).write(Buffer.from([1])), false);
});
