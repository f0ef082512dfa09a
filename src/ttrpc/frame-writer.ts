// Writes whole frames to a connection, batching them and respecting
// backpressure.
//
// Batching: a busy server finishes many calls in one turn of the event loop
// (every request of a chunk it read, for instance), and a write() per frame
// would cost one system call each. So frames are only queued when written,
// and the first frame of a turn schedules a flush on process.nextTick, which
// runs once the current callback and the promise jobs it started are done.
// The flush copies the queued frames into one buffer and writes that once.
// The copy is cheap next to the system call it saves: most frames are small,
// and a frame too big to be worth copying is written on its own.
//
// Backpressure: Node's Writable.write() returns false once its buffer is full;
// the writer must then hold further data until 'drain'. FrameWriter keeps
// those frames in order in its queue, and tells its owner when the connection
// is congested (the server stops reading requests meanwhile, as containerd's
// ttrpc does by blocking its reader while a response is being sent).

import type { Writable } from 'node:stream';

/**
 * Frames are joined into writes of at most this many bytes; a frame at least
 * this big is written as it is, without a copy.
 */
const BATCH_BYTES = 64 * 1024;

export class FrameWriter {
  private readonly stream: Writable;
  private readonly onCongestion: (congested: boolean) => void;
  /** Frames not yet handed to the stream, oldest first. */
  private queue: Buffer[] = [];
  /** A flush is scheduled on process.nextTick. */
  private flushScheduled = false;
  /** The stream said it was full: nothing is written until it drains. */
  private waitingForDrain = false;

  constructor(stream: Writable, onCongestion: (congested: boolean) => void = () => {}) {
    this.stream = stream;
    this.onCongestion = onCongestion;
  }

  /** True if the stream can no longer take data (closed or ending). */
  get gone(): boolean {
    return this.stream.destroyed || this.stream.writableEnded;
  }

  /**
   * Queues `frame`; it is written at the end of the current tick (or after
   * the stream drains). Returns false, dropping the frame, if the stream is gone.
   */
  write(frame: Buffer): boolean {
    if (this.gone) return false;
    this.queue.push(frame);
    if (!this.flushScheduled && !this.waitingForDrain) {
      this.flushScheduled = true;
      process.nextTick(this.flushTick);
    }
    return true;
  }

  /**
   * The connection is going away. Frames written in this tick and not held
   * back by backpressure are handed to the stream now (without batching they
   * would already have been); the ones waiting for 'drain' are dropped.
   */
  clear(): void {
    if (!this.waitingForDrain) this.flush();
    this.queue = [];
  }

  private readonly flushTick = (): void => {
    this.flushScheduled = false;
    // Frames written while waiting for 'drain' are flushed by onDrain.
    if (!this.waitingForDrain) this.flush();
  };

  private readonly onDrain = (): void => {
    this.waitingForDrain = false;
    this.flush();
    if (!this.waitingForDrain) this.onCongestion(false);
  };

  /** Writes queued frames, in batches, until the queue is empty or the stream is full. */
  private flush(): void {
    while (this.queue.length > 0) {
      if (this.gone) {
        this.queue = [];
        return;
      }
      if (!this.stream.write(this.takeBatch())) {
        this.waitingForDrain = true;
        this.onCongestion(true);
        this.stream.once('drain', this.onDrain);
        return;
      }
    }
  }

  /**
   * Removes the next write's worth of frames from the queue: a single frame
   * as it is, or the leading frames that fit in BATCH_BYTES joined into one
   * buffer.
   */
  private takeBatch(): Buffer {
    const queue = this.queue;
    let count = 0;
    let bytes = 0;
    while (count < queue.length && bytes + queue[count]!.length <= BATCH_BYTES) {
      bytes += queue[count]!.length;
      count++;
    }
    if (count <= 1) {
      // One frame, or a first frame too big to join with anything.
      return queue.shift()!;
    }
    const batch = Buffer.concat(count === queue.length ? queue : queue.slice(0, count), bytes);
    if (count === queue.length) this.queue = [];
    else queue.splice(0, count);
    return batch;
  }
}
