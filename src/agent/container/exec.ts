// ExecProcess: start another process in a running container with the
// runtime's `exec --detach`, giving it pipes or (terminal) a pty through the
// console socket. The runtime exits once the process runs; the process is
// then re-parented to the agent, which watches it.

import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Process as OciProcess } from '../../oci/spec.js';
import { ConsoleSocket } from '../process/console-socket.js';
import { ContainerProcess } from '../process/process.js';
import { PipeStdio, TerminalStdio, type ProcessStdio } from '../process/stdio.js';
import type { Container } from './container.js';
import { DEFAULT_CONSOLE_TIMEOUT_MS } from './context.js';
import { ContainerError } from './errors.js';
import { readPidFile } from './pid-file.js';
import { validateExecId } from './validate.js';

export async function execProcess(c: Container, execId: string, processSpec: OciProcess): Promise<ContainerProcess> {
  validateExecId(execId);
  return c.lifecycle.run(async () => {
    c.assertNotRemoved();
    if (c.hasExec(execId)) {
      throw new ContainerError('ALREADY_EXISTS', `exec_id: ${JSON.stringify(execId)} already exists in container ${c.id}`);
    }
    if (c.status !== 'running') {
      throw new ContainerError('FAILED_PRECONDITION', `cannot exec in container ${c.id}: it is ${c.status}`);
    }
    const { ctx } = c;
    const name = `exec-${randomBytes(6).toString('hex')}`;
    const pidFile = join(c.bundle, `${name}.pid`);
    let pipes: PipeStdio | undefined;
    let consoleSocket: ConsoleSocket | undefined;
    let stdio: ProcessStdio | undefined;
    let pid: number | undefined;
    try {
      let master: Promise<number> | undefined;
      if (processSpec.terminal === true) {
        consoleSocket = await ConsoleSocket.listen(ctx.socketDir);
        master = consoleSocket.receive(ctx.consoleTimeoutMs ?? DEFAULT_CONSOLE_TIMEOUT_MS);
        master.catch(() => undefined);
      } else {
        pipes = PipeStdio.create(ctx.outputBufferBytes);
        stdio = pipes;
      }
      try {
        await ctx.runtime.exec(c.id, processSpec, {
          processFile: join(c.bundle, `${name}.json`),
          pidFile,
          ...(consoleSocket ? { consoleSocket: consoleSocket.path } : {}),
          ...(pipes ? { stdio: pipes.childFds } : {}),
        });
      } finally {
        pipes?.closeChildFds();
      }
      pid = await readPidFile(pidFile);
      // Watch at once: the process may exit before anything else happens.
      void ctx.reaper.watch(pid);
      if (master) {
        stdio = new TerminalStdio(await master, ctx.outputBufferBytes);
        await consoleSocket?.close();
      }
      const p = new ContainerProcess(execId, pid, stdio!, ctx.reaper);
      c.addExec(p);
      ctx.logger.info({ container: c.id, execId, pid }, 'process exec');
      return p;
    } catch (err) {
      await consoleSocket?.close().catch(() => undefined);
      stdio?.destroy();
      if (pid !== undefined) {
        // It started, but we could not set it up: do not leave it running.
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      throw err;
    } finally {
      await rm(pidFile, { force: true });
    }
  });
}
