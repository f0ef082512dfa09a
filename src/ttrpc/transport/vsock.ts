// AF_VSOCK sockets: how a VM guest and its host talk without a network.
//
// Node has no AF_VSOCK support, so the project's native addon
// (native/src/vsock.c, loaded by src/native/addon.ts) makes the socket calls,
// and the connected sockets are read and written as plain descriptors
// (FdDuplex), since libuv cannot adopt a vsock socket as a net.Socket.
//
// The listening socket is non-blocking and polled with accept() every
// `acceptIntervalMs` (50 ms by default): no thread waits in accept(), and
// closing the listener is immediate. A new connection may therefore wait up
// to that long before it is served. Each connection then keeps one libuv pool
// thread in read() (see fd-duplex.ts).

import fs from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { loadAddon } from '../../native/addon.js';
import { silentLogger, type Logger } from '../logger.js';
import { VMADDR_CID_ANY } from './address.js';
import { FdDuplex } from './fd-duplex.js';
import type { Listener, StreamHandler } from './types.js';

/** The addon's vsock functions (see native/src/vsock.c). */
interface VsockAddon {
  listen(cid: number, port: number, backlog: number): number;
  accept(fd: number): { fd: number; cid: number; port: number } | null;
  connect(cid: number, port: number, timeoutMs: number): Promise<number>;
  shutdown(fd: number): void;
}

const LISTEN_BACKLOG = 128;

/** AF_VSOCK cannot be used here: no addon, or a kernel without vsock. */
export class VsockUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'VsockUnavailableError';
  }
}

function addon(): VsockAddon {
  try {
    return loadAddon() as unknown as VsockAddon;
  } catch (err) {
    throw new VsockUnavailableError(`vsock is unavailable: ${(err as Error).message}`, { cause: err });
  }
}

/** Restates the addon's system errors ({code, errno, syscall}) with what was being done. */
function systemError(err: unknown, what: string): Error {
  const { errno, syscall } = err as { errno?: number; syscall?: string };
  if (typeof errno !== 'number') return err as Error;
  const code = getSystemErrorName(errno);
  if (syscall === 'socket' && code === 'EAFNOSUPPORT') {
    return new VsockUnavailableError(`${what}: this kernel has no AF_VSOCK support (socket: ${code})`, { cause: err });
  }
  // The addon's message is "<syscall> failed: <strerror text> (<code>)".
  const message = (err as Error).message;
  const text = /^\S+ failed: (.*) \([A-Z0-9]+\)$/.exec(message)?.[1] ?? message;
  const out: NodeJS.ErrnoException = new Error(`${what}: ${syscall} ${code} (${text})`, { cause: err });
  out.code = code;
  out.errno = errno;
  if (syscall !== undefined) out.syscall = syscall;
  return out;
}

function describe(cid: number, port: number): string {
  return `vsock://${cid === VMADDR_CID_ANY ? -1 : cid}:${port}`;
}

export interface VsockListenOptions {
  acceptIntervalMs?: number;
  logger?: Logger;
}

/** Listens on vsock `port` of context `cid` (VMADDR_CID_ANY for any). */
export async function listenVsock(
  cid: number,
  port: number,
  onStream: StreamHandler,
  options: VsockListenOptions = {},
): Promise<Listener> {
  const native = addon();
  const address = describe(cid, port);
  const logger = options.logger ?? silentLogger;
  let fd: number;
  try {
    fd = native.listen(cid, port, LISTEN_BACKLOG);
  } catch (err) {
    throw systemError(err, `listen ${address}`);
  }

  const acceptWaiting = () => {
    while (true) {
      let peer: ReturnType<VsockAddon['accept']>;
      try {
        peer = native.accept(fd);
      } catch (err) {
        logger.warn({ err: systemError(err, `accept ${address}`) }, 'vsock: accept failed');
        return;
      }
      if (peer === null) return;
      logger.debug({ cid: peer.cid, port: peer.port }, 'vsock: connection accepted');
      onStream(createVsockStream(native, peer.fd));
    }
  };
  const timer = setInterval(acceptWaiting, options.acceptIntervalMs ?? 50);

  return {
    address,
    close: async () => {
      clearInterval(timer);
      await new Promise<void>((resolve) => fs.close(fd, () => resolve()));
    },
  };
}

/**
 * Connects to vsock `port` of context `cid`. The kernel gives up after
 * `timeoutMs` (its own default, 2 s, when 0).
 */
export async function connectVsock(cid: number, port: number, timeoutMs = 0): Promise<FdDuplex> {
  const native = addon();
  let fd: number;
  try {
    fd = await native.connect(cid, port, Math.max(0, Math.round(timeoutMs)));
  } catch (err) {
    throw systemError(err, `connect ${describe(cid, port)}`);
  }
  return createVsockStream(native, fd);
}

function createVsockStream(native: VsockAddon, fd: number): FdDuplex {
  // shutdown() makes a read blocked in the kernel return, so the descriptor
  // can be closed right after.
  return new FdDuplex({ readFd: fd, interrupt: () => native.shutdown(fd) });
}
