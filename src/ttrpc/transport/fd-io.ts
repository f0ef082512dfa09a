// Reading and writing raw file descriptors through libuv's thread pool, for
// endpoints Node cannot wrap in a net.Socket (AF_VSOCK sockets, character
// devices such as virtio-serial ports).

import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** True for the "try again later" errors of a non-blocking descriptor. */
export function isWouldBlock(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

/** One read() into `buf` at the current position; resolves with the byte count (0 at end of input). */
export function readFd(fd: number, buf: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, 0, buf.length, null, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/**
 * Writes all of `data`, continuing after partial writes. On a non-blocking
 * descriptor that is full, waits `retryDelayMs` and tries again.
 */
export async function writeAllFd(fd: number, data: Uint8Array, retryDelayMs = 5): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += await new Promise<number>((resolve, reject) => {
        fs.write(fd, data, offset, data.length - offset, null, (err, n) => (err ? reject(err) : resolve(n)));
      });
    } catch (err) {
      if (!isWouldBlock(err) && (err as NodeJS.ErrnoException).code !== 'EINTR') throw err;
      await sleep(retryDelayMs);
    }
  }
}
