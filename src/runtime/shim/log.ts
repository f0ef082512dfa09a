// The shim daemon's log. containerd creates a fifo named `log` in the
// bundle and copies whatever arrives there to its own output; `start` hands
// the daemon that fifo as its stderr. Lines are pino's JSON. A write that
// fails (containerd gone, the fifo closed) is dropped: losing a log line must
// never stop the shim.
import { writeSync } from 'node:fs';
import { pino } from 'pino';
import type { Logger } from '../../common/logger.js';

export const SHIM_NAME = 'containerd-shim-kata-ts-v2';

function writeAll(fd: number, line: string): void {
  const buf = Buffer.from(line);
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off);
}

export function shimLogger(level: string, fd = 2): Logger {
  return pino(
    { name: SHIM_NAME, level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    {
      write(line: string) {
        try {
          writeAll(fd, line);
        } catch {
          // nobody reads the log any more
        }
      },
    },
  );
}
