// `state ID`: the OCI state document (JSON) of a container.
import type { Command } from 'commander';
import { loadContainer, ociState } from '../containers.js';
import type { CommandRunner } from './types.js';

export function register(program: Command, run: CommandRunner): void {
  program
    .command('state')
    .description('print the state of a container as JSON')
    .argument('<id>', 'container id')
    .action((id: string) =>
      run(async (ctx) => {
        const c = await loadContainer(ctx, id);
        const s = ociState(c);
        // As runc: pid 0 once there is no process, and the rootfs path.
        const doc = { ...s, pid: s.pid ?? 0, rootfs: c.state.rootfs };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      }),
    );
}
