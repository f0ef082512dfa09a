// The monitor process's entry point (started by `kata-ts-runtime create`,
// never by hand). Arguments: one JSON object (MonitorArgs). Its stderr is
// the log file; fd 3 is a pipe on which it says "ready" once it listens (or
// "error: ..." and exits).
import { createWriteStream } from 'node:fs';
import { createLogger } from '../../common/logger.js';
import { loadConfig } from '../config/load.js';
import { openTaskIo } from '../task/open-io.js';
import { Monitor } from './monitor.js';

export interface MonitorArgs {
  root: string;
  id: string;
  configPath?: string;
  hostname?: string;
  creatorPid: number;
  logLevel: string;
}

const READY_FD = 3;

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as MonitorArgs;
  const logger = createLogger('kata-ts-monitor', args.logLevel).child({ container: args.id });
  const ready = createWriteStream('', { fd: READY_FD });
  ready.on('error', () => {});
  let monitor: Monitor | undefined;
  try {
    const config = await loadConfig(args.configPath);
    monitor = new Monitor({
      root: args.root,
      id: args.id,
      config,
      ...(args.hostname ? { hostname: args.hostname } : {}),
      creatorPid: args.creatorPid,
      openIo: openTaskIo,
      logger,
      exit: (status) => {
        logger.flush?.();
        process.exit(status);
      },
    });
    await monitor.start();
  } catch (err) {
    logger.error({ err }, 'monitor failed to start');
    ready.end(`error: ${(err as Error).message}\n`, () => process.exit(1));
    return;
  }
  const m = monitor;
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => void m.finish(128 + (sig === 'SIGTERM' ? 15 : sig === 'SIGINT' ? 2 : 1), `${sig} received`));
  }
  // A monitor must not die of a closed stdio pipe.
  process.on('SIGPIPE', () => {});
  ready.end('ready\n');
}

void main();
