// `exec [options] ID [COMMAND ARGS...]` or `exec --process FILE ID`: runs
// another process in a running container. In the foreground it waits and
// exits with the process's status; with --detach it returns once the
// process runs, leaving a stand-in process (whose pid --pid-file gets) that
// exits with the process's status, for managers that wait on a pid.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Process } from '../../../oci/spec.js';
import { EXEC_OWNER_METADATA, OCI_PROCESS_TYPE_URL, packJsonAny } from '../../task/task-service.js';
import { connectMonitor, loadContainer, type Container } from '../containers.js';
import { CliError, type Context } from '../context.js';
import { rawTerminal, waitForeground } from '../foreground.js';
import { createdSpec, ourFd, sendConsole, writePidFile, type ConsolePty } from '../lifecycle.js';
import type { CommandRunner } from './types.js';

interface ExecOptions {
  process?: string;
  tty?: boolean;
  detach?: boolean;
  cwd?: string;
  env: string[];
  user?: string;
  additionalGids: string[];
  cap: string[];
  pidFile?: string;
  consoleSocket?: string;
  noNewPrivs?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command, run: CommandRunner): void {
  program
    .command('exec')
    .description('run a process in a running container')
    .passThroughOptions()
    .argument('<id>', 'container id')
    .argument('[command...]', 'the command and its arguments (unless --process)')
    .option('-p, --process <file>', 'an OCI process JSON file describing the process')
    .option('-t, --tty', 'give the process a terminal')
    .option('-d, --detach', 'return once the process runs')
    .option('--cwd <dir>', 'working directory in the container')
    .option('-e, --env <VAR=value>', 'an environment variable (repeatable)', collect, [])
    .option('-u, --user <uid[:gid]>', 'user (and group) to run as')
    .option('-g, --additional-gids <gid>', 'an additional group (repeatable)', collect, [])
    .option('-c, --cap <capability>', 'an additional capability (repeatable)', collect, [])
    .option('--pid-file <file>', 'write a pid that represents the process there')
    .option('--console-socket <path>', 'unix socket that receives the pty master (with --tty)')
    .option('--no-new-privs', 'set no_new_privileges')
    .option('--process-label <label>', 'accepted for compatibility (no SELinux in the guest)')
    .option('--apparmor <profile>', 'accepted for compatibility (no AppArmor in the guest)')
    .option('--preserve-fds <n>', 'accepted for compatibility; descriptors are not passed into a VM', '0')
    .option('--ignore-paused', 'accepted for compatibility')
    .action((id: string, command: string[], o: ExecOptions) => run((ctx) => execProcess(ctx, id, command, o)));
}

/** The process to run: --process's file, or the container's process with our changes (as runc). */
async function buildProcess(ctx: Context, c: Container, command: string[], o: ExecOptions): Promise<Process> {
  if (o.process !== undefined) {
    if (command.length > 0) throw new CliError('exec: give either --process or a command, not both');
    try {
      return JSON.parse(await readFile(o.process, 'utf8')) as Process;
    } catch (err) {
      throw new CliError(`exec: --process ${o.process}: ${(err as Error).message}`);
    }
  }
  if (command.length === 0) throw new CliError('exec: a command is required (or --process)');
  const spec = await createdSpec(c);
  const base = spec.process!;
  const p: Process = { ...base, args: command, terminal: o.tty === true, cwd: o.cwd ?? base.cwd, env: [...(base.env ?? []), ...o.env] };
  if (o.user !== undefined) {
    const m = /^([0-9]+)(?::([0-9]+))?$/.exec(o.user);
    if (!m) throw new CliError(`exec: --user ${JSON.stringify(o.user)}: expected uid[:gid] (numbers)`);
    p.user = { uid: Number(m[1]), gid: m[2] !== undefined ? Number(m[2]) : 0 };
  }
  if (o.additionalGids.length > 0) {
    p.user = { ...(p.user ?? { uid: 0, gid: 0 }), additionalGids: o.additionalGids.map((g) => Number(g)) };
  }
  if (o.cap.length > 0 && p.capabilities) {
    const add = (list: string[] | undefined) => [...new Set([...(list ?? []), ...o.cap])];
    p.capabilities = { ...p.capabilities, bounding: add(p.capabilities.bounding), effective: add(p.capabilities.effective), permitted: add(p.capabilities.permitted) };
  }
  if (o.noNewPrivs) p.noNewPrivileges = true;
  ctx.logger.debug({ process: p }, 'exec process');
  return p;
}

async function execProcess(ctx: Context, id: string, command: string[], o: ExecOptions): Promise<number> {
  const c = await loadContainer(ctx, id);
  if (c.state.status !== 'running') throw new CliError(`cannot exec in a container that is ${c.state.status}`);
  const proc = await buildProcess(ctx, c, command, o);
  const terminal = proc.terminal ?? false;
  if (o.consoleSocket !== undefined && !terminal) throw new CliError('cannot use console socket if the process does not have a terminal');
  if (terminal && o.detach && o.consoleSocket === undefined) throw new CliError('cannot allocate tty if kata-ts-runtime will detach without setting console socket');

  const execId = `exec-${randomBytes(8).toString('hex')}`;
  let pty: ConsolePty | undefined;
  let io = { stdin: ourFd(0), stdout: ourFd(1), stderr: ourFd(2), terminal };
  const conn = await connectMonitor(c);
  let restore = () => {};
  try {
    if (o.consoleSocket !== undefined) {
      pty = await sendConsole(o.consoleSocket);
      io = { stdin: pty.slaveUri, stdout: pty.slaveUri, stderr: '', terminal: true };
    } else if (terminal) {
      io = { ...io, stderr: '' };
    }
    await conn.task.exec({ id, execId, ...io, spec: packJsonAny(OCI_PROCESS_TYPE_URL, proc) });
    if (!o.detach && o.consoleSocket === undefined) restore = rawTerminal(terminal);
    // Detached, a process of ours stands for the exec; it exists before the
    // exec starts, so that the monitor can watch it from the start.
    const standIn = o.detach ? spawnStandIn(ctx, id, execId) : undefined;
    try {
      await conn.task.start({ id, execId }, { metadata: { [EXEC_OWNER_METADATA]: String(standIn ?? process.pid) } });
    } catch (err) {
      if (standIn !== undefined) process.kill(standIn, 'SIGKILL');
      throw err;
    }
    if (pty) {
      closeSync(pty.master);
      closeSync(pty.slave);
      pty = undefined;
    }
    if (standIn !== undefined) {
      if (o.pidFile !== undefined) writePidFile(o.pidFile, standIn);
      return 0;
    }
    if (o.pidFile !== undefined) writePidFile(o.pidFile, process.pid);
    const status = await waitForeground(ctx, conn.task, id, execId);
    await conn.task.delete({ id, execId }).catch(() => {});
    return status;
  } catch (err) {
    const e = err as { message?: string };
    throw err instanceof CliError ? err : new CliError(`exec failed: ${e.message ?? String(err)}`);
  } finally {
    restore();
    if (pty) {
      closeSync(pty.master);
      closeSync(pty.slave);
    }
    conn.close();
  }
}

/**
 * A detached process of ours that waits for the exec and exits with its
 * status: `kata-ts-runtime wait-process` (a hidden command).
 */
function spawnStandIn(ctx: Context, id: string, execId: string): number {
  const globals = ['--root', ctx.opts.root, ...(ctx.opts.log ? ['--log', ctx.opts.log] : []), ...(ctx.opts.debug ? ['--debug'] : [])];
  const child = spawn(process.execPath, [process.argv[1]!, ...globals, 'wait-process', id, execId], { detached: true, stdio: 'ignore' });
  child.unref();
  if (child.pid === undefined) throw new CliError('could not start the process that stands in for the exec');
  return child.pid;
}
