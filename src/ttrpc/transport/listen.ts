// listen(uri, onStream): opens a listening endpoint of any supported kind.

import type { Logger } from '../logger.js';
import { DEFAULT_AGENT_VSOCK_PORT, formatAddress, parseAddress } from './address.js';
import { listenHybridVsock } from './hybrid-vsock.js';
import { listenSerial } from './serial.js';
import type { Listener, StreamHandler } from './types.js';
import { listenUnix } from './unix.js';
import { listenVsock } from './vsock.js';

export type { Listener, StreamHandler } from './types.js';

export interface ListenOptions {
  logger?: Logger;
  /** Port a hvsock:// address without one accepts CONNECT lines for (default 1024). */
  hybridVsockPort?: number;
  /** vsock only: how often waiting connections are accepted (default 50 ms). */
  acceptIntervalMs?: number;
  /** serial only: delay between reads while no host is connected (default 20 ms). */
  pollIntervalMs?: number;
}

/**
 * Listens on `uri` (see address.ts for the forms) and calls `onStream` with
 * each connection. For hvsock:// this plays the VMM's part of the handshake
 * (useful for tests); serial:// yields one logical connection per host session.
 */
export async function listen(uri: string, onStream: StreamHandler, options: ListenOptions = {}): Promise<Listener> {
  const address = parseAddress(uri);
  const { logger } = options;
  switch (address.scheme) {
    case 'unix':
      return listenUnix(address.path, onStream, formatAddress(address));
    case 'vsock':
      return listenVsock(address.cid, address.port, onStream, {
        ...(logger && { logger }),
        ...(options.acceptIntervalMs !== undefined && { acceptIntervalMs: options.acceptIntervalMs }),
      });
    case 'hvsock':
      return listenHybridVsock(address.path, address.port ?? options.hybridVsockPort ?? DEFAULT_AGENT_VSOCK_PORT, onStream);
    case 'serial':
      return listenSerial(address.path, onStream, {
        ...(logger && { logger }),
        ...(options.pollIntervalMs !== undefined && { pollIntervalMs: options.pollIntervalMs }),
      });
  }
}
