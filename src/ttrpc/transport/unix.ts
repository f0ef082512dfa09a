// Unix domain sockets, by file path or (Linux) abstract name.
//
// Paths are given the way Node's net module takes them: an abstract socket
// is "\0name" (parseAddress turns unix://@name into that).

import { lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import type { Listener, StreamHandler } from './types.js';

/** Listens on `path`. A socket file left behind by a dead process is replaced. */
export async function listenUnix(path: string, onStream: StreamHandler, address = `unix://${path}`): Promise<Listener> {
  const server = net.createServer((socket) => onStream(socket));
  try {
    await bind(server, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !(await isStaleSocket(path))) throw err;
    await unlink(path);
    await bind(server, path);
  }
  const abstract = path.startsWith('\0');
  return {
    address,
    close: async () => {
      // Stops accepting at once. (The close callback would also wait for the
      // accepted connections to end; those belong to whoever got them.)
      if (server.listening) server.close();
      // Node removes the file when the server closes; make sure of it.
      if (!abstract) await unlink(path).catch(() => {});
    },
  };
}

function bind(server: net.Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(path, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** True if `path` is a socket file nobody listens on. */
async function isStaleSocket(path: string): Promise<boolean> {
  if (path.startsWith('\0')) return false;
  const stat = await lstat(path).catch(() => null);
  if (!stat?.isSocket()) return false;
  return new Promise((resolve) => {
    const probe = net.createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/** Connects to the socket at `path`; fails with ETIMEDOUT after `timeoutMs`. */
export function connectUnix(path: string, timeoutMs?: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path);
    let timer: NodeJS.Timeout | undefined;
    const onError = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        const err: NodeJS.ErrnoException = new Error(`connect ETIMEDOUT ${path.replace('\0', '@')}`);
        err.code = 'ETIMEDOUT';
        onError(err);
      }, timeoutMs);
    }
  });
}
