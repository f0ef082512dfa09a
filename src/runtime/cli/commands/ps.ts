// `ps [--format table|json] ID`: the container's processes. They live in the
// guest, so the pids are the guest's: json gives them as an array (what
// containerd's runc shim reads); table adds a header line.
import type { Command } from 'commander';
import { loadContainer, withMonitor } from '../containers.js';
import { CliError } from '../context.js';
import type { CommandRunner } from './types.js';

export function register(program: Command, run: CommandRunner): void {
  program
    .command('ps')
    .description('list the processes running in a container (guest pids)')
    .passThroughOptions()
    .argument('<id>', 'container id')
    .argument('[ps-args...]', 'accepted for compatibility')
    .option('-f, --format <format>', 'table or json', 'table')
    .action((id: string, _args: string[], o: { format: string }) =>
      run(async (ctx) => {
        if (o.format !== 'table' && o.format !== 'json') throw new CliError(`invalid format option ${JSON.stringify(o.format)}`);
        const c = await loadContainer(ctx, id);
        if (c.state.status === 'stopped' || c.state.status === 'creating') throw new CliError(`container "${id}" is ${c.state.status}`);
        const { processes } = await withMonitor(c, (task) => task.pids({ id }));
        const pids = processes.map((p) => p.pid);
        if (o.format === 'json') process.stdout.write(`${JSON.stringify(pids)}\n`);
        else process.stdout.write(`PID\n${pids.map((p) => `${p}\n`).join('')}`);
      }),
    );
}
