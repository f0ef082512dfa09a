// `wait-process ID EXEC_ID` (hidden): waits for an exec started with
// `exec --detach`, removes it from the monitor, and exits with its status.
// It is the pid `exec --detach --pid-file` reports, so managers signal it:
// the signals it can catch are passed on to the exec, and if it is killed
// (SIGKILL) the monitor, which watches it, kills the exec.
import type { Command } from 'commander';
import { constants } from 'node:os';
import { loadContainer, withMonitor } from '../containers.js';
import { FORWARDED_SIGNALS } from '../foreground.js';
import type { CommandRunner } from './types.js';

/** The status reported when the exec's end could not be learned (the monitor went away). */
const UNKNOWN_EXIT = 255;

export function register(program: Command, run: CommandRunner): void {
  program
    .command('wait-process', { hidden: true })
    .argument('<id>')
    .argument('<exec-id>')
    .action((id: string, execId: string) =>
      run(async (ctx) => {
        try {
          const c = await loadContainer(ctx, id);
          return await withMonitor(c, async (task) => {
            for (const sig of FORWARDED_SIGNALS) {
              process.on(sig, () => void task.kill({ id, execId, signal: constants.signals[sig], all: false }).catch(() => {}));
            }
            const { exitStatus } = await task.wait({ id, execId });
            await task.delete({ id, execId }).catch(() => {});
            return exitStatus;
          });
        } catch (err) {
          ctx.logger.warn({ err }, 'waiting for the exec failed');
          return UNKNOWN_EXIT;
        }
      }),
    );
}
