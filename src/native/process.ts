// Typed access to the process system calls of the native addon
// (native/src/process.c): subreaper mode, reaping by pid, pipes, fd passing,
// pty window size, entropy. Every call is synchronous and never blocks; errors
// are thrown as Errors with `code` ("ECHILD", "EAGAIN", ...), `errno` and
// `syscall`, like Node's system errors.

import { loadAddon } from './addon.js';

/** How a reaped child ended: exactly one of `code` and `signal` is a number. */
export interface NativeExit {
  pid: number;
  code: number | null;
  signal: number | null;
}

/** A message received from a Unix socket, with the descriptor it carried. */
export interface ReceivedFd {
  /** The first SCM_RIGHTS descriptor (close-on-exec), or -1 if none came. */
  fd: number;
  /** The payload bytes. Empty with fd -1 means the peer closed. */
  data: Buffer;
}

export interface ProcessNative {
  /** prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are re-parented to us. */
  setChildSubreaper(on: boolean): void;
  isChildSubreaper(): boolean;
  /** waitpid(pid, WNOHANG): null while the child runs; reaps it otherwise. Throws ECHILD if not our child. */
  waitPid(pid: number): NativeExit | null;
  /** waitid(P_ALL, WNOWAIT): pid of some exited, unreaped child (left waitable), or 0. */
  peekExitedChild(): number;
  /** pipe2(O_CLOEXEC): [readFd, writeFd]. */
  pipe(): [number, number];
  /** fcntl(F_DUPFD_CLOEXEC). */
  dup(fd: number): number;
  setNonBlocking(fd: number, on: boolean): void;
  /** recvmsg(MSG_DONTWAIT) on a Unix socket: null if nothing is waiting yet. */
  recvFd(socketFd: number): ReceivedFd | null;
  /** ioctl(TIOCSWINSZ). */
  setWindowSize(fd: number, rows: number, cols: number): void;
  /** ioctl(TIOCGWINSZ). */
  getWindowSize(fd: number): { rows: number; cols: number };
  /** ioctl(RNDADDENTROPY) on an open /dev/random. */
  addEntropy(fd: number, data: Buffer, entropyBits: number): void;
  /** ioctl(RNDRESEEDCRNG) on an open /dev/random. */
  reseedCrng(fd: number): void;
}

let cached: ProcessNative | undefined;

/** The process functions of the native addon (loaded on first use). */
export function processNative(): ProcessNative {
  cached ??= loadAddon() as unknown as ProcessNative;
  return cached;
}
