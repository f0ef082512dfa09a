// One process of a container (its init process or an exec'd one): its pid,
// its stdio, and how it ended once the reaper collected it.

import type { ExitStatus } from './exit-status.js';
import type { Reaper } from './reaper.js';
import type { ProcessStdio } from './stdio.js';

export class ContainerProcess {
  private exit: ExitStatus | undefined;
  private readonly exited: Promise<ExitStatus>;

  /** Starts watching `pid` with `reaper`; the process must be a child of the agent (or re-parented to it). */
  constructor(
    /** The exec id (for the init process, the one given at create). */
    readonly execId: string,
    readonly pid: number,
    readonly stdio: ProcessStdio,
    reaper: Reaper,
  ) {
    this.exited = reaper.watch(pid, (status) => {
      this.exit = status;
    });
  }

  /** How the process ended, or undefined while it runs. */
  get exitStatus(): ExitStatus | undefined {
    return this.exit;
  }

  get hasExited(): boolean {
    return this.exit !== undefined;
  }

  /** Resolves once the process has exited and been reaped (any number of callers). */
  wait(): Promise<ExitStatus> {
    return this.exited;
  }

  /**
   * Sends `signal` to the process. A process that already exited is left
   * alone (its pid may belong to someone else by now): returns false then.
   */
  signal(signal: number): boolean {
    if (this.exit !== undefined) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw err;
    }
  }
}
