// A container as the agent manages it: its id and bundle, its init process,
// the processes exec'd into it, and where it is in its life. Each operation
// lives in its own file (create.ts, start.ts, exec.ts, signal.ts, wait.ts,
// pause.ts, update.ts, state.ts, remove.ts); the methods here delegate.

import type { LinuxResources, Process as OciProcess, Spec } from '../../oci/spec.js';
import type { ExitStatus } from '../process/exit-status.js';
import type { ContainerProcess } from '../process/process.js';
import { SerialQueue } from '../process/serial-queue.js';
import type { ContainerContext } from './context.js';
import { ContainerError, invalidExecId } from './errors.js';
import { execProcess } from './exec.js';
import type { RuntimeState } from './oci-runtime.js';
import { pauseContainer, resumeContainer } from './pause.js';
import { removeContainer } from './remove.js';
import { signalProcess } from './signal.js';
import { startContainer } from './start.js';
import { containerState } from './state.js';
import { updateContainer } from './update.js';
import { waitProcess } from './wait.js';

/**
 * "created": init waits for start; "running"; "paused" (frozen);
 * "stopped": the init process has exited (whatever was asked before).
 */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'stopped';

export class Container {
  /** Lifecycle operations (start, exec, pause, resume, update, remove) run one at a time. */
  readonly lifecycle = new SerialQueue();
  private readonly execs = new Map<string, ContainerProcess>();
  private phase: 'created' | 'running' | 'paused' = 'created';
  private isRemoved = false;

  constructor(
    readonly ctx: ContainerContext,
    readonly id: string,
    /** The bundle directory (config.json); removed with the container. */
    readonly bundle: string,
    /** The spec as written to config.json. */
    readonly spec: Spec,
    readonly init: ContainerProcess,
  ) {}

  get status(): ContainerStatus {
    return this.init.hasExited ? 'stopped' : this.phase;
  }

  /** True while the runtime holds the container frozen (even if init has exited since). */
  get frozen(): boolean {
    return this.phase === 'paused';
  }

  /** True once remove() completed: the container is gone. */
  get removed(): boolean {
    return this.isRemoved;
  }

  /** Whether the container has a pid namespace of its own (its init is pid 1 there). */
  get hasOwnPidNamespace(): boolean {
    return (this.spec.linux?.namespaces ?? []).some((ns) => ns.type === 'pid' && (ns.path ?? '') === '');
  }

  /**
   * The process with this exec id: "" or the init's exec id (Kata sends the
   * container id) name the init process. NOT_FOUND "Invalid exec id" otherwise.
   */
  getProcess(execId: string): ContainerProcess {
    if (execId === '' || execId === this.init.execId) return this.init;
    const p = this.execs.get(execId);
    if (!p) throw invalidExecId(execId);
    return p;
  }

  /** The exec'd processes still registered (exited ones stay until deleteExec or remove). */
  get execProcesses(): ContainerProcess[] {
    return [...this.execs.values()];
  }

  /** Init and exec'd processes. */
  get allProcesses(): ContainerProcess[] {
    return [this.init, ...this.execs.values()];
  }

  /** Forgets an exited exec'd process and releases its stdio. */
  deleteExec(execId: string): void {
    const p = this.getProcess(execId);
    if (p === this.init) throw new ContainerError('INVALID_ARGUMENT', 'exec_id: the init process is removed with the container');
    if (!p.hasExited) throw new ContainerError('FAILED_PRECONDITION', `process ${JSON.stringify(execId)} is still running`);
    this.execs.delete(execId);
    p.stdio.destroy();
  }

  // --- used by the operation modules ---------------------------------------

  /** @internal Records a lifecycle transition. */
  setPhase(phase: 'created' | 'running' | 'paused'): void {
    this.phase = phase;
  }

  /** @internal */
  hasExec(execId: string): boolean {
    return execId === this.init.execId || this.execs.has(execId);
  }

  /** @internal */
  addExec(p: ContainerProcess): void {
    this.execs.set(p.execId, p);
  }

  /** @internal */
  markRemoved(): void {
    this.isRemoved = true;
  }

  /** @internal Throws FAILED_PRECONDITION once the container was removed. */
  assertNotRemoved(): void {
    if (this.isRemoved) throw new ContainerError('FAILED_PRECONDITION', `container ${this.id} was removed`);
  }

  // --- operations ----------------------------------------------------------

  /** Lets the init process run its program (StartContainer). */
  start(): Promise<void> {
    return startContainer(this);
  }

  /** Starts another process in the running container (ExecProcess). */
  exec(execId: string, processSpec: OciProcess): Promise<ContainerProcess> {
    return execProcess(this, execId, processSpec);
  }

  /** Signals one process, or (execId undefined) every process of the container (SignalProcess). */
  signal(execId: string | undefined, signal: number): Promise<void> {
    return signalProcess(this, execId, signal);
  }

  /** Waits for a process to exit (WaitProcess); `.status` is the number to report. */
  wait(execId: string): Promise<ExitStatus> {
    return waitProcess(this, execId);
  }

  /** Freezes every process (PauseContainer). */
  pause(): Promise<void> {
    return pauseContainer(this);
  }

  /** Thaws the container (ResumeContainer). */
  resume(): Promise<void> {
    return resumeContainer(this);
  }

  /** Applies new resource limits (UpdateContainer). */
  update(resources: LinuxResources): Promise<void> {
    return updateContainer(this, resources);
  }

  /** The runtime's view of the container. */
  state(): Promise<RuntimeState> {
    return containerState(this);
  }

  /**
   * Kills every process, waits up to `timeoutSeconds` (0 = no limit) for them
   * to exit, then deletes the container and its bundle (RemoveContainer).
   */
  remove(timeoutSeconds: number): Promise<void> {
    return removeContainer(this, timeoutSeconds);
  }
}
