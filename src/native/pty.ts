// Typed access to the host pty functions of the native addon
// (native/src/pty.c): creating a pty pair, putting a terminal in raw mode and
// back. The calls are synchronous and never block; errors are thrown as Errors
// with `code`, `errno` and `syscall`, like Node's system errors.

import { loadAddon } from './addon.js';

/** A new pty pair; both descriptors are close-on-exec and the caller owns them. */
export interface PtyPair {
  /** The master (what conmon or containerd's shim read and write). */
  master: number;
  /** The slave (the terminal the process would see). */
  slave: number;
  /** The slave's device path, e.g. /dev/pts/3. */
  path: string;
}

export interface PtyNative {
  /** posix_openpt + grantpt + unlockpt + ptsname_r + open(slave), all O_NOCTTY and O_CLOEXEC. */
  openPty(): PtyPair;
  /**
   * cfmakeraw() attributes on the terminal `fd` refers to (no echo, no line
   * editing, no byte translation). Returns the attributes it replaced (an
   * opaque struct termios) for setTerminalAttributes().
   */
  setRawMode(fd: number): Buffer;
  /** tcsetattr(TCSANOW) with attributes setRawMode() returned. */
  setTerminalAttributes(fd: number, saved: Buffer): void;
}

let cached: PtyNative | undefined;

/** The pty functions of the native addon (loaded on first use). */
export function ptyNative(): PtyNative {
  cached ??= loadAddon() as unknown as PtyNative;
  return cached;
}
