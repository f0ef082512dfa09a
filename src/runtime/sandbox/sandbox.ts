// The sandbox manager: one VM, the agent in it, and the containers it runs.
//
//   const sb = await Sandbox.create({ id, config, runRoot });  // VM up, CreateSandbox done
//   await sb.createContainer({ id: cid, spec, bundleDir });     // rootfs shared, disks plugged, CreateContainer
//   await sb.startContainer(cid);
//   const io = sb.attach(cid, { stdin, stdout, stderr });
//   const status = await sb.waitProcess(cid);
//   await io.done;
//   await sb.execProcess(cid, 'e1', process);                 // another process in the running container
//   const eio = sb.attach(cid, { execId: 'e1', stdout, stderr });
//   const estatus = await sb.waitProcess(cid, 'e1');
//   await sb.destroy();                                        // containers removed, VM stopped, files gone
//
// State lives in <runRoot>/<id>/: the VM's sockets and console log, and
// shared/, the directory the guest mounts as /run/kata-containers/shared/containers/.
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../../common/logger.js';
import { silentLogger } from '../../common/logger.js';
import { processToProto, resourcesToProto, specToProto } from '../../oci/convert.js';
import { parseProcess, type LinuxResources, type Spec } from '../../oci/spec.js';
import type { DeviceSchema, StatsContainerResponse } from '../../protocols/gen/agent_pb.js';
import { Code, isTtrpcError } from '../../ttrpc/index.js';
import type { RuntimeConfig } from '../config/schema.js';
import { DiskHotplugger, type PluggedDisk } from '../qemu/hotplug.js';
import { Vm } from '../qemu/vm.js';
import { findBlockDevices } from './block-devices.js';
import { checkNamespacePaths } from './namespace-paths.js';
import { SandboxError } from './errors.js';
import { checkId } from './ids.js';

export { checkId };
import { toGuestSpec } from './guest-spec.js';
import { SharedDir } from './shared-dir.js';
import { relayInput, relayOutput, type ProcessRef } from './stdio.js';
import { sharedFsStorage, type StorageInit } from './storage.js';

export interface SandboxOptions {
  id: string;
  config: RuntimeConfig;
  /** Parent of the sandbox's state directory (<runRoot>/<id>). */
  runRoot: string;
  /**
   * The state directory itself, instead of <runRoot>/<id> (its parent must
   * exist). Unix socket paths are limited to 107 bytes: callers with long
   * ids pick a short directory.
   */
  runDir?: string;
  /** Guest hostname; default: the sandbox id (at most 64 characters, as Kata). */
  hostname?: string;
  logger?: Logger;
  /** Aborting it during create() stops the boot; create() rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface ContainerOptions {
  id: string;
  /** A validated spec (parseSpec). */
  spec: Spec;
  /** Relative root.path and bind mount sources are taken relative to it. */
  bundleDir: string;
}

export interface AttachOptions {
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Only stdout is read for a process with a terminal. */
  terminal?: boolean;
  /** The exec to attach to (execProcess); default: the container's own process. */
  execId?: string;
}

export interface Attachment {
  /** Settles when stdout and stderr have reached their end. */
  outputDone: Promise<void>;
  /** Stops feeding stdin (call once the process has exited). */
  stopInput(): void;
  inputDone: Promise<void>;
}

interface ContainerState {
  disks: PluggedDisk[];
  created: boolean;
  /** Exec ids started with execProcess and not yet waited for. */
  execs: Set<string>;
}

/** Deadline of ordinary agent calls (Kata: 60 s); waits and reads have none. */
const AGENT_CALL_TIMEOUT_MS = 60_000;
const SIGKILL = 9;

export class Sandbox {
  readonly id: string;
  readonly runDir: string;
  readonly vm: Vm;
  private readonly shared: SharedDir;
  private readonly hotplug: DiskHotplugger;
  private readonly logger: Logger;
  private readonly containers = new Map<string, ContainerState>();
  private seccompSupported = false;
  /**
   * The shared filesystem's storage, when the agent has no CreateSandbox
   * (older agents): it then goes with the first CreateContainer instead.
   */
  private pendingSharedStorage: StorageInit | undefined;
  private destroying: Promise<void> | null = null;

  private constructor(id: string, runDir: string, vm: Vm, shared: SharedDir, config: RuntimeConfig, logger: Logger) {
    this.id = id;
    this.runDir = runDir;
    this.vm = vm;
    this.shared = shared;
    this.logger = logger;
    this.hotplug = new DiskHotplugger(vm.qmp, config.qemu.pcieRootPorts, 10_000, config.agent.hotplugTimeoutMs);
  }

  /** Starts the VM and sets up the sandbox in it. On failure nothing is left behind. */
  static async create(opts: SandboxOptions): Promise<Sandbox> {
    checkId(opts.id, 'sandbox id');
    const logger = (opts.logger ?? silentLogger).child({ sandbox: opts.id });
    const runDir = opts.runDir ?? join(opts.runRoot, opts.id);
    if (opts.runDir === undefined) await mkdir(opts.runRoot, { recursive: true, mode: 0o700 });
    try {
      await mkdir(runDir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new SandboxError(`sandbox ${opts.id} already exists (${runDir})`);
      throw err;
    }
    let shared: SharedDir | undefined;
    let vm: Vm | undefined;
    try {
      shared = await SharedDir.create(join(runDir, 'shared'), logger);
      vm = await Vm.start({ id: opts.id, runDir, config: opts.config, sharedDir: shared.hostDir, logger, ...(opts.signal ? { signal: opts.signal } : {}) });
      const sandbox = new Sandbox(opts.id, runDir, vm, shared, opts.config, logger);
      await sandbox.setUp(opts.hostname ?? opts.id.slice(0, 64), opts.config);
      opts.signal?.throwIfAborted();
      return sandbox;
    } catch (err) {
      await vm?.stop().catch(() => {});
      await shared?.destroy().catch((e: unknown) => logger.warn({ err: e }, 'shared directory cleanup failed'));
      await rm(runDir, { recursive: true, force: true }).catch(() => {});
      throw err;
    }
  }

  private async setUp(hostname: string, config: RuntimeConfig): Promise<void> {
    const storage = sharedFsStorage(config.qemu.sharedFs, config.qemu.msize9p);
    try {
      await this.agentCall('CreateSandbox', () =>
        this.vm.agent.createSandbox({ hostname, sandboxId: this.id, storages: [storage], sandboxPidns: false }, { timeoutMs: AGENT_CALL_TIMEOUT_MS }),
      );
    } catch (err) {
      if (!(err instanceof SandboxError && isTtrpcError(err.cause) && err.cause.code === Code.NOT_FOUND)) throw err;
      this.logger.info('the agent has no CreateSandbox: the shared filesystem is mounted with the first container');
      this.pendingSharedStorage = storage;
    }
    const details = await this.agentCall('GetGuestDetails', () =>
      this.vm.agent.getGuestDetails({ memBlockSize: true, memHotplugProbe: true }, { timeoutMs: AGENT_CALL_TIMEOUT_MS }),
    );
    this.seccompSupported = details.agentDetails?.supportsSeccomp ?? false;
  }

  /**
   * Creates a container (not started): shares its rootfs and bind mount
   * sources, hot-plugs its block devices, then CreateContainer. A failure
   * undoes all of it.
   */
  async createContainer(opts: ContainerOptions): Promise<void> {
    checkId(opts.id, 'container id');
    if (this.containers.has(opts.id)) throw new SandboxError(`container ${opts.id} already exists in sandbox ${this.id}`);
    const state: ContainerState = { disks: [], created: false, execs: new Set() };
    this.containers.set(opts.id, state);
    try {
      const spec = opts.spec;
      const rootPath = spec.root?.path;
      if (!rootPath) throw new SandboxError('root.path: the spec names no root filesystem');
      await checkNamespacePaths(spec);
      const blockDevices = await findBlockDevices(spec);
      if (blockDevices.length > this.hotplug.freePorts) {
        throw new SandboxError(`linux.devices: ${blockDevices.length} block devices but only ${this.hotplug.freePorts} free PCIe root ports (hypervisor.qemu.pcie_root_port)`);
      }

      await this.shared.shareRootfs(opts.id, resolve(opts.bundleDir, rootPath));
      const mountSources = new Map<number, string>();
      for (const [i, m] of (spec.mounts ?? []).entries()) {
        if (!isBindMount(m)) continue;
        if (!m.source) {
          throw new SandboxError(`mounts[${i}].source: a bind mount needs a host path (got ${JSON.stringify(m.source)})`);
        }
        mountSources.set(i, await this.shared.shareMountSource(opts.id, i, resolve(opts.bundleDir, m.source)));
      }

      const devices: MessageInitShape<typeof DeviceSchema>[] = [];
      for (const dev of blockDevices) {
        const disk = await this.hotplug.plug(dev);
        state.disks.push(disk);
        this.logger.debug({ container: opts.id, source: dev.path, pciPath: disk.pciPath, containerPath: dev.containerPath }, 'disk plugged');
        devices.push({ id: disk.pciPath, type: 'blk', vmPath: '', containerPath: dev.containerPath, options: [] });
      }

      const guest = toGuestSpec(spec, { containerId: opts.id, seccompSupported: this.seccompSupported, mountSources });
      const storages = this.pendingSharedStorage ? [this.pendingSharedStorage] : [];
      await this.agentCall('CreateContainer', () =>
        this.vm.agent.createContainer(
          { containerId: opts.id, execId: opts.id, devices, storages, OCI: specToProto(guest.spec), sandboxPidns: guest.sandboxPidns },
          { timeoutMs: AGENT_CALL_TIMEOUT_MS },
        ),
      );
      this.pendingSharedStorage = undefined;
      state.created = true;
    } catch (err) {
      await this.releaseContainer(opts.id, true).catch((e: unknown) => this.logger.warn({ err: e }, 'rollback of a failed CreateContainer'));
      throw err;
    }
  }

  async startContainer(containerId: string): Promise<void> {
    this.mustHave(containerId);
    await this.agentCall('StartContainer', () => this.vm.agent.startContainer({ containerId }, { timeoutMs: AGENT_CALL_TIMEOUT_MS }));
  }

  /**
   * Starts another process in a running container (ExecProcess). `process`
   * is an OCI process object (JSON); it is validated first. Attach to it and
   * wait for it with its exec id.
   */
  async execProcess(containerId: string, execId: string, process: unknown): Promise<void> {
    const state = this.mustHave(containerId);
    checkId(execId, 'exec id');
    if (execId === containerId) throw new SandboxError(`exec id ${execId}: the container's own process has that id`);
    if (state.execs.has(execId)) throw new SandboxError(`exec id ${execId}: an exec with that id already runs in container ${containerId}`);
    const proc = parseProcess(process, { pathPrefix: 'process' });
    // As for the container's own process (guest-spec.ts): the guest has no SELinux labels.
    delete proc.selinuxLabel;
    state.execs.add(execId);
    try {
      await this.agentCall('ExecProcess', () =>
        this.vm.agent.execProcess({ containerId, execId, process: processToProto(proc) }, { timeoutMs: AGENT_CALL_TIMEOUT_MS }),
      );
    } catch (err) {
      state.execs.delete(execId);
      throw err;
    }
  }

  /**
   * Relays the stdio of one process: the container's own (start it after
   * StartContainer) or an exec's (opts.execId, after execProcess).
   */
  attach(containerId: string, opts: AttachOptions): Attachment {
    const proc = this.processRef(containerId, opts.execId);
    const readers = [this.agentCall('ReadStdout', () => relayOutput(this.vm.agent, proc, 'stdout', opts.stdout))];
    if (!opts.terminal) readers.push(this.agentCall('ReadStderr', () => relayOutput(this.vm.agent, proc, 'stderr', opts.stderr)));
    const input = opts.stdin ? relayInput(this.vm.agent, proc, opts.stdin) : undefined;
    const inputDone = input ? this.agentCall('WriteStdin', () => input.done) : Promise.resolve();
    inputDone.catch(() => {});
    return {
      outputDone: Promise.all(readers).then(() => {}),
      stopInput: () => input?.stop(),
      inputDone,
    };
  }

  /** Waits for the process to exit; resolves with its status (exit code, or 128 + signal). */
  async waitProcess(containerId: string, execId = containerId): Promise<number> {
    this.processRef(containerId, execId);
    const { status } = await this.agentCall('WaitProcess', () => this.vm.agent.waitProcess({ containerId, execId }));
    // The agent forgets an exec once it has been waited for.
    if (execId !== containerId) this.containers.get(containerId)?.execs.delete(execId);
    return status;
  }

  /** Sets the window size of the process's terminal. */
  async resizeTerminal(containerId: string, rows: number, columns: number, execId = containerId): Promise<void> {
    this.processRef(containerId, execId);
    await this.agentCall('TtyWinResize', () =>
      this.vm.agent.ttyWinResize({ containerId, execId, row: rows, column: columns }, { timeoutMs: AGENT_CALL_TIMEOUT_MS }),
    );
  }

  /**
   * Sends a signal to one process of the container (its own by default, or
   * an exec) or, with `all`, to every process in it.
   */
  async signalProcess(containerId: string, signal: number, all = false, execId = containerId): Promise<void> {
    if (!all) this.processRef(containerId, execId);
    else this.mustHave(containerId);
    await this.agentCall('SignalProcess', () =>
      this.vm.agent.signalProcess({ containerId, execId: all ? '' : execId, signal }, { timeoutMs: AGENT_CALL_TIMEOUT_MS }),
    );
  }

  /** Closes the process's stdin (CloseStdin). */
  async closeStdin(containerId: string, execId = containerId): Promise<void> {
    this.processRef(containerId, execId);
    await this.agentCall('CloseStdin', () => this.vm.agent.closeStdin({ containerId, execId }, { timeoutMs: AGENT_CALL_TIMEOUT_MS }));
  }

  /** Freezes every process of the container (PauseContainer). */
  async pauseContainer(containerId: string): Promise<void> {
    this.mustHave(containerId);
    await this.agentCall('PauseContainer', () => this.vm.agent.pauseContainer({ containerId }, { timeoutMs: AGENT_CALL_TIMEOUT_MS }));
  }

  /** Thaws the container (ResumeContainer). */
  async resumeContainer(containerId: string): Promise<void> {
    this.mustHave(containerId);
    await this.agentCall('ResumeContainer', () => this.vm.agent.resumeContainer({ containerId }, { timeoutMs: AGENT_CALL_TIMEOUT_MS }));
  }

  /** The container's cgroup statistics in the guest (StatsContainer). */
  async statsContainer(containerId: string): Promise<StatsContainerResponse> {
    this.mustHave(containerId);
    return this.agentCall('StatsContainer', () => this.vm.agent.statsContainer({ containerId }, { timeoutMs: AGENT_CALL_TIMEOUT_MS }));
  }

  /** Changes the container's resource limits (UpdateContainer); `resources` is validated OCI JSON. */
  async updateContainer(containerId: string, resources: LinuxResources): Promise<void> {
    this.mustHave(containerId);
    await this.agentCall('UpdateContainer', () =>
      this.vm.agent.updateContainer({ containerId, resources: resourcesToProto(resources) }, { timeoutMs: AGENT_CALL_TIMEOUT_MS }),
    );
  }

  /** The container's processes as the guest sees them: "json" gives a JSON array of pids, "table" ps(1) output. */
  async listProcesses(containerId: string, format: 'json' | 'table', args: string[] = []): Promise<Uint8Array> {
    this.mustHave(containerId);
    const res = await this.agentCall('ListProcesses', () =>
      this.vm.agent.listProcesses({ containerId, format, args }, { timeoutMs: AGENT_CALL_TIMEOUT_MS }),
    );
    return res.processList;
  }

  /**
   * Waits for the next out-of-memory kill in the guest (GetOOMEvent) and
   * resolves with the id of the container it hit. Aborting `signal` ends the wait.
   */
  async nextOomEvent(signal?: AbortSignal): Promise<string> {
    const { containerId } = await this.agentCall('GetOOMEvent', () => this.vm.agent.getOOMEvent({}, signal ? { signal } : {}));
    return containerId;
  }

  /** Whether the container exists in this sandbox. */
  hasContainer(containerId: string): boolean {
    return this.containers.has(containerId);
  }

  /**
   * Removes a container: kills what still runs in it, RemoveContainer,
   * unplugs its disks (unless the whole VM is about to go) and unshares its files.
   */
  async removeContainer(containerId: string, opts: { unplug?: boolean } = {}): Promise<void> {
    const state = this.mustHave(containerId);
    if (state.created && !this.vm.exitError) {
      await this.agentCall('SignalProcess', () =>
        this.vm.agent.signalProcess({ containerId, execId: '', signal: SIGKILL }, { timeoutMs: AGENT_CALL_TIMEOUT_MS }),
      ).catch((err: unknown) => this.logger.debug({ err }, 'SignalProcess before removal'));
      await this.agentCall('RemoveContainer', () =>
        this.vm.agent.removeContainer({ containerId, timeout: 0 }, { timeoutMs: AGENT_CALL_TIMEOUT_MS }),
      );
      state.created = false;
    }
    await this.releaseContainer(containerId, opts.unplug ?? true);
  }

  /**
   * Tears everything down: containers, DestroySandbox, the VM, the shared
   * directory and the state directory. Errors are logged, not thrown, so
   * that cleanup always runs to the end. Safe to call more than once.
   */
  destroy(): Promise<void> {
    this.destroying ??= this.doDestroy();
    return this.destroying;
  }

  private async doDestroy(): Promise<void> {
    const alive = () => !this.vm.exitError && !this.vm.ttrpc.closed;
    for (const id of [...this.containers.keys()]) {
      if (alive()) {
        await this.removeContainer(id, { unplug: false }).catch((err: unknown) => this.logger.warn({ err, container: id }, 'container removal failed'));
      }
      await this.releaseContainer(id, false).catch(() => {});
    }
    if (alive()) {
      await this.vm.agent
        .destroySandbox({}, { timeoutMs: 10_000 })
        .catch((err: unknown) => this.logger.warn({ err }, 'DestroySandbox failed'));
    }
    await this.vm.stop().catch((err: unknown) => this.logger.warn({ err }, 'VM stop failed'));
    let sharedGone = true;
    await this.shared.destroy().catch((err: unknown) => {
      sharedGone = false;
      this.logger.warn({ err }, 'shared directory cleanup failed');
    });
    if (sharedGone) await rm(this.runDir, { recursive: true, force: true }).catch(() => {});
  }

  private async releaseContainer(containerId: string, unplug: boolean): Promise<void> {
    const state = this.containers.get(containerId);
    if (!state) return;
    if (unplug && !this.vm.exitError) {
      for (const disk of state.disks.splice(0)) {
        await this.hotplug.unplug(disk).catch((err: unknown) => this.logger.warn({ err, disk }, 'disk unplug failed'));
      }
    }
    await this.shared.unshareContainer(containerId);
    this.containers.delete(containerId);
  }

  /** Names one process of a container: its own (execId absent or the container id) or a running exec. */
  private processRef(containerId: string, execId: string | undefined): ProcessRef {
    const state = this.mustHave(containerId);
    if (execId === undefined || execId === containerId) return { containerId, execId: containerId };
    if (!state.execs.has(execId)) throw new SandboxError(`no exec ${execId} in container ${containerId} of sandbox ${this.id}`);
    return { containerId, execId };
  }

  private mustHave(containerId: string): ContainerState {
    const state = this.containers.get(containerId);
    if (!state) throw new SandboxError(`no container ${containerId} in sandbox ${this.id}`);
    return state;
  }

  /**
   * Runs an agent call. If it fails because the VM went away, the error
   * says so (QEMU's exit and the console) instead of "connection closed".
   */
  private async agentCall<T>(what: string, call: () => Promise<T>): Promise<T> {
    if (this.vm.exitError) throw this.vm.exitError;
    try {
      return await call();
    } catch (err) {
      if (isTtrpcError(err) && (err.code === Code.UNAVAILABLE || err.code === Code.CANCELLED)) {
        const exit = await this.vm.exitErrorWithin(1000);
        if (exit) throw exit;
      }
      if (err instanceof Error && isTtrpcError(err)) {
        throw new SandboxError(`${what} failed: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }
}

function isBindMount(m: NonNullable<Spec['mounts']>[number]): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}
