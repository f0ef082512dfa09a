// RemoveContainer: kill every process of the container, wait for them to
// exit (up to a timeout in seconds, 0 = no limit), then delete the runtime's
// state and cgroup, release the stdio and remove the bundle directory.
//
// On timeout the call fails with DEADLINE_EXCEEDED and the container stays as
// it is (the caller may retry). Removing a removed container does nothing.

import { rm } from 'node:fs/promises';
import type { Container } from './container.js';
import { ContainerError } from './errors.js';
import { isNotFoundError } from './oci-runtime.js';
import { validateTimeoutSeconds } from './validate.js';

const SIGKILL = 9;

export async function removeContainer(c: Container, timeoutSeconds: number): Promise<void> {
  validateTimeoutSeconds(timeoutSeconds);
  return c.lifecycle.run(async () => {
    if (c.removed) return;
    const { ctx } = c;
    const log = ctx.logger.child({ container: c.id });

    const alive = c.allProcesses.filter((p) => !p.hasExited);
    if (alive.length > 0 || !c.hasOwnPidNamespace) {
      try {
        await ctx.runtime.kill(c.id, SIGKILL, { all: true });
      } catch (err) {
        log.debug({ err }, 'kill --all failed (nothing left to kill?)');
      }
      for (const p of alive) p.signal(SIGKILL);
    }
    if (c.frozen) {
      // Killed processes only die once thawed.
      try {
        await ctx.runtime.resume(c.id);
        c.setPhase('running');
      } catch (err) {
        log.debug({ err }, 'resume before remove failed');
      }
    }

    await waitAll(c, timeoutSeconds);

    try {
      await ctx.runtime.delete(c.id, { force: true });
    } catch (err) {
      if (!isNotFoundError(err)) throw err;
    }
    for (const p of c.allProcesses) p.stdio.destroy();
    await rm(c.bundle, { recursive: true, force: true });
    c.markRemoved();
    log.info('container removed');
  });
}

async function waitAll(c: Container, timeoutSeconds: number): Promise<void> {
  const all = Promise.all(c.allProcesses.map((p) => p.wait()));
  if (timeoutSeconds === 0) {
    await all;
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutSeconds * 1000)));
  const result = await Promise.race([all, timeout]);
  clearTimeout(timer);
  if (result === 'timeout') {
    throw new ContainerError('DEADLINE_EXCEEDED', `container ${c.id}: processes did not exit within ${timeoutSeconds} s`);
  }
}
