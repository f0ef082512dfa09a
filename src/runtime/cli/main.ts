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
import type { CommandRunner } from './commands/types.js';
import { DEFAULT_ROOT, makeContext, reportFailure, type Context, type GlobalOptions } from './context.js';

export { DEFAULT_ROOT };

interface CommandModule {
  register(program: Command, run: CommandRunner): void;
}

/**
 * Each command's module, loaded on demand: a command line names one
 * command, and loading only its module keeps start-up short (the others
 * pull in protobuf descriptors, schemas and the VM code).
 */
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  create: () => import('./commands/create.js'),
  start: () => import('./commands/start.js'),
  state: () => import('./commands/state.js'),
  kill: () => import('./commands/kill.js'),
  delete: () => import('./commands/delete.js'),
  run: () => import('./commands/run.js'),
  exec: () => import('./commands/exec.js'),
  ps: () => import('./commands/ps.js'),
  list: () => import('./commands/list.js'),
  ls: () => import('./commands/list.js'),
  pause: () => import('./commands/pause.js'),
  resume: () => import('./commands/pause.js'),
  update: () => import('./commands/update.js'),
  events: () => import('./commands/events.js'),
  spec: () => import('./commands/info.js'),
  features: () => import('./commands/info.js'),
  check: () => import('./commands/info.js'),
  env: () => import('./commands/info.js'),
  'wait-process': () => import('./commands/wait-process.js'),
};

/** Global options that take a value (to find the command name in argv). */
const VALUE_OPTIONS = new Set(['--root', '--log', '--log-format', '--config', '--criu', '--rootless']);

/** The command named in argv (after the global options), if any. */
export function commandName(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('-')) return a;
    if (VALUE_OPTIONS.has(a)) i++;
  }
  return undefined;
}

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
  // One command's module, or all of them (for help, or to report an unknown command).
  const name = commandName(argv.slice(2));
  const wanted = name !== undefined && COMMANDS[name] ? [COMMANDS[name]] : [...new Set(Object.values(COMMANDS))];
  const modules = new Set(await Promise.all(wanted.map((load) => load())));
  for (const m of modules) m.register(program, run);
  await program.parseAsync(argv);
}
