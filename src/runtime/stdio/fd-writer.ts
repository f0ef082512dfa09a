// A Writable over a non-blocking descriptor, for terminals. Node's own tty
// streams write to a terminal with blocking writes (and cannot wrap a pty
// master at all without them); a terminal that stops reading (a stalled
// console, XOFF) would then freeze the whole event loop. Here each write is
// a non-blocking write(2) in the libuv pool; when the terminal's buffer is
// full (EAGAIN) we wait a little, longer each time, and try again.

import { closeSync, write as fsWrite } from 'node:fs';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/** First and longest pause after EAGAIN. */
const FIRST_PAUSE_MS = 1;
const LONGEST_PAUSE_MS = 50;

function writeOnce(fd: number, buf: Buffer, offset: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fsWrite(fd, buf, offset, buf.length - offset, null, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

export class FdWritable extends Writable {
  private fd: number | undefined;
  /** A write is in the pool: the descriptor is closed when it returns. */
  private writing = false;
  /** Finishes a destroy() that came during a write, once the descriptor is closed. */
  private destroyDone: (() => void) | undefined;

  /** Takes ownership of `fd`, which must be in non-blocking mode. */
  constructor(fd: number) {
    super();
    this.fd = fd;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.writeAll(chunk).then(() => callback(), callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.release();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // 'close' is emitted once the descriptor really is closed.
    if (this.writing) {
      this.destroyDone = () => callback(err);
      return;
    }
    this.release();
    callback(err);
  }

  private release(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }

  private async writeAll(buf: Buffer): Promise<void> {
    let offset = 0;
    let pauseMs = FIRST_PAUSE_MS;
    while (offset < buf.length) {
      const fd = this.fd;
      if (fd === undefined || this.destroyed) return; // closed under us: the bytes have nowhere to go
      let written = 0;
      this.writing = true;
      try {
        written = await writeOnce(fd, buf, offset);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      } finally {
        this.writing = false;
        if (this.destroyed) {
          this.release();
          const done = this.destroyDone;
          this.destroyDone = undefined;
          done?.();
        }
      }
      if (written > 0) {
        offset += written;
        pauseMs = FIRST_PAUSE_MS;
      } else {
        await sleep(pauseMs);
        pauseMs = Math.min(pauseMs * 2, LONGEST_PAUSE_MS);
      }
    }
  }
}
