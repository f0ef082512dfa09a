// `pause ID` and `resume ID`: freeze and thaw every process of a container.
import type { Command } from 'commander';
import { loadContainer, withMonitor } from '../containers.js';
import { CliError } from '../context.js';
import type { CommandRunner } from './types.js';

export function register(program: Command, run: CommandRunner): void {
  program
    .command('pause')
    .description('suspend every process in the container')
    .argument('<id>', 'container id')
    .action((id: string) =>
      run(async (ctx) => {
        const c = await loadContainer(ctx, id);
        if (c.state.status !== 'running') throw new CliError(`container "${id}" is not running (${c.state.status})`);
        await withMonitor(c, (task) => task.pause({ id }));
      }),
    );
  program
    .command('resume')
    .description('resume every process of a paused container')
    .argument('<id>', 'container id')
    .action((id: string) =>
      run(async (ctx) => {
        const c = await loadContainer(ctx, id);
        if (c.state.status !== 'paused') throw new CliError(`container "${id}" is not paused (${c.state.status})`);
        await withMonitor(c, (task) => task.resume({ id }));
      }),
    );
}
