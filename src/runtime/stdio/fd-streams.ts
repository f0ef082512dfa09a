// Node streams over a descriptor of any kind stdio can be: the right stream
// for each, so that no read or write ever blocks the event loop.
//
//   fifo, pipe, Unix socket   net.Socket (libuv polls it; sets O_NONBLOCK)
//   terminal                  reading: tty.ReadStream (libuv reopens the
//                             terminal by name, so the mode change is private;
//                             see terminalReadStream);
//                             writing: FdWritable on a private reopening of
//                             the terminal (non-blocking; Node's tty writes block)
//   regular file, /dev/null…  fs streams (reads and writes in the libuv pool)
//
// O_NONBLOCK is a property of the open file description, which a descriptor
// taken from another process (fd://) shares with it: the pipe cases change it
// for that process too (as Node does with its own stdio pipes); terminals,
// which an interactive shell shares, are reopened instead.

import { closeSync, constants, createReadStream, createWriteStream, fstatSync, openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { isatty, ReadStream } from 'node:tty';
import { processNative } from '../../native/process.js';
import { StdioError } from './errors.js';
import { FdWritable } from './fd-writer.js';

export type StdioDirection = 'in' | 'out';

/** What the descriptor refers to, for choosing a stream. */
export type FdKind = 'pipe' | 'terminal' | 'file' | 'other';

export function fdKind(fd: number): FdKind {
  const st = fstatSync(fd);
  if (st.isFIFO() || st.isSocket()) return 'pipe';
  if (st.isCharacterDevice()) return isatty(fd) ? 'terminal' : 'file';
  if (st.isFile()) return 'file';
  return 'other';
}

/**
 * A tty.ReadStream reading the terminal `fd`, which it owns from now on.
 * libuv reopens a terminal by name for its own use and points `fd` at the
 * new open file description too, but leaves `fd` itself open when its
 * handle closes; it is closed here when libuv did reopen (libuv then uses
 * another number), or else left to the stream.
 */
export function terminalReadStream(fd: number): ReadStream {
  const stream = new ReadStream(fd);
  const used = (stream as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (used !== undefined && used >= 0 && used !== fd) closeSync(fd);
  return stream;
}

/**
 * A non-blocking descriptor of our own on the same terminal, opened through
 * /proc/self/fd; `fd` is closed. Falls back to `fd` itself, made
 * non-blocking, if the terminal cannot be reopened.
 */
export function privateTerminalWriter(fd: number): number {
  try {
    const own = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
    closeSync(fd);
    return own;
  } catch {
    processNative().setNonBlocking(fd, true);
    return fd;
  }
}

/**
 * A stream reading (direction 'in') or writing ('out') `fd`, which it owns
 * from now on (closed with the stream, or here on failure). Throws
 * StdioError INVALID_ARGUMENT naming `field` for descriptors stdio cannot use
 * (directories, block devices, datagram sockets).
 */
export function streamForFd(fd: number, direction: 'in', field: string, what: string): Readable;
export function streamForFd(fd: number, direction: 'out', field: string, what: string): Writable;
export function streamForFd(fd: number, direction: StdioDirection, field: string, what: string): Readable | Writable;
export function streamForFd(fd: number, direction: StdioDirection, field: string, what: string): Readable | Writable {
  let owned = true;
  try {
    const kind = fdKind(fd);
    let stream: Readable | Writable;
    switch (kind) {
      case 'pipe':
        // Throws ERR_INVALID_FD_TYPE for sockets libuv cannot stream (UDP).
        stream = new Socket({ fd, readable: direction === 'in', writable: direction === 'out' });
        break;
      case 'terminal':
        if (direction === 'in') {
          stream = terminalReadStream(fd);
        } else {
          fd = privateTerminalWriter(fd);
          stream = new FdWritable(fd);
        }
        break;
      case 'file':
        stream = direction === 'in' ? createReadStream('', { fd }) : createWriteStream('', { fd });
        break;
      default:
        throw new StdioError('INVALID_ARGUMENT', field, `${what} is not a fifo, pipe, socket, terminal or file`);
    }
    owned = false;
    return stream;
  } catch (err) {
    if (owned) closeSync(fd);
    if (err instanceof StdioError) throw err;
    throw new StdioError('INVALID_ARGUMENT', field, `${what} cannot be used as a stream: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
