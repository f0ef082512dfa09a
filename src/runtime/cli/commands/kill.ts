// `kill [--all] ID [SIGNAL]`: SIGNAL by name (TERM, SIGTERM) or number; default SIGTERM.
import type { Command } from 'commander';
import { constants } from 'node:os';
import { loadContainer, withMonitor } from '../containers.js';
import { CliError } from '../context.js';
import type { CommandRunner } from './types.js';

/** A signal name (with or without "SIG") or number, as its number. */
export function parseSignal(text: string): number {
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > 64) throw new CliError(`invalid signal ${JSON.stringify(text)}`);
    return n;
  }
  const upper = text.toUpperCase();
  const name = (upper.startsWith('SIG') ? upper : `SIG${upper}`) as keyof typeof constants.signals;
  const n = constants.signals[name];
  if (n === undefined) throw new CliError(`invalid signal ${JSON.stringify(text)}`);
  return n;
}

export function register(program: Command, run: CommandRunner): void {
  program
    .command('kill')
    .description('send a signal to the container\'s process (or to all its processes)')
    .argument('<id>', 'container id')
    .argument('[signal]', 'signal name or number', 'SIGTERM')
    .option('-a, --all', 'send it to every process in the container')
    .action((id: string, signal: string, o: { all?: boolean }) =>
      run(async (ctx) => {
        const number = parseSignal(signal);
        const c = await loadContainer(ctx, id);
        if (c.state.status === 'stopped' || !c.monitorAlive) throw new CliError('container not running');
        await withMonitor(c, (task) => task.kill({ id, signal: number, all: o.all === true }));
      }),
    );
}
