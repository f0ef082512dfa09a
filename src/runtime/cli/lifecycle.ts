// Creating and removing containers: the steps `create`, `run` and `delete`
// share.
//
// create: the state directory and file, then the monitor (a detached
// process that boots the VM and serves the task API), then Create with our
// stdio handed over (the monitor takes duplicates of our descriptors by pid
// and number: fd://<pid>/<n>), then the prestart and createRuntime hooks,
// then the pid file. Any failure undoes all of it.
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { fdPassNative } from '../../native/fdpass.js';
import { ptyNative } from '../../native/pty.js';
import type { Spec } from '../../oci/spec.js';
import { Code, isTtrpcError } from '../../ttrpc/index.js';
import { loadConfig } from '../config/load.js';
import { hooksOfKind, runHooks, type HookKind } from '../oci/hooks.js';
import { removeVmLeftovers } from '../monitor/cleanup.js';
import { containerPaths } from '../monitor/layout.js';
import type { MonitorArgs } from '../monitor/main.js';
import { monitorAlive, processStartTime, writeStateFile, type ContainerStateRecord } from '../monitor/state-file.js';
import { BundleError, loadBundle } from './bundle.js';
import { connectMonitor, loadContainer, ociState, validId, type Container } from './containers.js';
import { CliError, type Context } from './context.js';

/** The copy of the spec kept in the state directory at create. */
export const CREATED_SPEC_FILE = 'config.json';

/** The container's spec as it was created (not the bundle's config.json, which may have changed since). */
export async function createdSpec(c: Pick<Container, 'paths'>): Promise<Spec> {
  return (await loadBundle(c.paths.stateDir)).spec;
}

const MONITOR_MAIN = fileURLToPath(new URL('../monitor/main.js', import.meta.url));
/** How long a monitor gets to stop on its own before it is killed. */
const MONITOR_STOP_MS = 30_000;

export interface CreateOptions {
  id: string;
  bundle: string;
  consoleSocket?: string;
  pidFile?: string;
  /**
   * For a terminal process without a console socket (a foreground `run`):
   * our own terminal is the container's.
   */
  ownTerminal?: boolean;
}

/** fd://<our pid>/<fd>, or "" when we do not have that descriptor open. */
export function ourFd(fd: number): string {
  try {
    fstatSync(fd);
  } catch {
    return '';
  }
  return `fd://${process.pid}/${fd}`;
}

export interface ConsolePty {
  master: number;
  slave: number;
  /** The slave as a stdio URI for the monitor (fd://<our pid>/<slave>). */
  slaveUri: string;
}

/**
 * --console-socket: a new host pty whose master goes to the socket (as runc
 * sends it) and whose slave, in raw mode (the guest's pty does the line
 * discipline), the monitor relays. The caller closes both descriptors.
 */
export async function sendConsole(consoleSocket: string): Promise<ConsolePty> {
  const pty = ptyNative().openPty();
  try {
    ptyNative().setRawMode(pty.slave);
    await fdPassNative().sendFd(resolve(consoleSocket), pty.master);
  } catch (err) {
    closeSync(pty.master);
    closeSync(pty.slave);
    throw new CliError(`--console-socket ${consoleSocket}: ${(err as Error).message}`);
  }
  return { master: pty.master, slave: pty.slave, slaveUri: `fd://${process.pid}/${pty.slave}` };
}

/** Writes a pid file the way runc does: a temporary file renamed into place. */
export function writePidFile(file: string, pid: number): void {
  const abs = resolve(file);
  const tmp = join(dirname(abs), `.${process.pid}.pid.tmp`);
  writeFileSync(tmp, String(pid));
  renameSync(tmp, abs);
}

/** Waits for the monitor's "ready" (or its error) on fd 3. */
function monitorReady(child: ReturnType<typeof spawn>): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    let text = '';
    pipe.setEncoding('utf8');
    pipe.on('data', (d: string) => (text += d));
    pipe.on('end', () => {
      if (text.startsWith('ready')) resolvePromise();
      else reject(new CliError(text.startsWith('error: ') ? text.slice(7).trim() : 'the monitor exited before it was ready'));
    });
  });
}

export async function createContainer(ctx: Context, o: CreateOptions): Promise<Container> {
  validId(o.id);
  let bundle;
  try {
    bundle = await loadBundle(o.bundle);
  } catch (err) {
    if (err instanceof BundleError) throw new CliError(err.message);
    throw err;
  }
  const spec = bundle.spec;
  const terminal = spec.process?.terminal ?? false;
  if (o.consoleSocket !== undefined && !terminal) throw new CliError('cannot use console socket if the process does not have a terminal (process.terminal is false)');
  if (terminal && o.consoleSocket === undefined && !o.ownTerminal) throw new CliError('cannot allocate tty if kata-ts-runtime will detach without setting console socket');
  // A configuration error is reported before anything exists.
  await loadConfig(ctx.opts.config).catch((err: unknown) => {
    throw new CliError((err as Error).message);
  });

  const paths = containerPaths(ctx.opts.root, o.id);
  await mkdir(ctx.opts.root, { recursive: true, mode: 0o711 });
  try {
    await mkdir(paths.stateDir, { mode: 0o711 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`container with id exists: ${o.id}`);
    throw err;
  }

  let monitorPid = 0;
  let monitor: ReturnType<typeof spawn> | undefined;
  let pty: ConsolePty | undefined;
  try {
    // The spec as it was at create: later changes to the bundle's config.json
    // must not affect the container (start, exec and the hooks read this copy).
    writeFileSync(join(paths.stateDir, CREATED_SPEC_FILE), JSON.stringify(spec));
    const logFd = openSync(paths.monitorLog, 'a', 0o600);
    const args: MonitorArgs = {
      root: resolve(ctx.opts.root),
      id: o.id,
      ...(ctx.opts.config ? { configPath: resolve(ctx.opts.config) } : {}),
      ...(spec.hostname ? { hostname: spec.hostname } : {}),
      creatorPid: process.pid,
      logLevel: ctx.opts.debug ? 'debug' : 'info',
    };
    const child = spawn(process.execPath, [MONITOR_MAIN, JSON.stringify(args)], { detached: true, stdio: ['ignore', 'ignore', logFd, 'pipe'] });
    monitor = child;
    closeSync(logFd);
    monitorPid = child.pid ?? 0;
    child.unref();
    const record: ContainerStateRecord = {
      id: o.id,
      bundle: bundle.dir,
      rootfs: resolve(bundle.dir, spec.root!.path),
      status: 'creating',
      monitorPid,
      monitorStartTime: processStartTime(monitorPid) ?? '',
      created: new Date().toISOString(),
      annotations: spec.annotations ?? {},
      ...(ctx.opts.config ? { configPath: resolve(ctx.opts.config) } : {}),
    };
    writeStateFile(paths.stateFile, record);
    await monitorReady(child);
    (child.stdio[3] as NodeJS.ReadableStream & { destroy(): void }).destroy();

    let io = { stdin: ourFd(0), stdout: ourFd(1), stderr: ourFd(2), terminal };
    if (o.consoleSocket !== undefined) {
      pty = await sendConsole(o.consoleSocket);
      io = { stdin: pty.slaveUri, stdout: pty.slaveUri, stderr: '', terminal: true };
    } else if (terminal) {
      io = { stdin: ourFd(0), stdout: ourFd(1), stderr: '', terminal: true };
    }
    const container = await loadContainer(ctx, o.id);
    const conn = await connectMonitor(container);
    try {
      await conn.task.create({ id: o.id, bundle: bundle.dir, ...io });
    } catch (err) {
      throw new CliError(isTtrpcError(err) ? err.message : (err as Error).message);
    } finally {
      conn.close();
    }
    const created = await loadContainer(ctx, o.id);
    await runHostHooks(ctx, created, spec, 'prestart');
    await runHostHooks(ctx, created, spec, 'createRuntime');
    if (o.pidFile !== undefined) writePidFile(o.pidFile, monitorPid);
    return created;
  } catch (err) {
    // Without a state file (it could not be written) forceRemove cannot
    // find the monitor: stop it here first (its VM dies with it).
    if (monitor && monitor.exitCode === null && monitor.signalCode === null) {
      monitor.kill('SIGTERM');
      const gone = await Promise.race([new Promise((r) => monitor!.once('exit', r)), sleep(MONITOR_STOP_MS).then(() => null)]);
      if (gone === null) monitor.kill('SIGKILL');
    }
    await forceRemove(ctx, o.id).catch((e: unknown) => ctx.logger.warn({ err: e }, 'cleanup after a failed create'));
    throw err;
  } finally {
    if (pty) {
      closeSync(pty.master);
      closeSync(pty.slave);
    }
  }
}

/** Runs the host-side hooks of one kind with the container's current state. */
export async function runHostHooks(ctx: Context, c: Pick<Container, 'id' | 'state'>, spec: Spec, kind: HookKind): Promise<void> {
  const hooks = hooksOfKind(spec.hooks, kind);
  if (hooks.length === 0) return;
  try {
    await runHooks(hooks, ociState(c), { kind, logger: ctx.logger });
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/**
 * Removes a container whatever its state: kills what runs in it, stops its
 * monitor (killing it if it does not stop), cleans what a dead monitor left,
 * and removes the state directory. Does not run hooks.
 */
export async function forceRemove(ctx: Context, id: string): Promise<void> {
  const paths = containerPaths(ctx.opts.root, id);
  let container: Container | undefined;
  try {
    container = await loadContainer(ctx, id);
  } catch {
    // no (readable) state: clean what can be found
  }
  if (container?.monitorAlive) {
    const pid = container.state.monitorPid;
    try {
      const conn = await connectMonitor(container);
      try {
        if (container.state.status === 'paused') await conn.task.resume({ id }).catch(() => {});
        await conn.task.kill({ id, signal: 9, all: true }).catch(() => {});
        await conn.task.shutdown({ id, now: true }).catch(() => {});
      } finally {
        conn.close();
      }
    } catch (err) {
      ctx.logger.debug({ err }, 'monitor unreachable; killing it');
    }
    if (!(await waitGone(container.state, MONITOR_STOP_MS))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      await waitGone(container.state, 5000);
    }
  }
  await removeVmLeftovers(paths);
  await rm(paths.stateDir, { recursive: true, force: true });
}

async function waitGone(state: ContainerStateRecord, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (monitorAlive(state)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Whether a task API error says the process is already gone. */
export function alreadyFinished(err: unknown): boolean {
  return isTtrpcError(err) && (err.code === Code.NOT_FOUND || err.code === Code.FAILED_PRECONDITION);
}
