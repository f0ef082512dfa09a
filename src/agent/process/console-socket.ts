// The receiving end of an OCI runtime's `--console-socket`: a Unix socket the
// runtime connects to, sending the master of the pty it created for a
// terminal process as an SCM_RIGHTS descriptor.
//
// Node's sockets read with read(2), which would discard the descriptor, so a
// connection is accepted paused and its message is taken with recvmsg(2) by
// the native addon. The descriptor usually arrives right after the connection;
// until then the receive is retried with short growing pauses.

import { randomBytes } from 'node:crypto';
import { closeSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { processNative } from '../../native/process.js';
import { ContainerError } from '../container/errors.js';

/** Longest path a Unix socket address can hold (sun_path minus the NUL). */
const MAX_SOCKET_PATH = 107;

export class ConsoleSocket {
  private readonly received: Promise<number>;
  private resolveFd!: (fd: number) => void;
  private rejectFd!: (err: Error) => void;
  private settled = false;
  private closed = false;

  private constructor(
    /** Path to pass as the runtime's --console-socket. */
    readonly path: string,
    private readonly server: Server,
  ) {
    this.received = new Promise<number>((resolve, reject) => {
      this.resolveFd = resolve;
      this.rejectFd = reject;
    });
    this.received.catch(() => undefined); // observed through receive()
    server.on('connection', (socket: Socket) => this.takeFd(socket));
  }

  /** Listens on a new socket with a random name in `dir` (created if missing). */
  static async listen(dir: string): Promise<ConsoleSocket> {
    const path = join(dir, `console-${randomBytes(6).toString('hex')}.sock`);
    if (path.length > MAX_SOCKET_PATH) {
      throw new ContainerError('INTERNAL', `console socket path too long (${path.length} > ${MAX_SOCKET_PATH}): ${path}`);
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new ConsoleSocket(path, server);
  }

  /**
   * The pty master descriptor (the caller owns it), once the runtime sent it.
   * Rejects after `timeoutMs`, or when the socket is closed first.
   */
  async receive(timeoutMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ContainerError('DEADLINE_EXCEEDED', `no terminal received on the console socket within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.received, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops listening and removes the socket file. An unclaimed descriptor is closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new ContainerError('FAILED_PRECONDITION', 'console socket closed before a terminal was received'));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.path, { force: true });
  }

  private fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectFd(err);
  }

  private takeFd(socket: Socket): void {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (this.settled || fd === undefined || fd < 0) {
      socket.destroy();
      return;
    }
    const native = processNative();
    let pauseMs = 1;
    const attempt = () => {
      if (this.settled) return socket.destroy();
      let msg;
      try {
        msg = native.recvFd(fd);
      } catch (err) {
        socket.destroy();
        return this.fail(new ContainerError('INTERNAL', `receiving the terminal failed: ${(err as Error).message}`, { cause: err }));
      }
      if (msg === null) {
        setTimeout(attempt, pauseMs);
        pauseMs = Math.min(pauseMs * 2, 20);
        return;
      }
      socket.destroy();
      if (msg.fd < 0) {
        return this.fail(new ContainerError('INTERNAL', 'the runtime closed the console socket without sending a terminal'));
      }
      if (this.settled) {
        closeSync(msg.fd);
        return;
      }
      this.settled = true;
      this.resolveFd(msg.fd);
    };
    attempt();
  }
}
