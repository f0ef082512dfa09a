// The long-running shim: one per pod (or per container outside Kubernetes),
// one VM, containerd's task API on a unix socket. `start` spawns it
// detached; it lives until containerd's Shutdown finds no container left
// (or SIGTERM/SIGINT), then stops the VM, removes its socket and directory
// and exits.
//
// It is the second front-end of the task manager (the first is the OCI
// command line's monitor): containerd's requests go through taskService to
// the TaskManager, and the manager's events go to containerd through the
// EventPublisher.
import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { Task } from '../../protocols/gen/containerd/runtime/v2/task/shim_pb.js';
import { Code, Server, type Listener } from '../../ttrpc/index.js';
import type { RuntimeConfig } from '../config/schema.js';
import { TaskManager, type IoOpener } from '../task/task-manager.js';
import { taskService } from '../task/task-service.js';
import { removeShimLeftovers } from './cleanup.js';
import { readBundleFacts } from './grouping.js';
import { shimIoOpener } from './io.js';
import { shimPaths, type ShimPaths } from './layout.js';
import { EventPublisher } from './publisher.js';
import { ownRecord, readShimRecord, shimAlive, writeShimRecord } from './record.js';

export interface ShimDaemonOptions {
  namespace: string;
  /** The id the shim was started for (a pod's sandbox id): the VM's id. */
  id: string;
  /** "unix://..." to serve on. */
  address: string;
  /** The bundle of `id` (the working directory containerd gave). */
  bundle: string;
  config: RuntimeConfig;
  logger: Logger;
  /** containerd's gRPC socket and publish binary (the events fallback). */
  grpcAddress: string;
  publishBinary: string;
  /** containerd's ttRPC socket (TTRPC_ADDRESS). */
  ttrpcAddress: string;
  /** Shim directories' root (layout.ts); default from the environment. */
  runRoot?: string;
  openIo?: IoOpener;
}

/** How long the events still queued at exit may take to go out. */
const EVENTS_DRAIN_MS = 5_000;

export class ShimDaemon {
  readonly paths: ShimPaths;
  readonly tm: TaskManager;
  readonly publisher: EventPublisher;
  private readonly server: Server;
  private listener: Listener | null = null;
  private finishing: Promise<void> | null = null;
  private resolveDone!: (status: number) => void;
  /** Resolves with the exit status once the shim has finished. */
  readonly done: Promise<number>;

  constructor(private readonly opts: ShimDaemonOptions) {
    this.paths = shimPaths(opts.address, opts.runRoot);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.publisher = new EventPublisher({
      namespace: opts.namespace,
      ttrpcAddress: opts.ttrpcAddress,
      grpcAddress: opts.grpcAddress,
      publishBinary: opts.publishBinary,
      logger: opts.logger.child({ part: 'events' }),
    });
    const hostname = readBundleFacts(opts.bundle).hostname;
    this.tm = new TaskManager({
      sandboxId: opts.id,
      config: opts.config,
      runDir: this.paths.vmDir,
      openIo: opts.openIo ?? shimIoOpener(),
      events: this.publisher,
      logger: opts.logger,
      ...(hostname ? { hostname } : {}),
    });
    // containerd's own ttRPC answers an unknown method with UNIMPLEMENTED.
    this.server = new Server({ logger: opts.logger, unknownMethodCode: Code.UNIMPLEMENTED });
    this.server.register(
      Task,
      taskService({
        manager: this.tm,
        ownPid: process.pid,
        onShutdown: (now) => void this.finish(now ? 'shutdown (now) requested' : 'shutdown requested: no task left'),
      }),
    );
  }

  /** Claims the shim directory and listens. Throws if another live shim serves the address. */
  async start(): Promise<void> {
    const { dir, recordFile, socket } = this.paths;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const previous = readShimRecord(recordFile);
    if (shimAlive(previous)) throw new Error(`${this.opts.address} is already served by shim pid ${previous!.pid}`);
    if (previous) {
      // A shim that died here before: what it left must go before the VM directory is reused.
      this.opts.logger.warn({ previous }, 'removing what a dead shim left');
      await removeShimLeftovers(this.paths);
      await mkdir(dir, { recursive: true, mode: 0o700 });
    }
    writeShimRecord(recordFile, ownRecord(this.opts.namespace, this.opts.id, this.opts.address));
    try {
      await mkdir(dirname(socket), { recursive: true, mode: 0o711 });
      this.listener = await this.server.listen(this.opts.address);
      await chmod(socket, 0o600);
    } catch (err) {
      // Ours since the record was written: nothing of it may stay.
      await this.listener?.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    this.opts.logger.info({ address: this.opts.address, dir }, 'shim serving');
  }

  /**
   * Ends the shim: stops accepting connections at once (so that containerd's
   * cleanup sees a shim on its way out), stops the VM, delivers the last
   * events, closes the connections, removes the directory and socket.
   */
  finish(why: string): Promise<void> {
    this.finishing ??= (async () => {
      this.opts.logger.info({ why }, 'shim finishing');
      const listening = this.listener?.close().catch(() => {});
      let status = 0;
      try {
        await this.tm.shutdown();
      } catch (err) {
        status = 1;
        this.opts.logger.error({ err }, 'sandbox shutdown failed');
      }
      await listening;
      await this.publisher.close(EVENTS_DRAIN_MS);
      await this.server.close().catch(() => {});
      try {
        await removeShimLeftovers(this.paths);
      } catch (err) {
        status = 1;
        this.opts.logger.error({ err }, 'shim directory cleanup failed');
      }
      this.opts.logger.info({ status }, 'shim exiting');
      this.resolveDone(status);
    })();
    return this.finishing;
  }
}
