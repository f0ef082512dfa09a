// The agent's end of a virtio-serial port (a character device such as
// /dev/vport0p1), used where the host has no vsock.
//
// A serial port is one endless byte pipe with no connections, so this module
// makes them up:
// - read() returning 0 means no host program has the other end open; we
//   retry after a short delay until bytes arrive;
// - the first bytes after such a quiet spell start a new logical connection,
//   handed to `onStream` as its own Duplex;
// - a 0 read after data means the host went away: the current logical
//   connection ends, so the server aborts its calls and drops their answers.
//   A host that reconnects starts with a fresh decoder and stream ids, and
//   never receives answers meant for its predecessor.
//
// Reads go through libuv's pool (fs.read), because Node cannot wrap a
// character device in net.Socket. On a blocking device the read waits in a
// pool thread until data arrives.

import fs from 'node:fs';
import { Duplex } from 'node:stream';
import { silentLogger, type Logger } from '../logger.js';
import { isWouldBlock, readFd, writeAllFd } from './fd-io.js';
import type { Listener, StreamHandler } from './types.js';

export interface SerialOptions {
  /** Delay before reading again after a 0 read (no host) or EAGAIN (no data). Default 20 ms. */
  pollIntervalMs?: number;
  logger?: Logger;
}

const READ_CHUNK = 64 * 1024;
const DEFAULT_POLL_INTERVAL_MS = 20;

/** Serves the serial device at `devicePath` (opened read-write, blocking). */
export async function listenSerial(devicePath: string, onStream: StreamHandler, options: SerialOptions = {}): Promise<Listener> {
  // A plain descriptor, not a FileHandle: the channel owns and closes it, and
  // a FileHandle nobody references would be closed by the garbage collector.
  const fd = await new Promise<number>((resolve, reject) =>
    fs.open(devicePath, fs.constants.O_RDWR | fs.constants.O_NOCTTY, (err, opened) => (err ? reject(err) : resolve(opened))),
  );
  const channel = new SerialChannel(fd, fd, onStream, options);
  return {
    address: `serial://${devicePath}`,
    close: async () => {
      channel.close();
      // A blocking read may still be waiting for the host; the descriptor is
      // closed when it returns (see SerialChannel.stopped), not awaited here.
    },
  };
}

/**
 * The logical-connection machinery over a pair of descriptors (the same one
 * twice for a character device). The channel owns the descriptors and closes
 * them when it stops.
 */
export class SerialChannel {
  private readonly readFd: number;
  private readonly writeFd: number;
  private readonly onStream: StreamHandler;
  private readonly pollIntervalMs: number;
  private readonly logger: Logger;
  private current: SerialConnection | null = null;
  private closed = false;
  /** Serializes writes from all logical connections onto the one descriptor. */
  private writes: Promise<void> = Promise.resolve();
  /** Wakes the read loop when a paused connection wants more data or the channel closes. */
  private wake: (() => void) | null = null;
  /** Logical connections started so far. */
  connections = 0;
  /** Settles when the read loop has stopped and the descriptors are closed. */
  readonly stopped: Promise<void>;

  constructor(readFd: number, writeFd: number, onStream: StreamHandler, options: SerialOptions = {}) {
    this.readFd = readFd;
    this.writeFd = writeFd;
    this.onStream = onStream;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.logger = options.logger ?? silentLogger;
    this.stopped = this.readLoop().finally(() => this.closeFds());
  }

  /** Ends the current logical connection and stops reading. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.endConnection('channel closed');
    this.wake?.();
  }

  private async readLoop(): Promise<void> {
    while (!this.closed) {
      const conn = this.current;
      if (conn?.paused) {
        // The consumer has not taken what we pushed yet.
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      let n: number;
      try {
        n = await readFd(this.readFd, buf);
      } catch (err) {
        if (this.closed) break;
        if (!isWouldBlock(err) && (err as NodeJS.ErrnoException).code !== 'EINTR') {
          this.logger.warn({ err }, 'serial: read failed');
          this.endConnection(`read failed: ${(err as Error).message}`);
        }
        await this.pause();
        continue;
      }
      if (this.closed) break;
      if (n === 0) {
        // No host on the other end (any more).
        this.endConnection('host disconnected');
        await this.pause();
        continue;
      }
      this.deliver(buf.subarray(0, n));
    }
  }

  private deliver(data: Buffer): void {
    let conn = this.current;
    if (conn === null || conn.destroyed) {
      conn = new SerialConnection(this);
      this.current = conn;
      this.connections += 1;
      this.logger.debug({ connection: this.connections }, 'serial: host connected');
      this.onStream(conn);
    }
    if (!conn.push(data)) conn.paused = true;
  }

  private endConnection(reason: string): void {
    const conn = this.current;
    if (!conn) return;
    this.current = null;
    this.logger.debug({ reason }, 'serial: logical connection ended');
    conn.push(null);
    conn.destroy();
  }

  private pause(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.pollIntervalMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).finally(() => (this.wake = null));
  }

  /** Called by a logical connection that wants more input. */
  resume(conn: SerialConnection): void {
    if (conn !== this.current || !conn.paused) return;
    conn.paused = false;
    this.wake?.();
  }

  /** Called by a logical connection that is gone. */
  forget(conn: SerialConnection): void {
    if (conn === this.current) this.current = null;
    this.wake?.();
  }

  /** Queues `data` after every earlier write. */
  write(data: Uint8Array): Promise<void> {
    const next = this.writes.then(() => writeAllFd(this.writeFd, data, this.pollIntervalMs));
    this.writes = next.catch(() => {});
    return next;
  }

  private async closeFds(): Promise<void> {
    await this.writes;
    const close = (fd: number) => new Promise<void>((resolve) => fs.close(fd, () => resolve()));
    await close(this.readFd);
    if (this.writeFd !== this.readFd) await close(this.writeFd);
  }
}

/** One logical connection: from the first bytes after a quiet spell until the host goes away. */
class SerialConnection extends Duplex {
  private readonly channel: SerialChannel;
  paused = false;

  constructor(channel: SerialChannel) {
    super({ allowHalfOpen: false });
    this.channel = channel;
  }

  override _read(): void {
    this.channel.resume(this);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.channel.write(chunk).then(() => callback(), callback);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.channel.forget(this);
    callback(err);
  }
}
