// Following a terminal's window size. Nothing tells a process that a pty it
// does not control was resized (SIGWINCH goes to the terminal's foreground
// process group, which is not us), so the size is polled with TIOCGWINSZ,
// by default every 200 ms; the callback runs on each change. The timer does
// not keep the process alive.

import { closeSync } from 'node:fs';
import { processNative } from '../../native/process.js';

export interface WindowSize {
  rows: number;
  cols: number;
}

export const WINDOW_POLL_INTERVAL_MS = 200;

export interface WatchWindowSizeOptions {
  /** Polling period (default 200 ms). */
  intervalMs?: number;
  /** Called if the size can no longer be read (the watcher has then stopped). */
  onError?: (err: Error) => void;
}

export interface WindowSizeWatcher {
  /** The size last seen. */
  readonly size: WindowSize;
  /** Stops polling and releases the watcher's descriptor. Idempotent. */
  stop(): void;
}

/**
 * Polls the window size of the terminal `fd` refers to and calls `onChange`
 * with the new size whenever it differs from the last one seen (not for the
 * size at the start, which is `watcher.size`). Uses its own duplicate of
 * `fd`, so the caller may close `fd` at any time. Throws ENOTTY at once if
 * `fd` is not a terminal.
 */
export function watchWindowSize(
  fd: number,
  onChange: (size: WindowSize) => void,
  options: WatchWindowSizeOptions = {},
): WindowSizeWatcher {
  const native = processNative();
  const ownFd = native.dup(fd);
  let size: WindowSize;
  try {
    size = native.getWindowSize(ownFd);
  } catch (err) {
    closeSync(ownFd);
    throw err;
  }
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    closeSync(ownFd);
  };
  const timer = setInterval(() => {
    let now: WindowSize;
    try {
      now = native.getWindowSize(ownFd);
    } catch (err) {
      stop();
      options.onError?.(err as Error);
      return;
    }
    if (now.rows === size.rows && now.cols === size.cols) return;
    size = now;
    onChange({ ...now });
  }, options.intervalMs ?? WINDOW_POLL_INTERVAL_MS);
  timer.unref();
  return {
    get size() {
      return { ...size };
    },
    stop,
  };
}
