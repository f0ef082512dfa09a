// Shapes shared by the transports.

import type { Duplex } from 'node:stream';

/** Receives each new connection (a byte stream) accepted by a listener. */
export type StreamHandler = (stream: Duplex) => void;

/** An open listening endpoint. */
export interface Listener {
  /** The address it listens on, in URI form (e.g. "unix:///run/agent.sock"). */
  readonly address: string;
  /** Stops accepting connections and releases the endpoint (removing a socket file). */
  close(): Promise<void>;
}
