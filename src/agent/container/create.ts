// CreateContainer: write the bundle, set up the init process's stdio (pipes,
// or a console socket for a terminal), run the runtime's `create`, and watch
// the init process. The init process then waits for `start`.
//
// A failed create leaves nothing behind: the runtime's state and cgroup
// (`delete --force`), the init process (killed and reaped), the stdio
// descriptors, the console socket and the bundle directory are all removed.

import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringifySpec } from '../../oci/json.js';
import type { Spec } from '../../oci/spec.js';
import { ConsoleSocket } from '../process/console-socket.js';
import { ContainerProcess } from '../process/process.js';
import { PipeStdio, TerminalStdio, type ProcessStdio } from '../process/stdio.js';
import { Container } from './container.js';
import { DEFAULT_CONSOLE_TIMEOUT_MS, type ContainerContext } from './context.js';
import { ContainerError } from './errors.js';
import { isNotFoundError } from './oci-runtime.js';
import { readPidFile } from './pid-file.js';
import { validateContainerId, validateExecId } from './validate.js';

export interface CreateContainerRequest {
  id: string;
  /** Exec id of the init process. Default: the container id (as Kata sends it). */
  execId?: string;
  /** The spec to write as config.json. `root.path` should be absolute (else it is relative to the bundle). */
  spec: Spec;
}

/** How long a failed create waits for its init process to be reaped. */
const CLEANUP_WAIT_MS = 5000;

export async function createContainer(ctx: ContainerContext, req: CreateContainerRequest): Promise<Container> {
  validateContainerId(req.id);
  const execId = req.execId ?? req.id;
  validateExecId(execId);
  if (!req.spec.process) throw new ContainerError('INVALID_ARGUMENT', 'OCI.process: missing');
  if (!req.spec.root?.path) throw new ContainerError('INVALID_ARGUMENT', 'OCI.root.path: missing');

  const bundle = join(ctx.bundleRoot, req.id);
  await mkdir(ctx.bundleRoot, { recursive: true, mode: 0o700 });
  try {
    await mkdir(bundle, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ContainerError('ALREADY_EXISTS', `container ${req.id} already exists (bundle ${bundle})`);
    }
    throw err;
  }

  const log = ctx.logger.child({ container: req.id });
  let pipes: PipeStdio | undefined;
  let consoleSocket: ConsoleSocket | undefined;
  let stdio: ProcessStdio | undefined;
  let initExit: Promise<unknown> | undefined;
  let runtimeCreated = false;
  try {
    await writeFile(join(bundle, 'config.json'), stringifySpec(req.spec), { mode: 0o600 });

    const terminal = req.spec.process.terminal === true;
    let master: Promise<number> | undefined;
    if (terminal) {
      consoleSocket = await ConsoleSocket.listen(ctx.socketDir);
      master = consoleSocket.receive(ctx.consoleTimeoutMs ?? DEFAULT_CONSOLE_TIMEOUT_MS);
      master.catch(() => undefined); // awaited below, or dropped on failure
    } else {
      pipes = PipeStdio.create(ctx.outputBufferBytes);
      stdio = pipes;
    }

    const pidFile = join(bundle, 'init.pid');
    try {
      runtimeCreated = true;
      await ctx.runtime.create(req.id, {
        bundle,
        pidFile,
        ...(consoleSocket ? { consoleSocket: consoleSocket.path } : {}),
        ...(pipes ? { stdio: pipes.childFds } : {}),
      });
    } finally {
      pipes?.closeChildFds();
    }
    const pid = await readPidFile(pidFile);
    initExit = ctx.reaper.watch(pid);
    // The runtime sent the pty master before `create` returned.
    if (master) {
      stdio = new TerminalStdio(await master, ctx.outputBufferBytes);
      await consoleSocket?.close();
    }
    const init = new ContainerProcess(execId, pid, stdio!, ctx.reaper);
    log.info({ pid, terminal }, 'container created');
    return new Container(ctx, req.id, bundle, req.spec, init);
  } catch (err) {
    log.warn({ err }, 'create failed; cleaning up');
    await consoleSocket?.close().catch(() => undefined);
    stdio?.destroy();
    if (runtimeCreated) await deleteQuietly(ctx, req.id);
    if (initExit) await waitBounded(initExit, CLEANUP_WAIT_MS);
    await rm(bundle, { recursive: true, force: true });
    throw err;
  }
}

/** `delete --force`, ignoring "no such container" (the runtime cleaned up itself). */
export async function deleteQuietly(ctx: ContainerContext, id: string): Promise<void> {
  try {
    await ctx.runtime.delete(id, { force: true });
  } catch (err) {
    if (!isNotFoundError(err)) ctx.logger.warn({ err, container: id }, 'runtime delete failed');
  }
}

/** Waits for `exit` but at most `ms`. */
export async function waitBounded(exit: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exit, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
