// What every command of the OCI command line shares: the global options
// (runc's: --root, --log, --log-format, --debug, --systemd-cgroup; ours:
// --config), the logger, and how a failure is reported.
//
// Failures follow runc: a message on stderr, exit status 1, and, when --log
// names a file, an error line there in logrus's JSON shape
// ({"level":"error","msg":...,"time":...}), which is where containerd's runc
// shim and conmon look for the reason a runtime command failed.
import { appendFileSync } from 'node:fs';
import { pino } from 'pino';
import type { Logger } from '../../common/logger.js';

export interface GlobalOptions {
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
  config?: string;
}

export const DEFAULT_ROOT = '/run/kata-ts';

/** A failure the user caused or can act on; its message is printed as is. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface Context {
  opts: GlobalOptions;
  logger: Logger;
}

export function makeContext(opts: GlobalOptions): Context {
  const level = opts.debug ? 'debug' : 'warn';
  const destination = opts.log ? pino.destination({ dest: opts.log, sync: true, append: true, mkdir: true }) : pino.destination({ fd: 2, sync: true });
  const logger = pino(
    {
      name: 'kata-ts-runtime',
      level,
      base: { pid: process.pid },
      // logrus's field names, which managers parse.
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
  return { opts, logger };
}

/** Reports a failure the way runc does and returns the exit status to use. */
export function reportFailure(ctx: Context | undefined, err: unknown): number {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`kata-ts-runtime: ${message}\n`);
  const log = ctx?.opts.log;
  if (log) {
    try {
      appendFileSync(log, `${JSON.stringify({ level: 'error', msg: message, time: new Date().toISOString() })}\n`);
    } catch {
      // the message is on stderr already
    }
  }
  if (!(err instanceof CliError)) ctx?.logger.debug({ err }, 'command failed');
  return err instanceof CliError ? err.exitCode : 1;
}
