// WaitProcess: resolves once the process has exited and been reaped. The
// status stays with the process, so waiting again (or late) answers at once.

import type { ExitStatus } from '../process/exit-status.js';
import type { Container } from './container.js';

export async function waitProcess(c: Container, execId: string): Promise<ExitStatus> {
  const p = c.getProcess(execId);
  return p.wait();
}
