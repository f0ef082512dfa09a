// Helpers for tests on real descriptors: reading what a descriptor has to
// offer without ever blocking the test process, and listing our open
// descriptors to check that nothing leaked.

import { readdirSync, readSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Reads the non-blocking descriptor `fd` until `done(bytes so far)` holds,
 * polling on EAGAIN; gives up after `limitMs` (a safety net, not a timing
 * assertion) and returns what came. EIO (a pty whose other side is closed)
 * ends the read too.
 */
export async function readUntil(fd: number, done: (got: Buffer) => boolean, limitMs = 10_000): Promise<Buffer> {
  const parts: Buffer[] = [];
  const buf = Buffer.alloc(64 * 1024);
  const giveUpAt = Date.now() + limitMs;
  for (;;) {
    const got = Buffer.concat(parts);
    if (done(got)) return got;
    let n = 0;
    try {
      n = readSync(fd, buf);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EIO') return got;
      if (code !== 'EAGAIN') throw err;
    }
    if (n > 0) parts.push(Buffer.from(buf.subarray(0, n)));
    else if (Date.now() > giveUpAt) return got;
    else await sleep(2);
  }
}

/** Reads `fd` until at least `length` bytes came. */
export function readBytes(fd: number, length: number, limitMs?: number): Promise<Buffer> {
  return readUntil(fd, (got) => got.length >= length, limitMs);
}

/** The error a read of `fd` gives now (EAGAIN: nothing to read; EIO: other side closed), or 'data'. */
export function readState(fd: number): string {
  try {
    return readSync(fd, Buffer.alloc(16)) > 0 ? 'data' : 'eof';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'error';
  }
}

/** Our open descriptor numbers. */
export function openFds(): Set<number> {
  return new Set(readdirSync('/proc/self/fd').map(Number));
}

/** Descriptors open now that were not in `before` (Node's own come and go: callers compare around closed streams). */
export function newFds(before: Set<number>): number[] {
  return [...openFds()].filter((fd) => !before.has(fd));
}
