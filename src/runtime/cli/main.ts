// `kata-ts-runtime`: an OCI runtime command line (runc's commands and
// options) that runs each container in its own lightweight VM.
//
//   kata-ts-runtime [--root DIR] [--log FILE] [--log-format json] [--debug]
//                   [--config FILE] COMMAND ...
//
// Commands: create, start, state, kill, delete, run, exec, ps, list, pause,
// resume, update, events, spec, features, check, env. Failures print a
// message on stderr and exit with status 1 (as runc); `run` and `exec` in
// the foreground exit with the process's status.
import { Command, Option } from 'commander';
import { KATA_TS_VERSION } from '../../common/version.js';
import * as createCmd from './commands/create.js';
import * as deleteCmd from './commands/delete.js';
import * as eventsCmd from './commands/events.js';
import * as execCmd from './commands/exec.js';
import * as infoCmds from './commands/info.js';
import * as killCmd from './commands/kill.js';
import * as listCmd from './commands/list.js';
import * as pauseCmds from './commands/pause.js';
import * as psCmd from './commands/ps.js';
import * as runCmd from './commands/run.js';
import * as startCmd from './commands/start.js';
import * as stateCmd from './commands/state.js';
import type { CommandRunner } from './commands/types.js';
import * as updateCmd from './commands/update.js';
import * as waitProcessCmd from './commands/wait-process.js';
import { DEFAULT_ROOT, makeContext, reportFailure, type Context, type GlobalOptions } from './context.js';

export { DEFAULT_ROOT };

const COMMANDS = [createCmd, startCmd, stateCmd, killCmd, deleteCmd, runCmd, execCmd, psCmd, listCmd, pauseCmds, updateCmd, eventsCmd, infoCmds, waitProcessCmd];

export async function main(argv: string[]): Promise<void> {
  const program = new Command('kata-ts-runtime')
    .description('Runs OCI containers, each in its own lightweight VM (QEMU)')
    .version(`kata-ts-runtime version ${KATA_TS_VERSION}\nspec: 1.0.2`, '-v, --version')
    .option('--root <dir>', 'directory for container state', DEFAULT_ROOT)
    .option('--log <file>', 'log file (default: stderr)')
    .addOption(new Option('--log-format <format>', 'log format').choices(['text', 'json']).default('text'))
    .option('--debug', 'debug logging')
    .option('--systemd-cgroup', 'accepted for compatibility: cgroups are managed in the guest')
    .option('--config <file>', 'configuration file (default /etc/kata-ts/configuration.toml, if it exists)')
    .option('--criu <path>', 'accepted for compatibility (no checkpointing)')
    .option('--rootless <value>', 'accepted for compatibility')
    .showHelpAfterError()
    // As runc: options after the container id belong to the command run in it.
    .enablePositionalOptions();

  const run: CommandRunner = async (fn) => {
    let ctx: Context | undefined;
    try {
      const g = program.opts<GlobalOptions & { systemdCgroup?: boolean; debug?: boolean }>();
      ctx = makeContext({ ...g, debug: g.debug === true, systemdCgroup: g.systemdCgroup === true });
      const status = await fn(ctx);
      process.exitCode = typeof status === 'number' ? status & 0xff : 0;
    } catch (err) {
      process.exitCode = reportFailure(ctx, err);
    }
  };
  for (const cmd of COMMANDS) cmd.register(program, run);
  await program.parseAsync(argv);
}
