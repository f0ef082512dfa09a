// Typed access to the descriptor-passing functions of the native addon
// (native/src/fdpass.c): sending a descriptor to a Unix socket path (an OCI
// runtime's --console-socket) and taking a duplicate of another process's
// descriptor (pidfd_getfd). Errors are Errors with `code`, `errno` and
// `syscall`, like Node's system errors; bad arguments throw a TypeError.

import { loadAddon } from './addon.js';

/** What runc sends with the pty master, and sendFd's default payload. */
export const CONSOLE_SOCKET_PAYLOAD = '/dev/ptmx';

export interface FdPassNative {
  /**
   * Connects to the Unix stream socket at `socketPath` (at most 107 bytes),
   * sends a duplicate of `fd` with SCM_RIGHTS in one message whose bytes are
   * `payload` (default "/dev/ptmx", as runc; never empty), then closes the
   * connection. The caller keeps `fd`. Connect and send are bounded by
   * `timeoutMs` (default 5000, 0 for no bound; ETIMEDOUT after it). Runs in
   * the libuv pool.
   */
  sendFd(socketPath: string, fd: number, payload?: string | null, timeoutMs?: number): Promise<void>;
  /**
   * pidfd_open + pidfd_getfd: a new close-on-exec descriptor sharing the open
   * file description of descriptor `fd` of process `pid`. Throws ESRCH (no
   * such process), EBADF (no such descriptor), EPERM (no ptrace access) or
   * ENOSYS (Linux older than 5.6).
   */
  getFdOfProcess(pid: number, fd: number): number;
}

let cached: FdPassNative | undefined;

/** The descriptor-passing functions of the native addon (loaded on first use). */
export function fdPassNative(): FdPassNative {
  cached ??= loadAddon() as unknown as FdPassNative;
  return cached;
}
