// A small QMP client (QEMU Machine Protocol): JSON objects, one per line, over
// QEMU's unix socket.
//
//   const qmp = await QmpClient.connect('/run/kata-ts/sb/qmp.sock');
//   const { status } = await qmp.execute('query-status');
//   const deleted = qmp.waitForEvent('DEVICE_DELETED', (e) => e.data?.device === 'blk0');
//   await qmp.execute('device_del', { id: 'blk0' });
//   await deleted;
//
// The session: QEMU greets ({"QMP": ...}), we answer qmp_capabilities, then
// each command carries an "id" that QEMU copies into its answer ({"return":
// ...} or {"error": {"class", "desc"}}). Events ({"event": ...}) arrive at
// any time, also between a command and its answer: register a waiter before
// sending the command that causes the event.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { QmpCommandName, QmpCommands, QmpEvent, QmpGreeting } from './qmp-types.js';

/** QEMU answered a command with an error. */
export class QmpCommandError extends Error {
  override name = 'QmpCommandError';
  constructor(
    readonly command: string,
    /** QEMU's error class, e.g. "GenericError", "DeviceNotFound". */
    readonly errorClass: string,
    readonly description: string,
  ) {
    super(`QMP ${command}: ${errorClass}: ${description}`);
  }
}

/** The QMP connection is gone (QEMU exited or closed it). */
export class QmpClosedError extends Error {
  override name = 'QmpClosedError';
}

/** No answer, or no event, within the time allowed. */
export class QmpTimeoutError extends Error {
  override name = 'QmpTimeoutError';
}

export interface QmpConnectOptions {
  /** Keep trying this long while the socket is not there yet (QEMU starting). Default 10 s. */
  timeoutMs?: number;
  /** Called when the connection ends, with the error if one ended it. */
  onClose?: (err?: Error) => void;
}

export interface ExecuteOptions {
  /** Fail with QmpTimeoutError when no answer comes within this time. Default: wait for ever. */
  timeoutMs?: number;
}

interface Pending {
  command: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

type Args<K extends QmpCommandName> = QmpCommands[K]['args'];

export class QmpClient {
  private readonly socket: net.Socket;
  private readonly pending = new Map<string, Pending>();
  private readonly events = new EventEmitter();
  private buffered = '';
  private nextId = 1;
  private closeError: Error | null = null;
  private onClose: ((err?: Error) => void) | undefined;
  /** What QEMU said when we connected (its version). */
  greeting!: QmpGreeting;
  /** Settles when the connection has ended. */
  readonly ended: Promise<void>;
  private markEnded!: () => void;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.events.setMaxListeners(0);
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.shutDown(new QmpClosedError(`QMP connection failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.shutDown(new QmpClosedError('QMP connection closed')));
  }

  /** Connects to QEMU's QMP socket, reads the greeting and enters command mode. */
  static async connect(path: string, options: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    let socket: net.Socket;
    for (;;) {
      try {
        socket = await connectOnce(path);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const retryable = code === 'ENOENT' || code === 'ECONNREFUSED';
        if (!retryable || Date.now() >= deadline) {
          throw new QmpClosedError(`cannot connect to QMP socket ${path}: ${(err as Error).message}`, { cause: err });
        }
        await sleep(20);
      }
    }
    const client = new QmpClient(socket);
    try {
      client.greeting = await client.readGreeting(Math.max(1000, deadline - Date.now()));
      await client.execute('qmp_capabilities', undefined, { timeoutMs: Math.max(1000, deadline - Date.now()) });
    } catch (err) {
      client.socket.destroy();
      throw err;
    }
    client.onClose = options.onClose;
    return client;
  }

  /** True once the connection has ended. */
  get closed(): boolean {
    return this.closeError !== null;
  }

  /** Runs a command and resolves with its "return" value. */
  execute<K extends QmpCommandName>(
    command: K,
    ...rest: Args<K> extends undefined ? [args?: undefined, options?: ExecuteOptions] : [args: Args<K>, options?: ExecuteOptions]
  ): Promise<QmpCommands[K]['ret']> {
    const [args, options] = rest;
    return this.executeRaw(command, args as Record<string, unknown> | undefined, options) as Promise<QmpCommands[K]['ret']>;
  }

  /** Runs any command (untyped). */
  executeRaw(command: string, args?: Record<string, unknown>, options: ExecuteOptions = {}): Promise<unknown> {
    if (this.closeError) return Promise.reject(this.closeError);
    const id = `kata-ts-${this.nextId++}`;
    const message: Record<string, unknown> = { execute: command, id };
    if (args !== undefined) message.arguments = args;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        this.pending.delete(id);
        fn();
      };
      this.pending.set(id, {
        command,
        resolve: (value) => settle(() => resolve(value)),
        reject: (err) => settle(() => reject(err)),
      });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(
          () => settle(() => reject(new QmpTimeoutError(`QMP ${command}: no answer within ${options.timeoutMs} ms`))),
          options.timeoutMs,
        );
      }
      this.socket.write(`${JSON.stringify(message)}\n`);
    });
  }

  /** Calls `listener` for every event; returns a function that unsubscribes it. */
  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  /**
   * Resolves with the next event called `name` that `match` accepts. Rejects
   * when the connection ends first, on `signal`, or after `timeoutMs`.
   */
  waitForEvent(
    name: string,
    match: (event: QmpEvent) => boolean = () => true,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<QmpEvent> {
    if (this.closeError) return Promise.reject(this.closeError);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('event', onEvent);
        this.events.off('closed', onClosed);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const onEvent = (event: QmpEvent) => {
        if (event.event !== name || !match(event)) return;
        cleanup();
        resolve(event);
      };
      const onClosed = (err: Error) => {
        cleanup();
        reject(err);
      };
      const onAbort = () => {
        cleanup();
        reject(options.signal!.reason instanceof Error ? options.signal!.reason : new Error(`waiting for ${name} aborted`));
      };
      this.events.on('event', onEvent);
      this.events.on('closed', onClosed);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          cleanup();
          reject(new QmpTimeoutError(`QMP event ${name} did not come within ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
    });
  }

  /**
   * Unplugs a device and waits for QEMU to report it gone (DEVICE_DELETED):
   * with ACPI hot-plug the guest has to let go of it first.
   */
  async deviceDel(id: string, timeoutMs = 10_000): Promise<void> {
    const deleted = this.waitForEvent('DEVICE_DELETED', (e) => e.data?.device === id, { timeoutMs });
    try {
      await this.execute('device_del', { id }, { timeoutMs });
    } catch (err) {
      deleted.catch(() => {});
      throw err;
    }
    await deleted;
  }

  /** Asks QEMU to exit; resolves when the connection has closed. */
  async quit(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    await this.execute('quit', undefined, { timeoutMs }).catch((err: unknown) => {
      // QEMU may close the socket before its answer reaches us.
      if (!(err instanceof QmpClosedError)) throw err;
    });
    await Promise.race([this.ended, sleep(timeoutMs)]);
  }

  /** Closes the connection (QEMU keeps running). */
  async close(): Promise<void> {
    if (!this.closed) this.socket.end();
    this.socket.destroySoon();
    await Promise.race([this.ended, sleep(1000).then(() => this.socket.destroy())]);
  }

  private readGreeting(timeoutMs: number): Promise<QmpGreeting> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new QmpTimeoutError(`no QMP greeting within ${timeoutMs} ms`));
      }, timeoutMs);
      const onGreeting = (g: QmpGreeting) => {
        cleanup();
        resolve(g);
      };
      const onClosed = (err: Error) => {
        cleanup();
        reject(err);
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('greeting', onGreeting);
        this.events.off('closed', onClosed);
      };
      this.events.on('greeting', onGreeting);
      this.events.on('closed', onClosed);
    });
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl).trim();
      this.buffered = this.buffered.slice(nl + 1);
      if (line !== '') this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.shutDown(new QmpClosedError(`QMP: not JSON: ${line.slice(0, 200)}`));
      return;
    }
    if ('QMP' in msg) {
      this.events.emit('greeting', msg as unknown as QmpGreeting);
      return;
    }
    if (typeof msg.event === 'string') {
      this.events.emit('event', msg as unknown as QmpEvent);
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const call = id === undefined ? undefined : this.pending.get(id);
    if (!call) return; // an answer to a command that timed out
    if ('error' in msg) {
      const e = (msg.error ?? {}) as { class?: string; desc?: string };
      call.reject(new QmpCommandError(call.command, e.class ?? 'GenericError', e.desc ?? 'unknown error'));
    } else {
      call.resolve(msg.return);
    }
  }

  private shutDown(err: Error): void {
    if (this.closeError) return;
    this.closeError = err;
    for (const call of [...this.pending.values()]) call.reject(err);
    this.events.emit('closed', err);
    this.socket.destroy();
    this.markEnded();
    this.onClose?.(err.cause instanceof Error ? err.cause : undefined);
  }
}

function connectOnce(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      socket.destroy();
      reject(err);
    });
  });
}
