// PauseContainer / ResumeContainer: the runtime freezes or thaws every
// process of the container (freezer cgroup).
//
// Freezing can take a moment (cgroup v1 goes through FREEZING, and crun may
// return before the state is FROZEN), so pause resolves only once the runtime
// reports the container "paused": after that no process of it advances.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Container } from './container.js';
import { ContainerError } from './errors.js';

/** How long pause waits for the freeze to complete. */
const FREEZE_TIMEOUT_MS = 10_000;

export async function pauseContainer(c: Container): Promise<void> {
  return c.lifecycle.run(async () => {
    c.assertNotRemoved();
    if (c.status !== 'running') {
      throw new ContainerError('FAILED_PRECONDITION', `container ${c.id} cannot be paused: it is ${c.status}`);
    }
    await c.ctx.runtime.pause(c.id);
    c.setPhase('paused');
    await waitUntilFrozen(c);
  });
}

export async function resumeContainer(c: Container): Promise<void> {
  return c.lifecycle.run(async () => {
    c.assertNotRemoved();
    if (c.status !== 'paused') {
      throw new ContainerError('FAILED_PRECONDITION', `container ${c.id} cannot be resumed: it is ${c.status}`);
    }
    await c.ctx.runtime.resume(c.id);
    c.setPhase('running');
  });
}

async function waitUntilFrozen(c: Container): Promise<void> {
  const deadline = Date.now() + FREEZE_TIMEOUT_MS;
  let pauseMs = 2;
  for (;;) {
    const { status } = await c.ctx.runtime.state(c.id);
    if (status === 'paused') return;
    if (status === 'stopped') return; // nothing left to freeze
    if (Date.now() > deadline) {
      throw new ContainerError('INTERNAL', `container ${c.id} did not freeze within ${FREEZE_TIMEOUT_MS} ms (runtime says ${status})`);
    }
    await sleep(pauseMs);
    pauseMs = Math.min(pauseMs * 2, 100);
  }
}
