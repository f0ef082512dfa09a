// UpdateContainer: the runtime applies new cgroup limits.

import { join } from 'node:path';
import type { LinuxResources } from '../../oci/spec.js';
import type { Container } from './container.js';
import { ContainerError } from './errors.js';

export async function updateContainer(c: Container, resources: LinuxResources): Promise<void> {
  return c.lifecycle.run(async () => {
    c.assertNotRemoved();
    if (c.status === 'stopped') {
      throw new ContainerError('FAILED_PRECONDITION', `container ${c.id} cannot be updated: it is stopped`);
    }
    await c.ctx.runtime.update(c.id, resources, join(c.bundle, 'resources.json'));
  });
}
