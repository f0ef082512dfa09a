// How long each stage of a VM's boot took, measured on the host clock from
// the moment QEMU was spawned:
//
//   qemuStartMs      QEMU answered on QMP (process up, devices created)
//   kernelStartMs    the first kernel message on the console ("Linux version")
//   initStartMs      the kernel started /init ("Run /init as init process")
//   agentPortOpenMs  the guest opened the agent's port (QMP VSERPORT_CHANGE)
//   agentReadyMs     the first Health.Check answered
//
// The two console stages need kernel messages on the console, i.e.
// hypervisor.qemu.debug = true (no "quiet"); otherwise they stay undefined.
// The console is polled while the VM boots, so those two are accurate to
// the polling interval (20 ms).
import { open, type FileHandle } from 'node:fs/promises';

export interface BootTimeline {
  qemuStartMs?: number;
  kernelStartMs?: number;
  initStartMs?: number;
  agentPortOpenMs?: number;
  agentReadyMs?: number;
  /** Health.Check calls sent before one was answered. */
  checkAttempts: number;
}

const POLL_MS = 20;

/** Follows the console log while the VM boots, noting when the kernel and init start. */
export class ConsoleMarkers {
  private handle: FileHandle | undefined;
  private offset = 0;
  private pending = '';
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly timeline: BootTimeline,
    private readonly since: () => number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.polling = this.polling.then(() => this.poll()).catch(() => {});
    }, POLL_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
    await this.poll().catch(() => {});
    await this.handle?.close().catch(() => {});
    this.handle = undefined;
  }

  private async poll(): Promise<void> {
    if (this.timeline.initStartMs !== undefined) return;
    this.handle ??= await open(this.path, 'r');
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await this.handle.read(buf, 0, buf.length, this.offset);
    if (bytesRead === 0) return;
    this.offset += bytesRead;
    const now = this.since();
    const text = this.pending + buf.subarray(0, bytesRead).toString('latin1');
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) {
      if (this.timeline.kernelStartMs === undefined && line.includes('Linux version')) this.timeline.kernelStartMs = now;
      if (this.timeline.initStartMs === undefined && /Run \/\S+ as init process/.test(line)) this.timeline.initStartMs = now;
    }
  }
}
