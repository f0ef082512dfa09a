// Running a process in the foreground of the command line (`run` without
// --detach, `exec` without --detach): our terminal in raw mode while it
// runs, the signals we receive passed on to it, and its exit status.
import { constants } from 'node:os';
import type { ServiceClient } from '../../ttrpc/index.js';
import type { Task } from '../../protocols/gen/containerd/runtime/v2/task/shim_pb.js';
import type { Context } from './context.js';

/** Signals a foreground process gets from us (what a terminal or a manager would send). */
export const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Puts our stdin in raw mode when the process has a terminal and ours is one; returns the undo. */
export function rawTerminal(terminal: boolean): () => void {
  const stdin = process.stdin as typeof process.stdin & { isTTY?: boolean };
  if (!terminal || !stdin.isTTY) return () => {};
  stdin.setRawMode(true);
  // setRawMode made the stream; it must not keep us alive or read our input.
  stdin.pause();
  return () => stdin.setRawMode(false);
}

/**
 * Waits for the process (Wait), passing the signals we receive to it
 * (Kill). Resolves with its exit status. When the monitor has gone before
 * answering (the container's own process ended and it finished), the
 * status comes from `recorded` (the state file).
 */
export async function waitForeground(
  ctx: Context,
  task: ServiceClient<typeof Task>,
  id: string,
  execId: string,
  recorded?: () => Promise<number | undefined>,
): Promise<number> {
  const onSignal = (sig: NodeJS.Signals) => {
    task.kill({ id, execId, signal: constants.signals[sig], all: false }).catch((err: unknown) => ctx.logger.debug({ err, sig }, 'forwarding a signal failed'));
  };
  for (const sig of FORWARDED_SIGNALS) process.on(sig, onSignal);
  try {
    try {
      const { exitStatus } = await task.wait({ id, execId });
      return exitStatus;
    } catch (err) {
      const status = await recorded?.().catch(() => undefined);
      if (status === undefined) throw err;
      return status;
    }
  } finally {
    for (const sig of FORWARDED_SIGNALS) process.off(sig, onSignal);
  }
}
