// The per-container monitor of the OCI command line. `create` starts it and
// it outlives that command: it owns the VM, the agent connection, the
// container's stdio and its exit status, and serves containerd's task API on
// a unix socket for the later commands (start, kill, exec, ...).
//
// Its pid is the container's pid for managers (--pid-file, `state`): it
// exits with the container's exit status once the container has stopped and
// the VM is gone, so a subreaper (conmon, containerd's runc shim) that waits
// for it learns how the container ended. The state file records every
// transition, so `state` and `delete` work after it has gone.
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { Task } from '../../protocols/gen/containerd/runtime/v2/task/shim_pb.js';
import { Server } from '../../ttrpc/index.js';
import type { RuntimeConfig } from '../config/schema.js';
import type { TaskEvent } from '../task/events.js';
import type { IoOpener } from '../task/task-manager.js';
import { TaskManager } from '../task/task-manager.js';
import { taskService } from '../task/task-service.js';
import { containerPaths } from './layout.js';
import { processStartTime, updateStateFile, type ContainerStateRecord, type ContainerStatus } from './state-file.js';

export interface MonitorOptions {
  root: string;
  id: string;
  config: RuntimeConfig;
  /** Guest hostname (the spec's). */
  hostname?: string;
  /** The `create` command's pid: if it dies before the container is created, the monitor gives up. */
  creatorPid: number;
  openIo: IoOpener;
  logger: Logger;
  /** Ends the process (tests pass their own). */
  exit(status: number): void;
}

/** How often the creator's liveness is checked while creating. */
const CREATOR_POLL_MS = 250;

export class Monitor {
  readonly tm: TaskManager;
  private readonly server: Server;
  private readonly paths;
  private created = false;
  private oomKills = 0;
  private finishing: Promise<void> | null = null;
  private creatorWatch: NodeJS.Timeout | undefined;

  constructor(private readonly opts: MonitorOptions) {
    this.paths = containerPaths(opts.root, opts.id);
    this.tm = new TaskManager({
      sandboxId: opts.id,
      config: opts.config,
      runDir: this.paths.vmDir,
      openIo: opts.openIo,
      logger: opts.logger,
      reportedPid: () => process.pid,
      ...(opts.hostname ? { hostname: opts.hostname } : {}),
      events: { publish: (e) => this.onEvent(e) },
    });
    this.server = new Server({ logger: opts.logger });
    this.server.register(
      Task,
      taskService({
        manager: this.tm,
        ownPid: process.pid,
        onShutdown: () => void this.finish(0, 'shutdown requested'),
      }),
    );
  }

  /** Listens on the task socket and starts booting the VM. */
  async start(): Promise<void> {
    await mkdir(dirname(this.paths.vmDir), { recursive: true, mode: 0o700 });
    await this.server.listen(`unix://${this.paths.taskSocket}`);
    void this.tm.boot().catch((err: unknown) => {
      this.opts.logger.error({ err }, 'the VM did not start');
    });
    const creator = processStartTime(this.opts.creatorPid);
    this.creatorWatch = setInterval(() => {
      if (this.created) return;
      if (creator === null || processStartTime(this.opts.creatorPid) !== creator) {
        void this.finish(1, 'the create command went away before the container was created');
      }
    }, CREATOR_POLL_MS);
  }

  private setStatus(status: ContainerStatus, extra: { exitStatus?: number; error?: string } = {}): void {
    this.update({ status, ...extra });
  }

  private update(change: Partial<ContainerStateRecord>): void {
    try {
      updateStateFile(this.paths.stateFile, change);
    } catch (err) {
      // A full disk must not end the monitor: `state` then reads the truth from its liveness.
      try {
        this.opts.logger.error({ err, change }, 'could not record the container state');
      } catch {
        // the log is on the same disk
      }
    }
  }

  private onEvent(e: TaskEvent): void {
    this.opts.logger.debug({ event: e }, 'task event');
    if (e.containerId !== this.opts.id) return;
    switch (e.topic) {
      case '/tasks/create':
        this.created = true;
        this.setStatus('created');
        break;
      case '/tasks/start':
      case '/tasks/resumed':
        this.setStatus('running');
        break;
      case '/tasks/paused':
        this.setStatus('paused');
        break;
      case '/tasks/oom':
        this.oomKills++;
        this.update({ oomKills: this.oomKills });
        break;
      case '/tasks/exit':
        if (e.id === e.containerId) {
          const vmError = this.tm.vmError?.message;
          this.setStatus('stopped', { exitStatus: e.exitStatus, ...(vmError ? { error: vmError } : {}) });
          // Let the answers to Wait go out before the connection closes.
          setTimeout(() => void this.finish(e.exitStatus, 'the container stopped'), 100);
        }
        break;
      default:
        break;
    }
  }

  /**
   * Ends the monitor: the VM is torn down, the socket closed, the state
   * file says stopped, and the process exits with `status`.
   */
  finish(status: number, why: string): Promise<void> {
    this.finishing ??= (async () => {
      this.opts.logger.info({ status, why }, 'monitor finishing');
      clearInterval(this.creatorWatch);
      await this.tm.shutdown().catch((err: unknown) => this.opts.logger.error({ err }, 'sandbox shutdown failed'));
      this.setStatus('stopped', { ...(this.created ? {} : { error: why }), exitStatus: status });
      await this.server.close().catch(() => {});
      await rm(this.paths.taskSocket, { force: true }).catch(() => {});
      this.opts.exit(status);
    })();
    return this.finishing;
  }
}
