// One process of a task: a container's own process or an exec in it. It
// goes created -> running -> stopped once, and remembers how it ended until
// it is deleted.
import type { TaskIo } from './events.js';

export type ProcessStatus = 'created' | 'running' | 'stopped';

export interface ProcessExit {
  /** Exit code, or 128 + signal number. */
  exitStatus: number;
  exitedAt: Date;
}

export class TaskProcess {
  status: ProcessStatus = 'created';
  private exitInfo: ProcessExit | null = null;
  private resolveExit!: (exit: ProcessExit) => void;
  /** Settles once, when the process has stopped. */
  readonly exited: Promise<ProcessExit>;
  /** Closes stdin on request (CloseIO), once stdio is attached. */
  closeStdin: (() => Promise<void>) | null = null;
  /** Releases what the process's stdio holds (streams, timers). */
  releaseIo: () => void = () => {};

  constructor(
    readonly containerId: string,
    /** The exec id; the container id for the container's own process. */
    readonly execId: string,
    readonly io: TaskIo,
    /** For execs: the OCI process (JSON) to run. */
    readonly processSpec?: unknown,
  ) {
    this.exited = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
  }

  get isInit(): boolean {
    return this.execId === this.containerId;
  }

  get exit(): ProcessExit | null {
    return this.exitInfo;
  }

  /** Records the end; later calls are ignored (the first cause wins). Returns whether it was recorded. */
  markStopped(exitStatus: number, exitedAt = new Date()): boolean {
    if (this.exitInfo) return false;
    this.exitInfo = { exitStatus, exitedAt };
    this.status = 'stopped';
    this.resolveExit(this.exitInfo);
    return true;
  }
}
