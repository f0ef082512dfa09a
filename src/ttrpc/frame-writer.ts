// Writes whole frames to a connection while respecting backpressure.
//
// Node's Writable.write() returns false once its buffer is full; the writer
// must then hold further data until 'drain'. FrameWriter keeps those frames in
// order in its own queue, and tells its owner when the connection is congested
// (the server stops reading requests meanwhile, as containerd's ttrpc does by
// blocking its reader while a response is being sent).

import type { Writable } from 'node:stream';

export class FrameWriter {
  private readonly stream: Writable;
  private readonly onCongestion: (congested: boolean) => void;
  private queue: Buffer[] = [];
  private waitingForDrain = false;

  constructor(stream: Writable, onCongestion: (congested: boolean) => void = () => {}) {
    this.stream = stream;
    this.onCongestion = onCongestion;
  }

  /** True if the stream can no longer take data (closed or ending). */
  get gone(): boolean {
    return this.stream.destroyed || this.stream.writableEnded;
  }

  /** Queues `frame` for writing. Returns false, dropping the frame, if the stream is gone. */
  write(frame: Buffer): boolean {
    if (this.gone) return false;
    if (this.waitingForDrain) {
      this.queue.push(frame);
      return true;
    }
    if (!this.stream.write(frame)) this.waitForDrain();
    return true;
  }

  /** Forgets queued frames (the connection is going away). */
  clear(): void {
    this.queue = [];
  }

  private waitForDrain(): void {
    this.waitingForDrain = true;
    this.onCongestion(true);
    this.stream.once('drain', this.flush);
  }

  private readonly flush = (): void => {
    this.waitingForDrain = false;
    while (this.queue.length > 0) {
      if (this.gone) {
        this.queue = [];
        return;
      }
      const frame = this.queue.shift()!;
      if (!this.stream.write(frame)) {
        this.waitForDrain();
        return;
      }
    }
    this.onCongestion(false);
  };
}
