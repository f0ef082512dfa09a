// `delete [--force] ID`: removes a stopped (or created) container and runs
// its poststop hooks; --force also removes a running one.
import type { Command } from 'commander';
import { exists, loadContainer, validId } from '../containers.js';
import { CliError } from '../context.js';
import { createdSpec, forceRemove, runHostHooks } from '../lifecycle.js';
import type { CommandRunner } from './types.js';

export function register(program: Command, run: CommandRunner): void {
  program
    .command('delete')
    .description('delete a container and everything it holds')
    .argument('<id>', 'container id')
    .option('-f, --force', 'kill it first if it is still running')
    .action((id: string, o: { force?: boolean }) =>
      run(async (ctx) => {
        validId(id);
        if (!(await exists(ctx, id))) {
          if (o.force) return;
          throw new CliError(`container "${id}" does not exist`);
        }
        const c = await loadContainer(ctx, id);
        const status = c.state.status;
        if ((status === 'running' || status === 'paused') && !o.force) {
          throw new CliError(`cannot delete container ${id} that is not stopped: ${status}`);
        }
        const spec = await createdSpec(c).catch(() => undefined);
        await forceRemove(ctx, id);
        // The container is gone: the poststop hooks see it stopped.
        if (spec) {
          await runHostHooks(ctx, { id, state: { ...c.state, status: 'stopped' } }, spec, 'poststop').catch((err: unknown) =>
            ctx.logger.warn({ err }, 'poststop hook failed'),
          );
        }
      }),
    );
}
