// Structured JSON logging (pino). Every binary logs to stderr so that stdout
// stays free for command output.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, base: { pid: process.pid, name } }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that drops everything, for libraries used without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
