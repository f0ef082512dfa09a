// "Hybrid vsock": how a host reaches a guest's vsock port through a VMM that
// exposes guest vsock as a Unix socket on the host (Firecracker, Cloud
// Hypervisor).
//
//   host -> VMM socket:   "CONNECT 1024\n"
//   VMM  -> host:         "OK <host port>\n"   (the line starts with "OK")
//   then the socket carries the guest port's bytes both ways.
//
// connectHybridVsock() is the host side (what Kata's runtime does).
// listenHybridVsock() plays the VMM's part on a Unix socket, accepting the
// CONNECT line for one port and handing the rest of the stream on; it lets the
// host side be tested end to end without a VMM.

import net from 'node:net';
import { connectUnix, listenUnix } from './unix.js';
import type { Listener, StreamHandler } from './types.js';

/** How long the host waits for the VMM's answer (Kata's runtime waits 10 s). */
export const HYBRID_VSOCK_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Neither side needs a longer line; anything longer is not the handshake. */
const MAX_LINE_BYTES = 512;

export class HybridVsockHandshakeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HybridVsockHandshakeError';
  }
}

/**
 * Connects to the VMM socket at `udsPath`, asks for guest `port`, and resolves
 * with the socket once the VMM answered "OK...". Bytes the VMM sent after the
 * OK line stay in the socket for the next reader.
 */
export async function connectHybridVsock(
  udsPath: string,
  port: number,
  timeoutMs = HYBRID_VSOCK_HANDSHAKE_TIMEOUT_MS,
): Promise<net.Socket> {
  const started = Date.now();
  const socket = await connectUnix(udsPath, timeoutMs);
  try {
    socket.write(`CONNECT ${port}\n`);
    const line = await readLine(
      socket,
      Math.max(0, timeoutMs - (Date.now() - started)),
      `hybrid vsock ${udsPath}: no answer to CONNECT ${port} within ${timeoutMs} ms`,
    );
    if (!line.startsWith('OK')) {
      throw new HybridVsockHandshakeError(`hybrid vsock ${udsPath}: port ${port} refused: ${JSON.stringify(line)}`);
    }
    return socket;
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

/**
 * Listens on the Unix socket `udsPath` like a VMM's hybrid vsock endpoint
 * with one guest port: a connection that sends "CONNECT <port>\n" is answered
 * "OK <port>\n" and handed to `onStream` (with any bytes that followed the
 * CONNECT line); anything else is closed.
 */
export async function listenHybridVsock(udsPath: string, port: number, onStream: StreamHandler): Promise<Listener> {
  const accept = (socket: net.Socket) => {
    socket.on('error', () => socket.destroy());
    readLine(socket, HYBRID_VSOCK_HANDSHAKE_TIMEOUT_MS, 'hybrid vsock: no CONNECT line').then(
      (line) => {
        if (line !== `CONNECT ${port}`) {
          socket.destroy();
          return;
        }
        socket.removeAllListeners('error');
        socket.write(`OK ${port}\n`);
        onStream(socket);
      },
      () => socket.destroy(),
    );
  };
  const inner = await listenUnix(udsPath, (stream) => accept(stream as net.Socket));
  return { address: `hvsock://${udsPath}:${port}`, close: () => inner.close() };
}

/**
 * Reads one '\n'-terminated line (returned without the newline). Whatever
 * arrived after it is pushed back into the socket, which is left paused.
 */
function readLine(socket: net.Socket, timeoutMs: number, timeoutMessage: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const finish = (err: Error | null, line?: string, rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('error', onError);
      if (rest && rest.length > 0) socket.unshift(rest);
      if (err) reject(err);
      else resolve(line!);
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        const newline = chunk.indexOf(0x0a);
        if (newline >= 0) {
          chunks.push(chunk.subarray(0, newline));
          finish(null, Buffer.concat(chunks).toString('latin1'), chunk.subarray(newline + 1));
          return;
        }
        chunks.push(chunk);
        length += chunk.length;
        if (length > MAX_LINE_BYTES) {
          finish(new HybridVsockHandshakeError(`hybrid vsock: no newline in the first ${MAX_LINE_BYTES} bytes`));
          return;
        }
      }
    };
    const onEnd = () => finish(new HybridVsockHandshakeError('hybrid vsock: connection closed during the handshake'));
    const onError = (err: Error) =>
      finish(new HybridVsockHandshakeError(`hybrid vsock: ${err.message}`, { cause: err }));
    const timer = setTimeout(() => finish(new HybridVsockHandshakeError(timeoutMessage)), timeoutMs);
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('error', onError);
  });
}
