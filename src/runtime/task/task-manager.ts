// The task manager: containerd's task model (containers, their execs, each
// created -> running -> stopped, paused in between) over one sandbox VM.
// Both front-ends use it: the OCI command line's per-container monitor and
// the containerd shim. It knows nothing of ttRPC or protobuf; the task
// service (task-service.ts) maps requests onto it.
//
//   const tm = new TaskManager({ sandboxId, config, runDir, openIo, events });
//   await tm.create({ id, bundle, io });         // boots the VM on first use
//   await tm.start(id);                          // stdio relayed from here on
//   const { exitStatus } = await tm.wait(id);
//   await tm.delete(id);
//   await tm.shutdown();                         // VM gone, nothing left
import { Writable, type Readable } from 'node:stream';
import type { Logger } from '../../common/logger.js';
import { silentLogger } from '../../common/logger.js';
import { StatusError } from '../../common/status-error.js';
import { parseResources, type Spec } from '../../oci/spec.js';
import type { StatsContainerResponse } from '../../protocols/gen/agent_pb.js';
import { Code, isTtrpcError } from '../../ttrpc/index.js';
import { loadBundle } from '../cli/bundle.js';
import type { RuntimeConfig } from '../config/schema.js';
import { checkId, Sandbox, type Attachment } from '../sandbox/sandbox.js';
import { failedPrecondition, invalidArgument, notFound, alreadyExists, taskError, TaskError } from './errors.js';
import { discardEvents, type EventSink, type TaskIo } from './events.js';
import { watchProcessGone } from './host-process.js';
import { mountRootfs, unmountRootfs, type RootfsMount } from './rootfs.js';
import { TaskProcess, type ProcessExit } from './task-process.js';

/** A process's stdio as opened from its TaskIo. */
export interface OpenedIo {
  stdin: Readable | null;
  stdout: Writable | null;
  stderr: Writable | null;
  /**
   * For a terminal whose host side is itself a terminal (a pty from the
   * OCI command line): calls `onResize` now and whenever its size changes.
   * Returns a function that stops watching.
   */
  watchWindowSize?(onResize: (rows: number, columns: number) => void): () => void;
  /**
   * Ends the input once what is buffered has been read (containerd's
   * CloseIO on a fifo, which otherwise never reaches its end).
   */
  closeInput?(): void;
  /** Closes whatever is still open; resolves once output written so far has been delivered (bounded). */
  close(): Promise<void>;
}

export type IoOpener = (io: TaskIo, what: string) => Promise<OpenedIo>;

export interface TaskManagerOptions {
  /** The sandbox (VM) id: a valid id, also the default guest hostname. */
  sandboxId: string;
  config: RuntimeConfig;
  /** The VM's state directory (created; its parent must exist; keep it short: sockets live in it). */
  runDir: string;
  openIo: IoOpener;
  events?: EventSink;
  logger?: Logger;
  /** The pid reported for every task (default: QEMU's). */
  reportedPid?: () => number;
  hostname?: string;
}

export interface CreateTaskOptions {
  id: string;
  bundle: string;
  io: TaskIo;
  /** containerd's rootfs mounts, stacked on <bundle>/rootfs. */
  rootfs?: RootfsMount[];
}

export interface ExecOptions {
  containerId: string;
  execId: string;
  io: TaskIo;
  /** The OCI process (JSON). */
  process: unknown;
}

export type TaskStatus = 'created' | 'running' | 'paused' | 'stopped';

export interface TaskState {
  id: string;
  execId: string;
  bundle: string;
  pid: number;
  status: TaskStatus;
  io: TaskIo;
  exitStatus: number;
  exitedAt: Date | null;
}

interface ContainerRecord {
  id: string;
  bundle: string;
  spec: Spec;
  init: TaskProcess;
  execs: Map<string, TaskProcess>;
  paused: boolean;
  rootfsMounts: number;
}

/** The status of a process killed because its VM went away. */
export const VM_LOST_EXIT_STATUS = 255;
/** The status recorded for a container deleted before it ever ran (SIGKILL). */
const KILLED_EXIT_STATUS = 137;
const SIGKILL = 9;
/** Signals whose default action ends a process (SIGHUP, SIGINT, SIGQUIT, SIGKILL, SIGTERM). */
const TERMINATING_SIGNALS = new Set([1, 2, 3, 9, 15]);
/** How long the output of a stopped process may still take to drain. */
const OUTPUT_DRAIN_MS = 10_000;

export class TaskManager {
  private readonly containers = new Map<string, ContainerRecord>();
  /** Created (never started) containers already being waited for after a kill. */
  private readonly awaitingCreated = new WeakSet<TaskProcess>();
  /** Each process's opened stdio, from create/exec until it is released. */
  private readonly openedIo = new WeakMap<TaskProcess, OpenedIo>();
  private readonly logger: Logger;
  private readonly events: EventSink;
  private booting: Promise<Sandbox> | null = null;
  private sandbox: Sandbox | null = null;
  private readonly oomWatch = new AbortController();
  private shuttingDown: Promise<void> | null = null;
  /** The VM's failure, once it has gone away on its own. */
  vmError: Error | null = null;

  constructor(private readonly opts: TaskManagerOptions) {
    checkId(opts.sandboxId, 'sandbox id');
    this.logger = opts.logger ?? silentLogger;
    this.events = opts.events ?? discardEvents;
  }

  /** Starts the VM (once); create() calls it, callers may call it earlier to overlap the boot. */
  boot(): Promise<Sandbox> {
    if (this.shuttingDown) return Promise.reject(failedPrecondition(`sandbox ${this.opts.sandboxId} is shutting down`));
    this.booting ??= Sandbox.create({
      id: this.opts.sandboxId,
      config: this.opts.config,
      runRoot: '',
      runDir: this.opts.runDir,
      hostname: this.opts.hostname ?? this.opts.sandboxId.slice(0, 64),
      logger: this.logger,
    }).then((sb) => {
      this.sandbox = sb;
      void sb.vm.exited.then(() => this.onVmGone(sb));
      void this.watchOom(sb);
      return sb;
    });
    return this.booting;
  }

  /** The sandbox, if booted. */
  get currentSandbox(): Sandbox | null {
    return this.sandbox;
  }

  /** The pid reported for tasks. */
  get pid(): number {
    return this.opts.reportedPid?.() ?? this.sandbox?.vm.pid ?? 0;
  }

  get containerIds(): string[] {
    return [...this.containers.keys()];
  }

  async create(req: CreateTaskOptions): Promise<{ pid: number }> {
    validId(req.id, 'id');
    if (this.containers.has(req.id)) throw alreadyExists(`task ${req.id} already exists`);
    if (!req.bundle.startsWith('/')) throw invalidArgument('bundle', `must be an absolute path (got ${JSON.stringify(req.bundle)})`);
    // Reserve the id while the slow parts run.
    const init = new TaskProcess(req.id, req.id, req.io);
    const record: ContainerRecord = { id: req.id, bundle: req.bundle, spec: {} as Spec, init, execs: new Map(), paused: false, rootfsMounts: 0 };
    this.containers.set(req.id, record);
    let opened: OpenedIo | undefined;
    try {
      record.rootfsMounts = await mountRootfs(req.bundle, req.rootfs ?? []);
      const { spec, dir } = await loadBundle(req.bundle).catch((err: unknown) => {
        throw invalidArgument('bundle', (err as Error).message);
      });
      record.spec = spec;
      if ((spec.process?.terminal ?? false) !== req.io.terminal) {
        this.logger.debug({ container: req.id }, 'terminal differs between the request and process.terminal; the request wins');
        spec.process!.terminal = req.io.terminal;
      }
      opened = await this.opts.openIo(req.io, `task ${req.id}`);
      const sandbox = await this.boot();
      await sandbox.createContainer({ id: req.id, spec, bundleDir: dir });
      this.holdIo(init, opened);
    } catch (err) {
      void opened?.close();
      this.containers.delete(req.id);
      try {
        unmountRootfs(req.bundle, record.rootfsMounts);
      } catch (e) {
        this.logger.warn({ err: e }, 'rootfs unmount after a failed create');
      }
      throw asTaskError(err);
    }
    this.events.publish({ topic: '/tasks/create', containerId: req.id, bundle: req.bundle, io: req.io, pid: this.pid });
    return { pid: this.pid };
  }

  /**
   * Starts the container's process or an exec. `ownerPid`: a host process
   * that stands for the exec (`exec --detach`); if it goes away first, the
   * exec is killed, as a SIGKILL sent to it could not be passed on.
   */
  async start(id: string, execId = '', opts: { ownerPid?: number } = {}): Promise<{ pid: number }> {
    const { record, proc } = this.lookup(id, execId);
    if (proc.status !== 'created') throw failedPrecondition(`${describe(proc)} is ${proc.status}, not created`);
    const sandbox = this.mustBeUp();
    try {
      if (proc.isInit) await sandbox.startContainer(id);
      else await sandbox.execProcess(id, proc.execId, proc.processSpec);
    } catch (err) {
      throw asTaskError(err);
    }
    proc.status = 'running';
    this.relay(sandbox, record, proc);
    if (opts.ownerPid !== undefined && !proc.isInit) {
      const stop = watchProcessGone(opts.ownerPid, () => {
        if (proc.status !== 'running') return;
        this.logger.info({ exec: proc.execId, owner: opts.ownerPid }, 'the process standing for the exec is gone: killing the exec');
        sandbox.signalProcess(id, SIGKILL, false, proc.execId).catch(() => {});
      });
      void proc.exited.then(stop);
    }
    if (proc.isInit) this.events.publish({ topic: '/tasks/start', containerId: id, pid: this.pid });
    else this.events.publish({ topic: '/tasks/exec-started', containerId: id, execId: proc.execId, pid: this.pid });
    return { pid: this.pid };
  }

  async exec(req: ExecOptions): Promise<void> {
    const record = this.mustHave(req.containerId);
    validId(req.execId, 'exec_id');
    if (req.execId === req.containerId || record.execs.has(req.execId)) throw alreadyExists(`exec ${req.execId} already exists in task ${req.containerId}`);
    if (record.init.status !== 'running') throw failedPrecondition(`task ${req.containerId} is ${record.init.status}: exec needs a running task`);
    const proc = new TaskProcess(req.containerId, req.execId, req.io, req.process);
    record.execs.set(req.execId, proc);
    try {
      this.holdIo(proc, await this.opts.openIo(req.io, `exec ${req.execId}`));
    } catch (err) {
      record.execs.delete(req.execId);
      throw asTaskError(err);
    }
    this.events.publish({ topic: '/tasks/exec-added', containerId: req.containerId, execId: req.execId });
  }

  state(id: string, execId = ''): TaskState {
    const { record, proc } = this.lookup(id, execId);
    const status = proc.status === 'running' && record.paused ? 'paused' : proc.status;
    return {
      id,
      execId: proc.isInit ? '' : proc.execId,
      bundle: record.bundle,
      pid: this.pid,
      status,
      io: proc.io,
      exitStatus: proc.exit?.exitStatus ?? 0,
      exitedAt: proc.exit?.exitedAt ?? null,
    };
  }

  async kill(id: string, execId: string, signal: number, all: boolean): Promise<void> {
    const { record, proc } = this.lookup(id, execId);
    if (!Number.isInteger(signal) || signal < 0 || signal > 64) throw invalidArgument('signal', `${signal} is not a signal number`);
    if (proc.status === 'stopped') throw notFound(`${describe(proc)}: process already finished`);
    const sandbox = this.mustBeUp();
    try {
      await sandbox.signalProcess(id, signal, all && proc.isInit, proc.execId);
    } catch (err) {
      throw asTaskError(err);
    }
    // A container that never started has no relay waiting for its end: a
    // signal that ends it is followed here.
    if (proc.isInit && proc.status === 'created' && TERMINATING_SIGNALS.has(signal) && !this.awaitingCreated.has(proc)) {
      this.awaitingCreated.add(proc);
      void sandbox
        .waitProcess(id)
        .then((status) => {
          if (proc.status === 'created') this.recordExit(record, proc, status);
        })
        .catch((err: unknown) => this.logger.debug({ err, container: id }, 'waiting for a killed created container'));
    }
  }

  /** Removes a stopped (or never started) process; for a container also its VM-side state and rootfs mounts. */
  async delete(id: string, execId = ''): Promise<{ pid: number; exitStatus: number; exitedAt: Date }> {
    const { record, proc } = this.lookup(id, execId);
    if (proc.status === 'running') throw failedPrecondition(`${describe(proc)} is running: kill it first`);
    if (!proc.isInit) {
      record.execs.delete(proc.execId);
      proc.releaseIo();
      const exit = proc.exit ?? { exitStatus: 0, exitedAt: new Date() };
      this.events.publish({ topic: '/tasks/delete', containerId: id, id: proc.execId, pid: this.pid, ...exit });
      return { pid: this.pid, ...exit };
    }
    for (const exec of record.execs.values()) {
      if (exec.status === 'running') throw failedPrecondition(`task ${id} still has running exec ${exec.execId}`);
    }
    const sandbox = this.sandbox;
    if (sandbox?.hasContainer(id)) {
      try {
        await sandbox.removeContainer(id);
      } catch (err) {
        if (!this.vmError) throw asTaskError(err);
      }
    }
    proc.markStopped(KILLED_EXIT_STATUS);
    proc.releaseIo();
    for (const exec of record.execs.values()) exec.releaseIo();
    unmountRootfs(record.bundle, record.rootfsMounts);
    this.containers.delete(id);
    const exit = proc.exit!;
    this.events.publish({ topic: '/tasks/delete', containerId: id, id, pid: this.pid, ...exit });
    return { pid: this.pid, ...exit };
  }

  /** Resolves when the process has stopped. */
  async wait(id: string, execId = ''): Promise<ProcessExit> {
    const { proc } = this.lookup(id, execId);
    return proc.exited;
  }

  async pause(id: string): Promise<void> {
    const record = this.mustHave(id);
    if (record.init.status !== 'running' || record.paused) throw failedPrecondition(`task ${id} is ${this.state(id).status}: only a running task can be paused`);
    await this.mustBeUp().pauseContainer(id).catch(rethrowAsTask);
    record.paused = true;
    this.events.publish({ topic: '/tasks/paused', containerId: id });
  }

  async resume(id: string): Promise<void> {
    const record = this.mustHave(id);
    if (!record.paused || record.init.status !== 'running') throw failedPrecondition(`task ${id} is ${this.state(id).status}: only a paused task can be resumed`);
    await this.mustBeUp().resumeContainer(id).catch(rethrowAsTask);
    record.paused = false;
    this.events.publish({ topic: '/tasks/resumed', containerId: id });
  }

  /** The container's processes, as guest pids. */
  async pids(id: string): Promise<number[]> {
    const record = this.mustHave(id);
    if (record.init.status !== 'running') return [];
    const raw = await this.mustBeUp().listProcesses(id, 'json').catch(rethrowAsTask);
    const text = Buffer.from(raw).toString('utf8').trim();
    const list: unknown = text === '' ? [] : JSON.parse(text);
    if (!Array.isArray(list) || !list.every((p) => Number.isInteger(p))) throw taskError('INTERNAL', `the agent's process list is not a list of pids: ${text.slice(0, 200)}`);
    return list as number[];
  }

  /** ps(1) output for the container's processes in the guest. */
  async processTable(id: string, args: string[]): Promise<string> {
    this.mustHave(id);
    const raw = await this.mustBeUp().listProcesses(id, 'table', args).catch(rethrowAsTask);
    return Buffer.from(raw).toString('utf8');
  }

  /** Stops feeding stdin and closes it in the guest (containerd's CloseIO). */
  async closeIo(id: string, execId: string): Promise<void> {
    const { proc } = this.lookup(id, execId);
    // Not started yet: the input ends once what was written is read.
    if (proc.status === 'created') return this.openedIo.get(proc)?.closeInput?.();
    if (proc.status !== 'running' || !proc.closeStdin) return;
    await proc.closeStdin().catch(rethrowAsTask);
  }

  async resizePty(id: string, execId: string, rows: number, columns: number): Promise<void> {
    const { proc } = this.lookup(id, execId);
    if (!proc.io.terminal) throw failedPrecondition(`${describe(proc)} has no terminal`);
    if (proc.status !== 'running') return;
    await this.mustBeUp().resizeTerminal(id, rows, columns, proc.execId).catch(rethrowAsTask);
  }

  /** Applies OCI linux.resources (JSON) to a running container. */
  async update(id: string, resources: unknown): Promise<void> {
    const record = this.mustHave(id);
    if (record.init.status === 'stopped') throw failedPrecondition(`task ${id} is stopped`);
    let parsed;
    try {
      parsed = parseResources(resources, { pathPrefix: 'resources' });
    } catch (err) {
      throw invalidArgument('resources', (err as Error).message);
    }
    await this.mustBeUp().updateContainer(id, parsed).catch(rethrowAsTask);
  }

  async stats(id: string): Promise<StatsContainerResponse> {
    const record = this.mustHave(id);
    if (record.init.status === 'stopped') throw failedPrecondition(`task ${id} is stopped`);
    return this.mustBeUp().statsContainer(id).catch(rethrowAsTask);
  }

  /**
   * Tears the sandbox down: every container removed, the VM stopped, rootfs
   * mounts undone. Safe to call more than once.
   */
  shutdown(): Promise<void> {
    this.shuttingDown ??= (async () => {
      this.oomWatch.abort();
      const sandbox = this.sandbox ?? (await this.booting?.catch(() => null)) ?? null;
      await sandbox?.destroy();
      for (const record of this.containers.values()) {
        for (const proc of [record.init, ...record.execs.values()]) {
          proc.markStopped(KILLED_EXIT_STATUS);
          proc.releaseIo();
        }
        try {
          unmountRootfs(record.bundle, record.rootfsMounts);
        } catch (err) {
          this.logger.warn({ err, container: record.id }, 'rootfs unmount at shutdown');
        }
      }
      this.containers.clear();
    })();
    return this.shuttingDown;
  }

  // --- internals ---

  private holdIo(proc: TaskProcess, opened: OpenedIo): void {
    this.openedIo.set(proc, opened);
    proc.releaseIo = () => void opened.close();
  }

  /** Relays a started process's stdio and records its end. */
  private relay(sandbox: Sandbox, record: ContainerRecord, proc: TaskProcess): void {
    const opened = this.openedIo.get(proc)!;
    const terminal = proc.io.terminal;
    let attachment: Attachment | undefined;
    let stopWatching = () => {};
    try {
      attachment = sandbox.attach(record.id, {
        ...(opened.stdin ? { stdin: opened.stdin } : {}),
        stdout: opened.stdout ?? discard(),
        stderr: opened.stderr ?? discard(),
        terminal,
        execId: proc.execId,
      });
      attachment.inputDone.catch((err: unknown) => this.logger.debug({ err, process: describe(proc) }, 'stdin relay ended'));
      if (terminal && opened.watchWindowSize) {
        stopWatching = opened.watchWindowSize((rows, columns) => {
          sandbox.resizeTerminal(record.id, rows, columns, proc.execId).catch((err: unknown) => this.logger.debug({ err }, 'TtyWinResize failed'));
        });
      }
    } catch (err) {
      this.logger.warn({ err, process: describe(proc) }, 'attaching stdio failed');
    }
    const att = attachment;
    proc.closeStdin = async () => {
      // The relay then reaches the input's end and closes stdin itself.
      if (opened.closeInput) return opened.closeInput();
      att?.stopInput();
      await sandbox.closeStdin(record.id, proc.execId);
    };
    proc.releaseIo = () => {
      stopWatching();
      att?.stopInput();
      void opened.close();
    };
    void (async () => {
      let status: number;
      try {
        status = await sandbox.waitProcess(record.id, proc.execId);
      } catch (err) {
        this.logger.warn({ err, process: describe(proc) }, 'waiting for the process failed');
        status = VM_LOST_EXIT_STATUS;
        // If the VM is gone, its exit is recorded first, so the exit event can say why.
        await this.noteVmError(sandbox);
      }
      if (att) {
        await Promise.race([att.outputDone.catch(() => {}), new Promise((r) => setTimeout(r, OUTPUT_DRAIN_MS).unref())]);
        att.stopInput();
      }
      stopWatching();
      // Wait, as the exit is only reported once everything the process wrote is out.
      await opened.close();
      this.recordExit(record, proc, status);
    })();
  }

  private recordExit(record: ContainerRecord, proc: TaskProcess, status: number): void {
    if (!proc.markStopped(status & 0xff)) return;
    if (proc.isInit) record.paused = false;
    const exit = proc.exit!;
    this.events.publish({ topic: '/tasks/exit', containerId: record.id, id: proc.execId, pid: this.pid, exitStatus: exit.exitStatus, exitedAt: exit.exitedAt });
  }

  /** The VM went away: everything in it has stopped. */
  private async onVmGone(sandbox: Sandbox): Promise<void> {
    if (this.shuttingDown) return;
    await this.noteVmError(sandbox);
    if (this.shuttingDown) return;
    this.vmError ??= new Error(`VM of sandbox ${this.opts.sandboxId} exited`);
    this.logger.error({ err: this.vmError }, 'the VM went away');
    for (const record of this.containers.values()) {
      for (const proc of [record.init, ...record.execs.values()]) {
        if (proc.status === 'stopped') continue;
        proc.releaseIo();
        this.recordExit(record, proc, VM_LOST_EXIT_STATUS);
      }
    }
  }

  /** Records the VM's own account of its end (QEMU's status, the console), if it has ended. */
  private async noteVmError(sandbox: Sandbox): Promise<void> {
    const explained = await sandbox.vm.exitErrorWithin(1000);
    if (explained) this.vmError ??= explained;
  }

  /** Forwards the guest's OOM kills as /tasks/oom until shutdown. */
  private async watchOom(sandbox: Sandbox): Promise<void> {
    const signal = this.oomWatch.signal;
    while (!signal.aborted && !this.vmError) {
      try {
        const containerId = await sandbox.nextOomEvent(signal);
        if (this.containers.has(containerId)) this.events.publish({ topic: '/tasks/oom', containerId });
      } catch (err) {
        if (signal.aborted || this.vmError) return;
        const cause = (err as { cause?: unknown }).cause ?? err;
        if (isTtrpcError(cause) && (cause.code === Code.NOT_FOUND || cause.code === Code.UNIMPLEMENTED)) return;
        this.logger.debug({ err }, 'GetOOMEvent failed; retrying');
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
  }

  private mustHave(id: string): ContainerRecord {
    const record = this.containers.get(id);
    if (!record) throw notFound(`task ${id} not found`);
    return record;
  }

  private lookup(id: string, execId: string): { record: ContainerRecord; proc: TaskProcess } {
    const record = this.mustHave(id);
    if (execId === '' || execId === id) return { record, proc: record.init };
    const proc = record.execs.get(execId);
    if (!proc) throw notFound(`exec ${execId} not found in task ${id}`);
    return { record, proc };
  }

  private mustBeUp(): Sandbox {
    if (this.vmError) throw failedPrecondition(`the VM is gone: ${this.vmError.message}`);
    if (!this.sandbox) throw failedPrecondition(`sandbox ${this.opts.sandboxId} is not running`);
    return this.sandbox;
  }
}

function validId(id: string, field: string): void {
  try {
    checkId(id, field);
  } catch (err) {
    throw invalidArgument(field, (err as Error).message);
  }
}

function describe(proc: TaskProcess): string {
  return proc.isInit ? `task ${proc.containerId}` : `exec ${proc.execId} of task ${proc.containerId}`;
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, cb) => cb() });
}

/** Sandbox and agent failures become task errors (INTERNAL unless they say otherwise). */
function asTaskError(err: unknown): Error {
  if (err instanceof TaskError || err instanceof StatusError) return err;
  const e = err as Error;
  const cause = (err as { cause?: unknown }).cause;
  if (isTtrpcError(cause) && cause.code === Code.NOT_FOUND) return taskError('NOT_FOUND', e.message, err);
  return taskError('INTERNAL', e.message ?? String(err), err);
}

function rethrowAsTask(err: unknown): never {
  throw asTaskError(err);
}
