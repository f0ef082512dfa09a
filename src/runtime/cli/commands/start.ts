// `start ID`: runs the process of a created container, then the poststart hooks.
import type { Command } from 'commander';
import { loadContainer, withMonitor } from '../containers.js';
import { CliError } from '../context.js';
import { createdSpec, runHostHooks } from '../lifecycle.js';
import type { CommandRunner } from './types.js';

export function register(program: Command, run: CommandRunner): void {
  program
    .command('start')
    .description('start the process of a created container')
    .argument('<id>', 'container id')
    .action((id: string) =>
      run(async (ctx) => {
        const c = await loadContainer(ctx, id);
        if (c.state.status !== 'created') throw new CliError(`cannot start a container that is ${c.state.status}`);
        await withMonitor(c, (task) => task.start({ id }));
        const spec = await createdSpec(c);
        await runHostHooks(ctx, await loadContainer(ctx, id), spec, 'poststart').catch((err: unknown) =>
          ctx.logger.warn({ err }, 'poststart hook failed'),
        );
      }),
    );
}
