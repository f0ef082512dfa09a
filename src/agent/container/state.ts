// The runtime's view of a container (`state`).

import type { Container } from './container.js';
import type { RuntimeState } from './oci-runtime.js';

export async function containerState(c: Container): Promise<RuntimeState> {
  c.assertNotRemoved();
  return c.ctx.runtime.state(c.id);
}
