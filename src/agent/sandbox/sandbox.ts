// The sandbox: everything the agent holds between RPCs. Its containers, the
// storages mounted for them, the hotplug event monitor, the OOM watcher and
// the per-container PCI address maps. Operations on it live in files of their
// own beside this one (create-container.ts, ...); the RPC layer calls them.
import { join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import type { Logger } from '../../common/logger.js';
import type { AgentConfig } from '../config.js';
import { OciRuntime } from '../container/oci-runtime.js';
import { Reaper } from '../process/reaper.js';
import type { Container } from '../container/container.js';
import type { ContainerContext } from '../container/context.js';
import { invalidContainerId } from '../container/errors.js';
import { StorageManager } from '../storage/index.js';
import { UeventMonitor } from '../uevent/index.js';
import { OomWatcher } from '../cgroups/index.js';
import type { PciHostGuestMap } from '../../oci/pci/index.js';
import type { DeviceContext } from '../device/handler.js';
import type { SandboxPidNamespace } from './pid-namespace.js';
import type { GuestHooks } from './guest-hooks.js';

export interface SandboxOptions {
  config: AgentConfig;
  logger: Logger;
  /** sysfs and /dev roots: the real ones except in tests with fake trees. */
  sysfsRoot?: string;
  devRoot?: string;
  /** Listen for kernel uevents on netlink (true in a VM; tests inject events instead). */
  netlinkUevents?: boolean;
}

export class Sandbox {
  readonly containers = new Map<string, Container>();
  /** Host -> guest PCI addresses of each container's VFIO devices, for PCIDEVICE_* variables. */
  readonly pciMaps = new Map<string, PciHostGuestMap>();
  /** Container ids being created, so that two concurrent creates of one id cannot both proceed. */
  readonly creating = new Set<string>();
  sandboxId = '';
  hostname = '';
  /** Set by CreateSandbox. */
  created = false;
  /** The pid namespace containers created with sandbox_pidns join. */
  pidNamespace: SandboxPidNamespace | undefined;
  /** OCI hooks found under CreateSandbox's guest_hook_path, added to every container. */
  guestHooks: GuestHooks | undefined;

  private constructor(
    readonly config: AgentConfig,
    readonly logger: Logger,
    readonly sysfsRoot: string,
    readonly devRoot: string,
    readonly containerCtx: ContainerContext,
    readonly storages: StorageManager,
    readonly uevents: UeventMonitor,
    readonly oom: OomWatcher,
  ) {}

  static async open(opts: SandboxOptions): Promise<Sandbox> {
    const { config, logger } = opts;
    const sysfsRoot = opts.sysfsRoot ?? '/sys';
    const devRoot = opts.devRoot ?? '/dev';
    const stateDir = config.stateDir;
    await mkdir(stateDir, { recursive: true, mode: 0o755 });
    const runtime = await OciRuntime.open({ runtime: config.ociRuntime, root: join(stateDir, 'oci-runtime'), logger });
    const containerCtx: ContainerContext = {
      runtime,
      reaper: Reaper.shared({ logger }),
      bundleRoot: join(stateDir, 'bundles'),
      socketDir: join(stateDir, 'sockets'),
      logger,
    };
    await mkdir(containerCtx.socketDir, { recursive: true, mode: 0o700 });
    const uevents = new UeventMonitor({ sysfsRoot, logger });
    if (opts.netlinkUevents) uevents.startNetlink();
    const storages = new StorageManager({ rootDir: stateDir, sysfsRoot, devRoot, logger });
    const oom = new OomWatcher({ logger });
    logger.info({ runtime: runtime.path, kind: runtime.kind, stateDir }, 'sandbox ready');
    return new Sandbox(config, logger, sysfsRoot, devRoot, containerCtx, storages, uevents, oom);
  }

  /** What device handlers need. */
  deviceContext(): DeviceContext {
    return {
      sysfsRoot: this.sysfsRoot,
      devRoot: this.devRoot,
      uevents: this.uevents,
      hotplugTimeoutMs: this.config.hotplugTimeoutMs,
      logger: this.logger,
    };
  }

  /** The container with this id; NOT_FOUND "Invalid container id" otherwise. */
  container(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw invalidContainerId(id);
    return c;
  }

  /** Removes one container and releases what it held. */
  async removeContainer(id: string, timeoutSeconds: number): Promise<void> {
    const c = this.container(id);
    await c.remove(timeoutSeconds);
    this.containers.delete(id);
    this.pciMaps.delete(id);
    await this.oom.unregister(id);
    await this.storages.release(id);
  }

  /**
   * DestroySandbox: every container killed and removed, every storage
   * unmounted, the sandbox pid namespace ended. The agent keeps serving (a
   * new CreateSandbox may follow). Errors are collected so one failure does
   * not leave the rest behind; the first is thrown.
   */
  async teardown(): Promise<void> {
    const errors: unknown[] = [];
    for (const id of [...this.containers.keys()]) {
      await this.removeContainer(id, 10).catch((err: unknown) => errors.push(err));
    }
    await this.storages.releaseAll().catch((err: unknown) => errors.push(err));
    await this.pidNamespace?.stop().catch((err: unknown) => errors.push(err));
    this.pidNamespace = undefined;
    this.guestHooks = undefined;
    this.created = false;
    this.sandboxId = '';
    if (errors.length > 0) throw errors[0];
  }

  /** Agent shutdown: teardown, then the event monitors and the socket directory. */
  async destroy(): Promise<void> {
    const errors: unknown[] = [];
    await this.teardown().catch((err: unknown) => errors.push(err));
    this.oom.close();
    this.uevents.close();
    await rm(this.containerCtx.socketDir, { recursive: true, force: true }).catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw errors[0];
  }
}
