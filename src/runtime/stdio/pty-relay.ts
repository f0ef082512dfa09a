// The host end of a container terminal for the OCI CLI's --console-socket.
// The CLI creates a host pty pair, sends the master to the caller (conmon,
// containerd's runc shim) and hands the slave to the container's monitor,
// which relays between that slave and the terminal the agent made for the
// process inside the guest:
//
//   caller <-> master | host slave <-> relay <-> agent <-> guest pty <-> process
//
// The guest pty already echoes, edits lines and translates newlines, so the
// host slave is put in raw mode: otherwise what the user types would be
// echoed twice and "\n" become "\r\r\n". Its previous mode is put back on
// close(), which matters when the terminal is a user's own rather than a
// pty made for the container. The relay exposes:
//   input    what the user types (read from the slave), for WriteStdin
//   output   the process's terminal output (written to the slave)
//   window size, read or watched, for TtyWinResize
//
// The slave is used through three descriptors: one for reading (a
// tty.ReadStream), one for writing (FdWritable on a private, non-blocking
// reopening of the terminal: the original open file description may be
// shared with a shell, which must not find it non-blocking) and the relay's
// own for window sizes and modes, so that ending the output does not take
// the window size away and no descriptor number is used after it closed.

import { closeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { ptyNative } from '../../native/pty.js';
import { processNative } from '../../native/process.js';
import { StdioError } from './errors.js';
import { privateTerminalWriter, terminalReadStream } from './fd-streams.js';
import { FdWritable } from './fd-writer.js';
import { StdioInput } from './input.js';
import { StdioOutput } from './output.js';
import { watchWindowSize, type WatchWindowSizeOptions, type WindowSize, type WindowSizeWatcher } from './window-size.js';

export interface PtyRelay {
  /** What the user types on the terminal. Ends when the terminal's master side is closed. */
  readonly input: StdioInput;
  /** The process's terminal output. End it (closeOutput) when the process's output ends. */
  readonly output: StdioOutput;
  /** The slave's window size now. */
  windowSize(): WindowSize;
  /** Calls `onChange` on each change of the window size (polled; see window-size.ts); stopped by close(). */
  watchWindowSize(onChange: (size: WindowSize) => void, options?: WatchWindowSizeOptions): WindowSizeWatcher;
  /**
   * Releases everything: streams, watchers, descriptors. Idempotent. The
   * promise (which never rejects) settles once every descriptor is closed;
   * a write in progress holds its own until it returns.
   */
  close(): Promise<void>;
}

/**
 * Relays the pty slave `slaveFd`, which it takes over. Switches the
 * terminal to raw mode. Throws StdioError INVALID_ARGUMENT (field
 * "terminal" unless told) if `slaveFd` is not a terminal.
 */
export function openPtyRelay(slaveFd: number, field = 'terminal'): PtyRelay {
  const native = processNative();
  const fds: number[] = [slaveFd];
  try {
    if (!isatty(slaveFd)) throw new StdioError('INVALID_ARGUMENT', field, `descriptor ${slaveFd} is not a terminal`);
    const readFd = native.dup(slaveFd);
    fds.push(readFd);
    const writeFd = privateTerminalWriter(native.dup(slaveFd));
    fds.push(writeFd);
    const savedMode = ptyNative().setRawMode(slaveFd);
    // From here each descriptor belongs to its stream.
    const input = new StdioInput(terminalReadStream(readFd));
    const output = new StdioOutput(new FdWritable(writeFd));
    return new Relay(slaveFd, savedMode, input, output);
  } catch (err) {
    for (const fd of fds) closeSync(fd);
    throw err;
  }
}

class Relay implements PtyRelay {
  private controlFd: number | undefined;
  private readonly watchers = new Set<WindowSizeWatcher>();

  constructor(
    controlFd: number,
    private readonly savedMode: Buffer,
    readonly input: StdioInput,
    readonly output: StdioOutput,
  ) {
    this.controlFd = controlFd;
  }

  private fd(): number {
    if (this.controlFd === undefined) throw new StdioError('FAILED_PRECONDITION', 'terminal', 'the terminal relay is closed');
    return this.controlFd;
  }

  windowSize(): WindowSize {
    return processNative().getWindowSize(this.fd());
  }

  watchWindowSize(onChange: (size: WindowSize) => void, options: WatchWindowSizeOptions = {}): WindowSizeWatcher {
    const watcher = watchWindowSize(this.fd(), onChange, options);
    this.watchers.add(watcher);
    return {
      get size() {
        return watcher.size;
      },
      stop: () => {
        watcher.stop();
        this.watchers.delete(watcher);
      },
    };
  }

  close(): Promise<void> {
    for (const w of this.watchers) w.stop();
    this.watchers.clear();
    const fd = this.controlFd;
    this.controlFd = undefined;
    if (fd !== undefined) {
      try {
        ptyNative().setTerminalAttributes(fd, this.savedMode);
      } catch {
        // A terminal that is gone (hung up) has no mode to restore.
      }
      closeSync(fd);
    }
    return Promise.all([closed(this.input), closed(this.output)]).then(() => undefined);
  }
}

/** Destroys `stream` and settles once it emitted 'close'. */
function closed(stream: StdioInput | StdioOutput): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    stream.once('close', () => resolve());
    stream.destroy();
  });
}
