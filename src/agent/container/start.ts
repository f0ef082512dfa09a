// StartContainer: the runtime's `start` lets the waiting init process exec
// the container's program.

import type { Container } from './container.js';
import { ContainerError } from './errors.js';

export async function startContainer(c: Container): Promise<void> {
  return c.lifecycle.run(async () => {
    c.assertNotRemoved();
    if (c.status !== 'created') {
      throw new ContainerError('FAILED_PRECONDITION', `container ${c.id} cannot be started: it is ${c.status}`);
    }
    await c.ctx.runtime.start(c.id);
    c.setPhase('running');
    c.ctx.logger.info({ container: c.id }, 'container started');
  });
}
