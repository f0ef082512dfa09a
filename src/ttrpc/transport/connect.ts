// connect(uri): opens a client connection of any supported kind.
//
// Like Kata's runtime, connect() keeps retrying while the other side is not
// there yet (no socket file, connection refused or reset, handshake refused)
// until `timeoutMs` has passed; errors that retrying cannot fix (a bad
// address, no vsock support, no permission) fail at once.

import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_AGENT_VSOCK_PORT, InvalidAddressError, parseAddress, type Address } from './address.js';
import { connectHybridVsock, HYBRID_VSOCK_HANDSHAKE_TIMEOUT_MS } from './hybrid-vsock.js';
import { connectUnix } from './unix.js';
import { connectVsock, VsockUnavailableError } from './vsock.js';

/** Kata's runtime (current versions) dials for up to 30 s. */
export const DEFAULT_DIAL_TIMEOUT_MS = 30_000;

export interface ConnectOptions {
  /** Give up after this long (default 30 s). Each attempt is bounded by what is left. */
  timeoutMs?: number;
  /** Guest port for a hvsock:// address that has none (default 1024). */
  hybridVsockPort?: number;
  /** Pause between attempts (default 100 ms). */
  retryDelayMs?: number;
}

/** Errors a retry cannot fix. */
const PERMANENT_CODES = new Set(['EACCES', 'EPERM', 'EINVAL', 'EAFNOSUPPORT', 'ENOTSOCK']);

function isPermanent(err: unknown): boolean {
  if (err instanceof InvalidAddressError || err instanceof VsockUnavailableError) return true;
  return PERMANENT_CODES.has((err as NodeJS.ErrnoException).code ?? '');
}

export async function connect(uri: string, options: ConnectOptions = {}): Promise<Duplex> {
  const address = parseAddress(uri);
  if (address.scheme === 'serial') {
    throw new InvalidAddressError(uri, 'serial ports can only be listened on; the host reaches one through its VMM socket (unix://)');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  const retryDelayMs = options.retryDelayMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const left = Math.max(1, deadline - Date.now());
    try {
      return await connectOnce(address, left, options.hybridVsockPort);
    } catch (err) {
      if (isPermanent(err)) throw err;
      if (Date.now() + retryDelayMs >= deadline) {
        const out: NodeJS.ErrnoException = new Error(
          `cannot connect to ${uri} within ${timeoutMs} ms: ${(err as Error).message}`,
          { cause: err },
        );
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== undefined) out.code = code;
        throw out;
      }
      await sleep(retryDelayMs);
    }
  }
}

function connectOnce(address: Exclude<Address, { scheme: 'serial' }>, timeoutMs: number, hybridVsockPort?: number): Promise<Duplex> {
  switch (address.scheme) {
    case 'unix':
      return connectUnix(address.path, timeoutMs);
    case 'vsock':
      return connectVsock(address.cid, address.port, timeoutMs);
    case 'hvsock':
      return connectHybridVsock(
        address.path,
        address.port ?? hybridVsockPort ?? DEFAULT_AGENT_VSOCK_PORT,
        Math.min(timeoutMs, HYBRID_VSOCK_HANDSHAKE_TIMEOUT_MS),
      );
  }
}
