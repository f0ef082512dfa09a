// `run [--detach] [--bundle DIR] [--console-socket PATH] [--pid-file FILE] ID`:
// create + start; in the foreground it also waits, passes signals on, then
// deletes the container and exits with its status.
import type { Command } from 'commander';
import { constants } from 'node:os';
import { connectMonitor, loadContainer } from '../containers.js';
import { CliError, type Context } from '../context.js';
import { FORWARDED_SIGNALS, rawTerminal, waitForeground } from '../foreground.js';
import { createContainer, createdSpec, forceRemove, runHostHooks } from '../lifecycle.js';
import type { CommandRunner } from './types.js';

interface RunOptions {
  bundle: string;
  consoleSocket?: string;
  pidFile?: string;
  detach?: boolean;
}

export function register(program: Command, run: CommandRunner): void {
  program
    .command('run')
    .description('create and start a container; without --detach, wait for it and exit with its status')
    .argument('<id>', 'container id')
    .option('-b, --bundle <dir>', 'OCI bundle directory (holds config.json)', '.')
    .option('--console-socket <path>', 'unix socket that receives the pty master (process.terminal: true)')
    .option('--pid-file <file>', 'write the pid of the container\'s monitor there')
    .option('-d, --detach', 'return once the container runs')
    .option('--no-pivot', 'accepted for compatibility (the guest decides)')
    .option('--no-new-keyring', 'accepted for compatibility')
    .option('--preserve-fds <n>', 'accepted for compatibility; descriptors are not passed into a VM', '0')
    .action((id: string, o: RunOptions) => run((ctx) => runContainer(ctx, id, o)));
}

async function runContainer(ctx: Context, id: string, o: RunOptions): Promise<number> {
  // A signal before the container runs cancels the run.
  let cancelledBy: NodeJS.Signals | undefined;
  const onEarlySignal = (sig: NodeJS.Signals) => {
    cancelledBy ??= sig;
    loadContainer(ctx, id)
      .then((c) => c.monitorAlive && process.kill(c.state.monitorPid, 'SIGTERM'))
      .catch(() => {});
  };
  for (const sig of FORWARDED_SIGNALS) process.on(sig, onEarlySignal);
  let restore = () => {};
  try {
    try {
      await createContainer(ctx, {
        id,
        bundle: o.bundle,
        ownTerminal: !o.detach,
        ...(o.consoleSocket !== undefined ? { consoleSocket: o.consoleSocket } : {}),
        ...(o.pidFile !== undefined ? { pidFile: o.pidFile } : {}),
      });
    } catch (err) {
      if (cancelledBy) throw new CliError(`interrupted by ${cancelledBy}`, 128 + constants.signals[cancelledBy]);
      throw err;
    }
    if (cancelledBy) {
      await forceRemove(ctx, id);
      throw new CliError(`interrupted by ${cancelledBy}`, 128 + constants.signals[cancelledBy]);
    }
    const c = await loadContainer(ctx, id);
    const spec = await createdSpec(c);
    const terminal = spec.process?.terminal ?? false;
    const conn = await connectMonitor(c);
    try {
      for (const sig of FORWARDED_SIGNALS) process.off(sig, onEarlySignal);
      if (!o.detach && o.consoleSocket === undefined) restore = rawTerminal(terminal);
      await conn.task.start({ id });
      await runHostHooks(ctx, await loadContainer(ctx, id), spec, 'poststart').catch((err: unknown) => ctx.logger.warn({ err }, 'poststart hook failed'));
      if (o.detach) return 0;
      const status = await waitForeground(ctx, conn.task, id, '', async () => (await loadContainer(ctx, id)).state.exitStatus);
      restore();
      await forceRemove(ctx, id);
      await runHostHooks(ctx, { id, state: { ...c.state, status: 'stopped' } }, spec, 'poststop').catch((err: unknown) => ctx.logger.warn({ err }, 'poststop hook failed'));
      return status;
    } catch (err) {
      if (!o.detach) await forceRemove(ctx, id).catch(() => {});
      throw err;
    } finally {
      conn.close();
    }
  } finally {
    restore();
    for (const sig of FORWARDED_SIGNALS) process.off(sig, onEarlySignal);
  }
}
