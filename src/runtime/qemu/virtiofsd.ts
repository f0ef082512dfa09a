// The virtio-fs daemon (QEMU's bundled virtiofsd): serves a host directory
// to the guest over a vhost-user socket that QEMU connects to.
//
// It runs in its own mount, pid and net namespaces (sandbox=namespace) and
// exits by itself when QEMU disconnects.
import { access, unlink } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { OwnedChild } from './child.js';
import { VmStartError } from './errors.js';

export interface VirtiofsdOptions {
  binary: string;
  socket: string;
  sharedDir: string;
  /** How long to wait for the socket to appear. */
  timeoutMs?: number;
  debug?: boolean;
}

/** Where virtiofsd keeps its pid file for `socket` (removed on a clean exit, not after SIGKILL). */
export function virtiofsdPidFile(socket: string): string {
  return `/run/virtiofsd/${socket.replaceAll('/', '.')}.pid`;
}

export class Virtiofsd {
  private constructor(
    private readonly child: OwnedChild,
    readonly socket: string,
  ) {}

  static async start(opts: VirtiofsdOptions): Promise<Virtiofsd> {
    try {
      await access(opts.binary, fsConstants.X_OK);
    } catch {
      throw new VmStartError(`hypervisor.qemu.virtio_fs_daemon: ${opts.binary} is not an executable file (or use shared_fs = "virtio-9p")`);
    }
    const args = [
      `--socket-path=${opts.socket}`,
      '-o', `source=${opts.sharedDir}`,
      '-o', 'cache=auto',
      '-o', 'sandbox=namespace',
      '-o', `log_level=${opts.debug ? 'debug' : 'warn'}`,
    ];
    const child = new OwnedChild('virtiofsd', opts.binary, args);
    const daemon = new Virtiofsd(child, opts.socket);
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      if (child.exitStatus || child.spawnError) {
        await child.exited;
        await daemon.cleanupFiles();
        throw new VmStartError(`virtiofsd ${child.describeExit()}: ${child.stderr() || '(no output)'}`);
      }
      try {
        await access(opts.socket);
        return daemon;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) {
        await daemon.stop();
        throw new VmStartError(`virtiofsd did not create ${opts.socket} within ${opts.timeoutMs ?? 10_000} ms: ${child.stderr()}`);
      }
      await sleep(10);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Waits briefly for the daemon to exit on its own (QEMU gone), then terminates it; removes its files. */
  async stop(graceMs = 1000): Promise<void> {
    if (!this.child.exitStatus) {
      const exited = await Promise.race([this.child.exited, sleep(graceMs).then(() => null)]);
      if (!exited) await this.child.stop(2000);
    }
    await this.cleanupFiles();
  }

  private async cleanupFiles(): Promise<void> {
    await unlink(this.socket).catch(() => {});
    await unlink(virtiofsdPidFile(this.socket)).catch(() => {});
  }
}
