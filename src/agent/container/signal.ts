// SignalProcess: signal one process by exec id, or every process of the
// container.
//
// - One process: kill(2) on its pid, unless it already exited (its pid may
//   have been reused): a signal to an exited process is a no-op, as upstream
//   ignores ESRCH.
// - All processes: the runtime's `kill --all` (every process in the
//   container's cgroup); when the init process has exited the exec'd
//   processes still known are signalled directly, and runtime errors are
//   ignored (nothing may be left to signal).
// - SIGTERM to an init process that is pid 1 of its own pid namespace and has
//   no SIGTERM handler would be ignored by the kernel; like the Kata agent
//   (@HEAD), it is turned into SIGKILL so the container still stops.

import { readFile } from 'node:fs/promises';
import type { Container } from './container.js';
import { validateSignal } from './validate.js';

const SIGTERM = 15;
const SIGKILL = 9;

/** Whether the process has a handler installed for `signal` (SigCgt in /proc/<pid>/status). */
export async function catchesSignal(pid: number, signal: number): Promise<boolean> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return false;
  }
  const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status);
  if (!m) return false;
  return ((BigInt(`0x${m[1]}`) >> BigInt(signal - 1)) & 1n) === 1n;
}

export async function signalProcess(c: Container, execId: string | undefined, signal: number): Promise<void> {
  validateSignal(signal);
  c.assertNotRemoved();
  if (execId === undefined) {
    await signalAll(c, signal);
    return;
  }
  const p = c.getProcess(execId);
  let sig = signal;
  if (p === c.init && sig === SIGTERM && c.hasOwnPidNamespace && !(await catchesSignal(p.pid, SIGTERM))) {
    sig = SIGKILL;
  }
  p.signal(sig);
}

async function signalAll(c: Container, signal: number): Promise<void> {
  if (c.allProcesses.every((p) => p.hasExited) && c.hasOwnPidNamespace) return;
  try {
    await c.ctx.runtime.kill(c.id, signal, { all: true });
  } catch (err) {
    if (!c.init.hasExited) throw err;
    c.ctx.logger.debug({ err, container: c.id }, 'kill --all after init exited');
  }
  if (c.init.hasExited) {
    for (const p of c.execProcesses) p.signal(signal);
  }
}
