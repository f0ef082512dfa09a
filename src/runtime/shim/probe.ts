// Whether a shim socket is being served: a connection attempt, nothing sent.
import { connect } from 'node:net';

/** Whether something accepts connections on the unix socket at `path` (within `timeoutMs`). */
export function canConnect(path: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(false);
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
