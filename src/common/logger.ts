// Structured JSON logging (pino). Every binary logs to stderr so that stdout
// stays free for command output.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level: string): Logger {
  // `dest: 2` rather than `fd: 2`: pino reads process.stdout.fd when `dest` is
  // missing, which creates process.stdout for nothing (slow in a TCG guest).
  return pino({ name, level, base: { pid: process.pid, name } }, pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything, for libraries used without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
