// Opening the stdio of a container process from its URIs (see uri.ts), the
// way containerd's shims do, without ever blocking the event loop:
//
// - A fifo path. open(2) of a fifo normally waits for the other side, so
//   neither direction uses a plain blocking open:
//   * stdin ('in'): the read end is opened O_RDONLY|O_NONBLOCK (returns at
//     once), then a write end of our own O_WRONLY|O_NONBLOCK (succeeds, as
//     a reader now exists). That "keeper" writer stops the fifo from reading
//     as ended while the client has not opened it yet or between two
//     clients; StdioInput.closeInput() (CloseIO) releases it, as the runc
//     shim does with its own writer.
//   * stdout/stderr ('out'): opened O_RDWR|O_NONBLOCK. Linux lets a fifo be
//     opened read-write without waiting, and the read side we then hold
//     plays the part of the runc shim's extra reader: writes never fail with
//     EPIPE when the client detaches, and a client may attach later. If no
//     client ever reads, output fills the fifo (64 KiB) and then waits:
//     backpressure reaches the process as with any slow reader, and
//     closeOutput() gives up after its timeout instead of hanging.
// - A regular file or character device path: read from the start, or
//   appended to.
// - file:///abs/path: appended to, created with mode 0640 (and its
//   directory with 0755) if missing; for stdin, read.
// - fd://<pid>/<fd>: a duplicate of the live process's descriptor
//   (pidfd_getfd), streamed according to what it is (fd-streams.ts).
//
// Errors are StdioError naming the field: INVALID_ARGUMENT for a URI we
// refuse, NOT_FOUND for a missing path, process or descriptor,
// FAILED_PRECONDITION when access is denied.

import { closeSync, constants, open as fsOpen } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { processNative } from '../../native/process.js';
import { StdioError } from './errors.js';
import { fdKind, streamForFd, type StdioDirection } from './fd-streams.js';
import { StdioInput } from './input.js';
import { StdioOutput } from './output.js';
import { takeProcessFd } from './process-fd.js';
import { parseStdioUri } from './uri.js';

export type { StdioDirection } from './fd-streams.js';

export interface OpenStdioOptions {
  /** The request field named in errors (default "stdin" for 'in', "stdout" for 'out'). */
  field?: string;
}

/** Mode of log files created for file:// URIs (before the umask). */
export const LOG_FILE_MODE = 0o640;

function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? '';
}

/** Promise-returning open(2) with numeric flags (in the libuv pool; Node adds O_CLOEXEC). */
function openFd(path: string, flags: number, mode = 0o666): Promise<number> {
  return new Promise((resolve, reject) => fsOpen(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

function openFailed(err: unknown, field: string, path: string): StdioError {
  const code = errnoCode(err);
  const cause = { cause: err };
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new StdioError('NOT_FOUND', field, `${path} does not exist`, cause);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new StdioError('FAILED_PRECONDITION', field, `cannot open ${path}: ${(err as Error).message}`, cause);
    case 'ENXIO':
      return new StdioError('FAILED_PRECONDITION', field, `${path} is a fifo with no reader`, cause);
    case 'EISDIR':
      return new StdioError('INVALID_ARGUMENT', field, `${path} is a directory`, cause);
    default:
      return new StdioError('INTERNAL', field, `cannot open ${path}: ${(err as Error).message}`, cause);
  }
}

/** The stream of `fd` (which it takes over) wrapped for its direction. */
function wrapFd(fd: number, direction: StdioDirection, field: string, what: string, keeperFd?: number): StdioInput | StdioOutput {
  if (direction === 'in') return new StdioInput(streamForFd(fd, 'in', field, what), { keeperFd });
  return new StdioOutput(streamForFd(fd, 'out', field, what));
}

/**
 * Opened with O_NONBLOCK so that nothing (a fifo, a terminal's carrier)
 * can make open(2) wait; files and devices other than terminals and pipes
 * are then switched back to blocking mode, as the fs streams that serve
 * them read and write in the libuv pool and would otherwise see EAGAIN.
 */
async function openNonBlocking(path: string, flags: number, field: string, mode?: number): Promise<number> {
  let fd: number;
  try {
    fd = await openFd(path, flags | constants.O_NONBLOCK | constants.O_NOCTTY, mode);
  } catch (err) {
    throw openFailed(err, field, path);
  }
  try {
    if (fdKind(fd) === 'file') processNative().setNonBlocking(fd, false);
  } catch (err) {
    closeSync(fd);
    throw openFailed(err, field, path);
  }
  return fd;
}

async function openFifo(path: string, direction: StdioDirection, field: string): Promise<StdioInput | StdioOutput> {
  if (direction === 'out') {
    const fd = await openNonBlocking(path, constants.O_RDWR, field);
    return wrapFd(fd, 'out', field, path);
  }
  const reader = await openNonBlocking(path, constants.O_RDONLY, field);
  let keeper: number;
  try {
    keeper = await openNonBlocking(path, constants.O_WRONLY, field);
  } catch (err) {
    closeSync(reader);
    throw err;
  }
  try {
    return wrapFd(reader, 'in', field, path, keeper);
  } catch (err) {
    closeSync(keeper);
    throw err;
  }
}

async function openPath(path: string, direction: StdioDirection, field: string): Promise<StdioInput | StdioOutput> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw openFailed(err, field, path);
  }
  if (st.isFIFO()) return openFifo(path, direction, field);
  if (!st.isFile() && !st.isCharacterDevice()) {
    throw new StdioError('INVALID_ARGUMENT', field, `${path} is not a fifo or a file`);
  }
  const flags = direction === 'in' ? constants.O_RDONLY : constants.O_WRONLY | constants.O_APPEND;
  const fd = await openNonBlocking(path, flags, field);
  return wrapFd(fd, direction, field, path);
}

async function openLogFile(path: string, direction: StdioDirection, field: string): Promise<StdioInput | StdioOutput> {
  let flags: number = constants.O_RDONLY;
  if (direction === 'out') {
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    } catch (err) {
      throw openFailed(err, field, dirname(path));
    }
    flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
  }
  const fd = await openNonBlocking(path, flags, field, LOG_FILE_MODE);
  return wrapFd(fd, direction, field, path);
}

/**
 * Opens one stdio stream of a process from its URI: for 'in' (stdin) a
 * StdioInput to read the process's input from, for 'out' (stdout, stderr)
 * a StdioOutput to write its output to; null for "" (no stream). The caller
 * owns the stream: destroy it (or, for output, closeOutput() it) when done.
 */
export function openStdio(uri: string, direction: 'in', options?: OpenStdioOptions): Promise<StdioInput | null>;
export function openStdio(uri: string, direction: 'out', options?: OpenStdioOptions): Promise<StdioOutput | null>;
export async function openStdio(
  uri: string,
  direction: StdioDirection,
  options: OpenStdioOptions = {},
): Promise<StdioInput | StdioOutput | null> {
  const field = options.field ?? (direction === 'in' ? 'stdin' : 'stdout');
  const target = parseStdioUri(uri, field);
  switch (target.kind) {
    case 'none':
      return null;
    case 'path':
      return openPath(target.path, direction, field);
    case 'file':
      return openLogFile(target.path, direction, field);
    case 'fd': {
      const fd = takeProcessFd(target.pid, target.fd, field, uri);
      return wrapFd(fd, direction, field, uri);
    }
  }
}
