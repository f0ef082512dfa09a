// One sandbox VM: QEMU (plus virtiofsd for virtio-fs), its QMP connection and
// the ttRPC connection to the agent inside.
//
//   const vm = await Vm.start({ id, runDir, config, sharedDir });   // returns once the agent answers
//   await vm.agent.createSandbox({...});
//   await vm.stop();                                                // QEMU gone, files removed
//
// Files (all inside runDir, all removed by stop()): qmp.sock, agent.sock
// (the host end of the agent's virtio-serial port, when that is the agent
// channel; see agent-channel.ts), console.log (the guest's serial console)
// and, for virtio-fs, virtiofsd.sock.
//
// Failures are reported with the evidence: QEMU's stderr and the last lines
// of the guest console.
import { access, unlink } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logger.js';
import { silentLogger } from '../../common/logger.js';
import { AgentService } from '../../protocols/gen/agent_pb.js';
import { Health } from '../../protocols/gen/health_pb.js';
import { Client, createClient, DeadlineExceededError, type ServiceClient } from '../../ttrpc/index.js';
import { connectUnix } from '../../ttrpc/transport/unix.js';
import { connectVsock, VsockUnavailableError } from '../../ttrpc/transport/vsock.js';
import type { RuntimeConfig } from '../config/schema.js';
import { chooseAccelerator, type Accelerator } from './accel.js';
import { AGENT_VSOCK_PORT, chooseAgentChannel, type AgentChannel } from './agent-channel.js';
import { ConsoleMarkers, type BootTimeline } from './boot-timeline.js';
import { OwnedChild, type ChildExit } from './child.js';
import { agentServerAddr, buildKernelCmdline, buildQemuArgs, AGENT_PORT_ID, type SharedFsDevice } from './cmdline.js';
import { formatConsoleTail, tailFile } from './console-log.js';
import { AgentTimeoutError, VmBootError, VmExitedError, VmStartError } from './errors.js';
import { QmpClient } from './qmp.js';
import { Virtiofsd } from './virtiofsd.js';

export type AgentClient = ServiceClient<typeof AgentService>;
export type HealthClient = ServiceClient<typeof Health>;

export interface VmOptions {
  /** Sandbox id (names the QEMU process). */
  id: string;
  /** An existing directory for the VM's sockets and console log. */
  runDir: string;
  config: Pick<RuntimeConfig, 'qemu' | 'agent'>;
  /** Host directory shared with the guest as "kataShared" (config.qemu.sharedFs says how). */
  sharedDir?: string;
  logger?: Logger;
  /** Aborting it while the VM boots kills QEMU; start() then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Each Health.Check while waiting for the agent gets this long before the next is sent. */
const CHECK_INTERVAL_MS = 1000;
/** Each vsock connection attempt while the guest boots gets this long (the kernel's own default is 2 s). */
const VSOCK_ATTEMPT_MS = 2000;
/** Pause between vsock connection attempts. */
const VSOCK_RETRY_MS = 100;
/** How long QEMU gets to exit after "quit" before it is killed. */
const QUIT_GRACE_MS = 3000;

export class Vm {
  readonly id: string;
  readonly accel: Accelerator;
  readonly timeline: BootTimeline = { checkAttempts: 0 };
  readonly consoleLog: string;
  readonly qmpSocket: string;
  /** Host end of the agent's virtio-serial port (unused with a vsock channel). */
  readonly agentSocket: string;
  readonly agentChannel: AgentChannel;
  /** The ttRPC connection to the agent (both services share it). */
  ttrpc!: Client;
  agent!: AgentClient;
  health!: HealthClient;
  qmp!: QmpClient;

  private readonly qemu: OwnedChild;
  private readonly virtiofsd: Virtiofsd | undefined;
  private readonly logger: Logger;
  private readonly spawnedAt: number;
  private stopping: Promise<void> | null = null;
  private unexpectedExit: VmExitedError | null = null;
  private exitExplained: Promise<void> = new Promise(() => {});
  private readonly exitListeners = new Set<(err: VmExitedError) => void>();

  private constructor(opts: VmOptions, accel: Accelerator, channel: AgentChannel, qemu: OwnedChild, virtiofsd: Virtiofsd | undefined, files: { consoleLog: string; qmpSocket: string; agentSocket: string }) {
    this.id = opts.id;
    this.accel = accel;
    this.agentChannel = channel;
    this.qemu = qemu;
    this.virtiofsd = virtiofsd;
    this.logger = opts.logger ?? silentLogger;
    this.spawnedAt = performance.now();
    this.consoleLog = files.consoleLog;
    this.qmpSocket = files.qmpSocket;
    this.agentSocket = files.agentSocket;
    this.exitExplained = qemu.exited.then((exit) => this.onQemuExit(exit));
  }

  /** Starts QEMU and waits until the agent answers Health.Check. On failure nothing is left running. */
  static async start(opts: VmOptions): Promise<Vm> {
    const logger = opts.logger ?? silentLogger;
    const { qemu: q, agent: a } = opts.config;
    await mustExist(q.path, 'hypervisor.qemu.path', fsConstants.X_OK);
    await mustExist(q.kernel, 'hypervisor.qemu.kernel');
    await mustExist(q.initrd, 'hypervisor.qemu.initrd');

    const decision = await chooseAccelerator(q.path, q.accel);
    logger.info({ accel: decision.accel, reason: decision.reason }, 'accelerator chosen');
    // Before anything is started: an unusable "vsock" fails here, leaving nothing behind.
    const { channel, reason } = await chooseAgentChannel(a.channel, { guestCid: a.vsockGuestCid });
    logger.info({ channel: channel.kind, ...(channel.kind === 'vsock' ? { guestCid: channel.guestCid } : {}), reason }, 'agent channel chosen');

    const files = {
      consoleLog: join(opts.runDir, 'console.log'),
      qmpSocket: join(opts.runDir, 'qmp.sock'),
      agentSocket: join(opts.runDir, 'agent.sock'),
    };
    let virtiofsd: Virtiofsd | undefined;
    let sharedFs: SharedFsDevice | undefined;
    if (opts.sharedDir !== undefined) {
      if (q.sharedFs === 'virtio-fs') {
        const socket = join(opts.runDir, 'virtiofsd.sock');
        virtiofsd = await Virtiofsd.start({ binary: q.virtioFsDaemon, socket, sharedDir: opts.sharedDir, debug: q.debug });
        sharedFs = { kind: 'virtio-fs', socket };
      } else {
        sharedFs = { kind: 'virtio-9p', hostDir: opts.sharedDir };
      }
    }

    const kernelCmdline = buildKernelCmdline({
      agentServerAddr: agentServerAddr(channel.kind),
      debug: q.debug,
      hotplugTimeoutMs: a.hotplugTimeoutMs,
      debugConsole: a.debugConsole,
      extra: q.kernelParams,
    });
    const args = buildQemuArgs({
      name: `kata-ts-${opts.id}`,
      accel: decision.accel,
      vcpus: q.vcpus,
      memoryMiB: q.memoryMiB,
      kernel: q.kernel,
      initrd: q.initrd,
      kernelCmdline,
      consoleLog: files.consoleLog,
      qmpSocket: files.qmpSocket,
      agentChannel: channel.kind === 'vsock' ? channel : { kind: 'virtio-serial', socket: files.agentSocket },
      pcieRootPorts: q.pcieRootPorts,
      ...(sharedFs ? { sharedFs } : {}),
    });
    logger.debug({ qemu: q.path, args }, 'starting QEMU');
    const child = new OwnedChild('qemu', q.path, args);
    const vm = new Vm(opts, decision.accel, channel, child, virtiofsd, files);
    const onAbort = () => child.process.kill('SIGKILL');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      opts.signal?.throwIfAborted();
      await vm.boot(a.dialTimeoutMs, q.debug);
    } catch (err) {
      await vm.stop().catch((e: unknown) => logger.warn({ err: e }, 'cleanup after a failed start'));
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    logger.info({ timeline: vm.timeline }, 'agent ready');
    return vm;
  }

  /** QEMU's pid. */
  get pid(): number | undefined {
    return this.qemu.pid;
  }

  /** The error describing QEMU's unexpected end, if it ended without stop(). */
  get exitError(): VmExitedError | null {
    return this.unexpectedExit;
  }

  /**
   * The unexpected-exit error if QEMU has ended (or ends within `waitMs`)
   * without stop(); null otherwise. For callers whose agent call just failed
   * with a closed connection and who want the real reason.
   */
  async exitErrorWithin(waitMs: number): Promise<VmExitedError | null> {
    const ended = await Promise.race([this.exitExplained.then(() => true), sleep(waitMs).then(() => false)]);
    return ended ? this.unexpectedExit : null;
  }

  /** Settles when QEMU has exited, for whatever reason. */
  get exited(): Promise<ChildExit> {
    return this.qemu.exited;
  }

  /** Calls `listener` if QEMU ends without stop() being called. */
  onUnexpectedExit(listener: (err: VmExitedError) => void): () => void {
    if (this.unexpectedExit) queueMicrotask(() => listener(this.unexpectedExit!));
    else this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  /** The last lines of the guest console. */
  consoleTail(lines = 25): Promise<string[]> {
    return tailFile(this.consoleLog, lines);
  }

  /**
   * Stops the VM: closes the agent connection, asks QEMU to quit (SIGKILL if
   * it does not within a few seconds), stops virtiofsd and removes the
   * sockets and console log. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    await this.ttrpc?.close().catch(() => {});
    if (!this.qemu.exitStatus && this.qmp && !this.qmp.closed) {
      await this.qmp.quit(QUIT_GRACE_MS).catch((err: unknown) => this.logger.debug({ err }, 'QMP quit failed'));
    }
    await this.qemu.stop(QUIT_GRACE_MS, this.qemu.exitStatus ? null : 'SIGTERM');
    await this.qmp?.close().catch(() => {});
    await this.virtiofsd?.stop();
    for (const f of [this.qmpSocket, this.agentSocket, this.consoleLog]) await unlink(f).catch(() => {});
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.spawnedAt);
  }

  /** Waits for QMP, then for the agent; throws a descriptive error if QEMU ends or time runs out. */
  private async boot(dialTimeoutMs: number, followConsole: boolean): Promise<void> {
    const deadline = Date.now() + dialTimeoutMs;
    const markers = followConsole ? new ConsoleMarkers(this.consoleLog, this.timeline, () => this.elapsed()) : undefined;
    markers?.start();
    try {
      this.qmp = await this.orQemuExit(QmpClient.connect(this.qmpSocket, { timeoutMs: Math.min(dialTimeoutMs, 30_000) }));
      this.timeline.qemuStartMs = this.elapsed();
      this.qmp.onEvent((e) => {
        if (e.event === 'VSERPORT_CHANGE' && e.data?.id === AGENT_PORT_ID && e.data?.open === true) {
          this.timeline.agentPortOpenMs ??= this.elapsed();
        }
      });
      let socket: Duplex;
      if (this.agentChannel.kind === 'vsock') {
        socket = await this.orQemuExit(this.dialVsock(this.agentChannel.guestCid, deadline, dialTimeoutMs));
        this.timeline.agentPortOpenMs ??= this.elapsed();
      } else {
        // QEMU created the socket before it answered on QMP.
        socket = await this.orQemuExit(connectUnix(this.agentSocket, 5000));
      }
      this.ttrpc = new Client(socket);
      this.agent = createClient(this.ttrpc, AgentService);
      this.health = createClient(this.ttrpc, Health);
      await this.waitForAgent(deadline, dialTimeoutMs);
      this.timeline.agentReadyMs = this.elapsed();
    } finally {
      await markers?.stop();
    }
  }

  /**
   * Connects to the agent's vsock port: the guest accepts once its agent
   * listens, so attempts repeat until then, or until QEMU exits or the dial
   * timeout passes.
   */
  private async dialVsock(guestCid: number, deadline: number, dialTimeoutMs: number): Promise<Duplex> {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw await this.agentTimeout(dialTimeoutMs);
      try {
        return await connectVsock(guestCid, AGENT_VSOCK_PORT, Math.min(VSOCK_ATTEMPT_MS, left));
      } catch (err) {
        if (err instanceof VsockUnavailableError || this.qemu.exitStatus) throw err;
        await sleep(Math.min(VSOCK_RETRY_MS, Math.max(0, deadline - Date.now())));
      }
    }
  }

  private async agentTimeout(dialTimeoutMs: number): Promise<AgentTimeoutError> {
    const tail = await this.consoleTail();
    return new AgentTimeoutError(
      `the agent in VM ${this.id} did not answer within ${dialTimeoutMs / 1000} s (agent.dial_timeout); ` +
        `QEMU is running (pid ${this.pid}, ${this.accel}); ${formatConsoleTail(tail, this.consoleLog)}`,
    );
  }

  /**
   * Sends Health.Check every CHECK_INTERVAL_MS until one is answered. Until
   * the guest opens its end of the port, QEMU holds our bytes; the agent then
   * answers every Check sent so far. Each Check may take until the deadline,
   * so the first answer ends the wait even if it comes after the next Check
   * was sent.
   */
  private async waitForAgent(deadline: number, dialTimeoutMs: number): Promise<void> {
    const checks: Promise<true>[] = [];
    const ticks = new AbortController();
    try {
      await this.sendChecks(deadline, dialTimeoutMs, checks, ticks.signal);
    } finally {
      ticks.abort();
    }
  }

  private async sendChecks(deadline: number, dialTimeoutMs: number, checks: Promise<true>[], ticks: AbortSignal): Promise<void> {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw await this.agentTimeout(dialTimeoutMs);
      this.timeline.checkAttempts += 1;
      const check = this.health.check({ service: '' }, { timeoutMs: left }).then(() => true as const);
      check.catch(() => {}); // looked at below, or no longer of interest once one is answered
      checks.push(check);
      const tick = sleep(Math.min(CHECK_INTERVAL_MS, left), false as const, { signal: ticks }).catch(() => false as const);
      try {
        if (await this.orQemuExit(Promise.race([...checks, tick]))) return;
      } catch (err) {
        if (err instanceof DeadlineExceededError) continue;
        if (err instanceof VmBootError) throw err;
        // The connection failed while QEMU still runs: let the exit (if any) explain it.
        const exited = await Promise.race([this.qemu.exited, sleep(500).then(() => null)]);
        if (exited) throw await this.bootFailure();
        throw new VmBootError(`lost the agent connection of VM ${this.id}: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /**
   * Races `promise` against QEMU's exit, which becomes a VmBootError. If
   * `promise` fails first (e.g. the QMP socket reset as QEMU died), QEMU's
   * exit, if it follows shortly, is the better explanation.
   */
  private async orQemuExit<T>(promise: Promise<T>): Promise<T> {
    const exit = this.qemu.exited.then(() => this.bootFailure());
    let result: { value: T } | { error: VmBootError };
    try {
      result = await Promise.race([promise.then((value) => ({ value })), exit.then((error) => ({ error }))]);
    } catch (err) {
      const exited = await Promise.race([this.qemu.exited, sleep(500).then(() => null)]);
      if (exited) throw await this.bootFailure();
      throw err;
    }
    if ('error' in result) {
      promise.catch(() => {});
      throw result.error;
    }
    return result.value;
  }

  private async bootFailure(): Promise<VmBootError> {
    const stderr = this.qemu.stderr();
    const tail = await this.consoleTail();
    return new VmBootError(
      `QEMU ${this.qemu.describeExit()} while VM ${this.id} was booting` +
        `${stderr ? `; QEMU said: ${stderr}` : ''}; ${formatConsoleTail(tail, this.consoleLog)}`,
    );
  }

  private async onQemuExit(exit: ChildExit): Promise<void> {
    if (this.stopping) return;
    const stderr = this.qemu.stderr(5);
    const tail = await this.consoleTail(10);
    if (this.stopping) return;
    this.unexpectedExit = new VmExitedError(
      `VM ${this.id}: QEMU (pid ${this.pid}) ${exit.signal ? `was killed by ${exit.signal}` : `exited with status ${exit.code}`} while in use` +
        `${stderr ? `; QEMU said: ${stderr}` : ''}; ${formatConsoleTail(tail, this.consoleLog)}`,
    );
    for (const listener of this.exitListeners) listener(this.unexpectedExit);
    this.exitListeners.clear();
  }
}

async function mustExist(path: string, key: string, mode = fsConstants.R_OK): Promise<void> {
  try {
    await access(path, mode);
  } catch (err) {
    const hint = key === 'hypervisor.qemu.path' ? ' (install QEMU: the qemu-system-x86 package)' : key.startsWith('hypervisor.qemu.k') || key.endsWith('initrd') ? ' (build the guest image: bin/kata-ts-image build)' : '';
    throw new VmStartError(`${key}: ${path} ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not usable'}${hint}`);
  }
}
