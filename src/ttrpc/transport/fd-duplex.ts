// A Duplex stream over file descriptors, read with fs.read and written with
// fs.write. Used for AF_VSOCK sockets, which libuv cannot adopt as net.Socket.
//
// A read on a blocking descriptor occupies one libuv pool thread until data
// arrives, so each open FdDuplex holds one pool thread (see UV_THREADPOOL_SIZE).
// The descriptors are closed only when no read or write is in flight, so a
// descriptor number is never reused under an operation that still runs.

import fs from 'node:fs';
import { Duplex } from 'node:stream';
import { isWouldBlock, readFd, writeAllFd } from './fd-io.js';

export interface FdDuplexOptions {
  /** Descriptor to read from. */
  readFd: number;
  /** Descriptor to write to; defaults to readFd (a socket). */
  writeFd?: number;
  /** Wait before retrying a read that would block (non-blocking descriptors only). */
  retryDelayMs?: number;
  /**
   * Called when the stream is destroyed, before the descriptors are closed:
   * it should wake a read blocked in the kernel (for a socket, shutdown()).
   */
  interrupt?: () => void;
}

const READ_CHUNK = 64 * 1024;

export class FdDuplex extends Duplex {
  private readonly readFd: number;
  private readonly writeFd: number;
  private readonly retryDelayMs: number;
  private readonly interrupt: (() => void) | undefined;
  private reading = false;
  private writing = false;
  private fdsClosed = false;
  private markReleased!: () => void;
  /** Settles once the descriptors are closed (after destroy and any in-flight read or write). */
  readonly released = new Promise<void>((resolve) => (this.markReleased = resolve));

  constructor(options: FdDuplexOptions) {
    // End of input means the peer is gone: end the writable side too.
    super({ allowHalfOpen: false });
    this.readFd = options.readFd;
    this.writeFd = options.writeFd ?? options.readFd;
    this.retryDelayMs = options.retryDelayMs ?? 5;
    this.interrupt = options.interrupt;
  }

  override _read(): void {
    if (this.reading || this.destroyed) return;
    this.reading = true;
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    readFd(this.readFd, buf).then(
      (n) => {
        this.reading = false;
        if (this.destroyed) return this.closeFdsWhenIdle();
        this.push(n === 0 ? null : buf.subarray(0, n));
      },
      (err: NodeJS.ErrnoException) => {
        this.reading = false;
        if (this.destroyed) return this.closeFdsWhenIdle();
        if (isWouldBlock(err) || err.code === 'EINTR') setTimeout(() => this._read(), this.retryDelayMs);
        else this.destroy(err);
      },
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.writing = true;
    writeAllFd(this.writeFd, chunk, this.retryDelayMs).then(
      () => {
        this.writing = false;
        if (this.destroyed) this.closeFdsWhenIdle();
        callback();
      },
      (err: Error) => {
        this.writing = false;
        if (this.destroyed) this.closeFdsWhenIdle();
        callback(err);
      },
    );
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    try {
      this.interrupt?.();
    } catch {
      // Already shut down or closed by the peer: nothing to wake.
    }
    this.closeFdsWhenIdle();
    callback(err);
  }

  private closeFdsWhenIdle(): void {
    if (this.fdsClosed || this.reading || this.writing) return;
    this.fdsClosed = true;
    const close = (fd: number) => new Promise<void>((resolve) => fs.close(fd, () => resolve()));
    const fds = this.writeFd === this.readFd ? [this.readFd] : [this.readFd, this.writeFd];
    void Promise.all(fds.map(close)).then(() => this.markReleased());
  }
}
