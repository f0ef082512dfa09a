// Standard I/O of a container process, as the agent's I/O RPCs see it:
// `read(len)` of stdout or stderr blocking until data or EOF, `write(data)`
// to stdin returning the bytes taken, `closeStdin()`, and `resize()` of a
// terminal.
//
// A process has either three pipes (PipeStdio) or one pty master
// (TerminalStdio; output then all comes through stdout, stderr is at EOF).
//
// Buffering is bounded: an output stream is paused (no more reads from the
// pipe) once `highWaterMark` bytes wait for a reader, so a slow reader makes
// the pipe fill up and the process block, as it would on a terminal. Bytes
// are delivered exactly once and in order; concurrent reads are served one
// after the other.

import { write as fsWrite, closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { ReadStream } from 'node:tty';
import type { Readable } from 'node:stream';
import { processNative } from '../../native/process.js';
import { ContainerError } from '../container/errors.js';
import { SerialQueue } from './serial-queue.js';

/** Default bound on bytes buffered per output stream. */
export const DEFAULT_OUTPUT_BUFFER = 64 * 1024;

/** Errors that just mean "the other side is gone": the stream is at EOF. */
const EOF_ERRORS = new Set(['EIO', 'EPIPE', 'ECONNRESET']);

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function validateReadLength(len: number): void {
  if (!Number.isSafeInteger(len) || len <= 0) {
    throw new ContainerError('INVALID_ARGUMENT', `len: must be a positive integer, got ${String(len)}`);
  }
}

/**
 * One output stream of a process. Data is taken from `stream` in flowing mode
 * and queued; the stream is paused while the queue holds `highWaterMark`
 * bytes or more and resumed when a read brings it below.
 */
export class OutputReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private eof = false;
  private failure: Error | undefined;
  private wakeUp: (() => void) | undefined;
  private draining = false;
  private readonly queue = new SerialQueue();

  constructor(
    private readonly stream: Readable,
    private readonly highWaterMark = DEFAULT_OUTPUT_BUFFER,
  ) {
    stream.on('data', (chunk: Buffer) => {
      if (this.draining) return; // finish() takes this chunk from read()'s return value
      this.enqueue(chunk);
      if (this.buffered >= this.highWaterMark) stream.pause();
    });
    stream.on('end', () => this.finish());
    stream.on('close', () => this.finish());
    stream.on('error', (err: Error) => {
      if (!EOF_ERRORS.has(errnoCode(err) ?? '')) this.failure = err;
      this.finish();
    });
  }

  private enqueue(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.wake();
  }

  /** Bytes waiting for a reader. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True once the stream ended and every byte was read. */
  get atEof(): boolean {
    return this.eof && this.buffered === 0;
  }

  /**
   * Up to `len` bytes, waiting until some are available. Resolves null at
   * end of stream (every later call too). Rejects if the stream failed.
   */
  async read(len: number): Promise<Buffer | null> {
    validateReadLength(len);
    return this.queue.run(() => this.readNow(len));
  }

  /** Stops reading and releases the descriptor; pending and later reads see EOF after the queued bytes. */
  destroy(): void {
    this.stream.destroy();
    this.finish();
  }

  private async readNow(len: number): Promise<Buffer | null> {
    for (;;) {
      if (this.buffered > 0) return this.take(len);
      if (this.failure) throw new ContainerError('INTERNAL', `read failed: ${this.failure.message}`, { cause: this.failure });
      if (this.eof) return null;
      await new Promise<void>((resolve) => (this.wakeUp = resolve));
    }
  }

  private take(len: number): Buffer {
    const parts: Buffer[] = [];
    let size = 0;
    while (size < len && this.chunks.length > 0) {
      const head = this.chunks[0]!;
      const want = len - size;
      if (head.length <= want) {
        parts.push(head);
        size += head.length;
        this.chunks.shift();
      } else {
        parts.push(head.subarray(0, want));
        this.chunks[0] = head.subarray(want);
        size += want;
      }
    }
    this.buffered -= size;
    if (!this.eof && this.buffered < this.highWaterMark && this.stream.isPaused()) this.stream.resume();
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
  }

  private finish(): void {
    // A stream that fails while paused (a pty master reads EIO once the
    // process side is closed) still holds the bytes read before the error:
    // take them, or they would be lost. (No 'data' event fires for them once
    // the stream has emitted 'error' or 'close'; `draining` guards otherwise.)
    this.draining = true;
    try {
      for (let chunk = this.stream.read() as Buffer | null; chunk !== null; chunk = this.stream.read() as Buffer | null) {
        this.enqueue(chunk);
      }
    } finally {
      this.draining = false;
    }
    this.eof = true;
    this.wake();
  }

  private wake(): void {
    const wakeUp = this.wakeUp;
    this.wakeUp = undefined;
    wakeUp?.();
  }
}

/** What the I/O RPCs need from a process's stdio. */
export interface ProcessStdio {
  /** True for a pty (stdout carries everything, stderr is always at EOF). */
  readonly terminal: boolean;
  /** Up to `len` bytes of output; null at end of stream. */
  readStdout(len: number): Promise<Buffer | null>;
  readStderr(len: number): Promise<Buffer | null>;
  /** Writes all of `data`, resolving with its length once the kernel took it. */
  writeStdin(data: Uint8Array): Promise<number>;
  /** Signals end of input (closes the pipe; on a pty sends the EOF character). */
  closeStdin(): Promise<void>;
  /** Sets the terminal window size; INVALID_ARGUMENT/FAILED_PRECONDITION without a pty. */
  resize(rows: number, cols: number): void;
  /** Releases every descriptor. Reads still return bytes already buffered, then EOF. */
  destroy(): void;
}

function stdinClosed(): ContainerError {
  return new ContainerError('FAILED_PRECONDITION', 'stdin is closed');
}

function validateWindowSize(rows: number, cols: number): void {
  for (const [name, v] of [['row', rows], ['column', cols]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
      throw new ContainerError('INVALID_ARGUMENT', `${name}: must be an integer from 0 to 65535, got ${String(v)}`);
    }
  }
}

/** The descriptors a process's stdio hands to the OCI runtime for the child. */
export type ChildStdioFds = [stdin: number, stdout: number, stderr: number];

/**
 * Three pipes. The agent keeps the write end of stdin and the read ends of
 * stdout and stderr; `childFds` are the other ends, to pass to the runtime
 * (which gives them to the container process) and then release with
 * `closeChildFds()`.
 */
export class PipeStdio implements ProcessStdio {
  readonly terminal = false;
  private readonly stdin: Socket;
  private readonly stdout: OutputReader;
  private readonly stderr: OutputReader;
  private childFdsOpen: ChildStdioFds | undefined;
  private stdinState: 'open' | 'closing' | 'closed' = 'open';
  private readonly writes = new SerialQueue();

  static create(highWaterMark = DEFAULT_OUTPUT_BUFFER): PipeStdio {
    const native = processNative();
    const fds: number[] = [];
    try {
      for (let i = 0; i < 3; i++) fds.push(...native.pipe());
    } catch (err) {
      for (const fd of fds) closeSync(fd);
      throw err;
    }
    const [inR, inW, outR, outW, errR, errW] = fds as [number, number, number, number, number, number];
    return new PipeStdio(inW, outR, errR, [inR, outW, errW], highWaterMark);
  }

  private constructor(stdinW: number, stdoutR: number, stderrR: number, child: ChildStdioFds, highWaterMark: number) {
    this.childFdsOpen = child;
    this.stdin = new Socket({ fd: stdinW, readable: false, writable: true });
    this.stdin.on('error', () => {
      // Reported to the writer through its callback; a closed reader end is normal.
    });
    this.stdout = new OutputReader(new Socket({ fd: stdoutR, readable: true, writable: false }), highWaterMark);
    this.stderr = new OutputReader(new Socket({ fd: stderrR, readable: true, writable: false }), highWaterMark);
  }

  /** The child's ends: [stdin read end, stdout write end, stderr write end]. */
  get childFds(): ChildStdioFds {
    if (!this.childFdsOpen) throw new Error('child stdio descriptors were already closed');
    return this.childFdsOpen;
  }

  /** Closes the agent's copy of the child's ends (after the runtime has them). */
  closeChildFds(): void {
    const fds = this.childFdsOpen;
    this.childFdsOpen = undefined;
    for (const fd of fds ?? []) closeSync(fd);
  }

  readStdout(len: number): Promise<Buffer | null> {
    return this.stdout.read(len);
  }

  readStderr(len: number): Promise<Buffer | null> {
    return this.stderr.read(len);
  }

  writeStdin(data: Uint8Array): Promise<number> {
    return this.writes.run(
      () =>
        new Promise<number>((resolve, reject) => {
          if (this.stdinState !== 'open' || this.stdin.destroyed) return reject(stdinClosed());
          if (data.length === 0) return resolve(0);
          this.stdin.write(data, (err) => {
            if (!err) return resolve(data.length);
            if (EOF_ERRORS.has(errnoCode(err) ?? '')) reject(new ContainerError('FAILED_PRECONDITION', 'stdin is closed by the process'));
            else reject(new ContainerError('INTERNAL', `write to stdin failed: ${err.message}`, { cause: err }));
          });
        }),
    );
  }

  closeStdin(): Promise<void> {
    // Queued after pending writes, so no byte written before is dropped.
    return this.writes.run(
      () =>
        new Promise<void>((resolve) => {
          if (this.stdinState !== 'open') return resolve();
          this.stdinState = 'closing';
          const done = () => {
            this.stdinState = 'closed';
            this.stdin.destroy();
            resolve();
          };
          this.stdin.once('close', done);
          this.stdin.end(done);
        }),
    );
  }

  resize(rows: number, cols: number): void {
    validateWindowSize(rows, cols);
    throw new ContainerError('FAILED_PRECONDITION', 'the process has no terminal');
  }

  destroy(): void {
    this.closeChildFds();
    this.stdinState = 'closed';
    this.stdin.destroy();
    this.stdout.destroy();
    this.stderr.destroy();
  }
}

/** ASCII EOT: the default VEOF character, read as end of input in canonical mode. */
const VEOF = 0x04;

/**
 * A pty master, received from the runtime through the console socket. Output
 * is read through a tty stream; input is written with non-blocking writes on a
 * duplicate of the master (Node's tty streams write to a pty master with
 * blocking writes, which would stall the whole agent when the process does
 * not read its input).
 */
export class TerminalStdio implements ProcessStdio {
  readonly terminal = true;
  private readonly output: OutputReader;
  /** The duplicate used for writes and resizes; undefined once closed. */
  private writeFd: number | undefined;
  private stdinClosed = false;
  private destroyed = false;
  /** A write is in the thread pool: the descriptor must not be closed under it. */
  private writing = false;
  private readonly writes = new SerialQueue();

  /** Takes ownership of `masterFd`. */
  constructor(masterFd: number, highWaterMark = DEFAULT_OUTPUT_BUFFER) {
    const native = processNative();
    native.setNonBlocking(masterFd, true);
    this.writeFd = native.dup(masterFd);
    this.output = new OutputReader(new ReadStream(masterFd), highWaterMark);
  }

  readStdout(len: number): Promise<Buffer | null> {
    return this.output.read(len);
  }

  async readStderr(len: number): Promise<Buffer | null> {
    validateReadLength(len);
    return null;
  }

  writeStdin(data: Uint8Array): Promise<number> {
    return this.writes.run(async () => {
      if (this.stdinClosed || this.writeFd === undefined) throw stdinClosed();
      await this.writeAll(Buffer.from(data.buffer, data.byteOffset, data.length));
      return data.length;
    });
  }

  closeStdin(): Promise<void> {
    return this.writes.run(async () => {
      if (this.stdinClosed || this.writeFd === undefined) return;
      this.stdinClosed = true;
      try {
        await this.writeAll(Buffer.of(VEOF));
      } catch {
        // The process is gone; there is no input left to end.
      }
    });
  }

  resize(rows: number, cols: number): void {
    validateWindowSize(rows, cols);
    if (this.writeFd === undefined) throw new ContainerError('FAILED_PRECONDITION', 'the terminal is closed');
    processNative().setWindowSize(this.writeFd, rows, cols);
  }

  destroy(): void {
    this.stdinClosed = true;
    this.destroyed = true;
    // With a write in flight, the writer closes the descriptor when it returns.
    if (!this.writing) this.closeWriteFd();
    this.output.destroy();
  }

  private closeWriteFd(): void {
    const fd = this.writeFd;
    this.writeFd = undefined;
    if (fd !== undefined) closeSync(fd);
  }

  /** Writes every byte, waiting (with growing pauses) while the pty's input queue is full. */
  private async writeAll(buf: Buffer): Promise<void> {
    let offset = 0;
    let pauseMs = 1;
    while (offset < buf.length) {
      const fd = this.writeFd;
      if (fd === undefined || this.destroyed) throw stdinClosed();
      let written: number;
      this.writing = true;
      try {
        written = await new Promise<number>((resolve, reject) =>
          fsWrite(fd, buf, offset, buf.length - offset, null, (err, n) => (err ? reject(err) : resolve(n))),
        );
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'EAGAIN') {
          written = 0;
        } else if (code !== undefined && EOF_ERRORS.has(code)) {
          throw new ContainerError('FAILED_PRECONDITION', 'stdin is closed by the process');
        } else {
          throw new ContainerError('INTERNAL', `write to terminal failed: ${(err as Error).message}`, { cause: err });
        }
      } finally {
        this.writing = false;
        if (this.destroyed) this.closeWriteFd();
      }
      if (written > 0) {
        offset += written;
        pauseMs = 1;
      } else {
        await new Promise((r) => setTimeout(r, pauseMs));
        pauseMs = Math.min(pauseMs * 2, 50);
      }
    }
  }
}
