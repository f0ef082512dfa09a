// A process's output as the task manager feeds it: one Writable whatever it
// writes to (a fifo, a file, a pipe or terminal taken from another process,
// a pty slave), with the same rules:
//
// - a reader that went away (EPIPE, a hung-up terminal) is not a failure:
//   from then on output is discarded, so the process, whose output the
//   relay keeps draining, never blocks on it and nothing throws;
// - 'finish' means every byte reached the destination (the kernel took it);
// - closeOutput() ends the stream but does not wait for ever: a fifo whose
//   reader never drains it would otherwise keep the last bytes pending.

import { finished, Writable } from 'node:stream';
import { isPeerGone } from './errors.js';

/** How long closeOutput() waits for pending output by default. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5000;

export class StdioOutput extends Writable {
  private gone = false;

  /** Takes ownership of `target`. */
  constructor(private readonly target: Writable) {
    super();
    target.on('error', (err: Error) => {
      if (isPeerGone(err)) this.gone = true;
      else this.destroy(err);
    });
  }

  /** True once the reader went away; output written since was discarded. */
  get readerGone(): boolean {
    return this.gone;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.gone || this.target.destroyed) return callback();
    // One chunk at a time: the callback runs once the target handed the
    // chunk to the kernel, which is how backpressure reaches our writers.
    this.target.write(chunk, (err) => {
      if (err && isPeerGone(err)) {
        this.gone = true;
        return callback();
      }
      callback(err);
    });
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.gone || this.target.destroyed) {
      this.target.destroy();
      return callback();
    }
    finished(this.target, (err) => callback(err && !isPeerGone(err) ? err : null));
    this.target.end();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // Our 'close' comes after the target's: its descriptor is closed by then.
    if (this.target.closed) return callback(err);
    this.target.once('close', () => callback(err));
    this.target.destroy();
  }
}

/**
 * Ends `out` (no more output) and waits until everything written reached
 * its destination and the stream closed, at most `timeoutMs`. Resolves
 * true if it did; otherwise (nobody drains the destination, or the stream
 * failed) destroys the stream and resolves false. Never rejects.
 */
export function closeOutput(out: Writable, timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const settle = () => {
      clearTimeout(timer);
      resolve(out.writableFinished && !out.errored);
    };
    const timer = setTimeout(() => {
      out.destroy();
      resolve(false);
    }, timeoutMs);
    if (out.closed) return settle();
    // 'close' comes after 'finish' (the stream then destroys itself), or
    // after an error or destroy() without it.
    out.once('close', settle);
    out.on('error', () => undefined); // reported through the result
    out.end();
  });
}
