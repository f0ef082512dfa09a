// `create [--bundle DIR] [--console-socket PATH] [--pid-file FILE] ID`
import type { Command } from 'commander';
import { createContainer } from '../lifecycle.js';
import type { CommandRunner } from './types.js';

export function register(program: Command, run: CommandRunner): void {
  program
    .command('create')
    .description('create a container: boot its VM and set it up; its process waits for `start`')
    .argument('<id>', 'container id')
    .option('-b, --bundle <dir>', 'OCI bundle directory (holds config.json)', '.')
    .option('--console-socket <path>', 'unix socket that receives the pty master (process.terminal: true)')
    .option('--pid-file <file>', 'write the pid of the container\'s monitor there')
    .option('--no-pivot', 'accepted for compatibility (the guest decides)')
    .option('--no-new-keyring', 'accepted for compatibility')
    .option('--preserve-fds <n>', 'accepted for compatibility; descriptors are not passed into a VM', '0')
    .action((id: string, o: { bundle: string; consoleSocket?: string; pidFile?: string }) =>
      run(async (ctx) => {
        await createContainer(ctx, {
          id,
          bundle: o.bundle,
          ...(o.consoleSocket !== undefined ? { consoleSocket: o.consoleSocket } : {}),
          ...(o.pidFile !== undefined ? { pidFile: o.pidFile } : {}),
        });
      }),
    );
}
