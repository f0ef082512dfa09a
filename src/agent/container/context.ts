// What every container operation needs: the runtime, the reaper, where
// bundles and console sockets go, and a few limits.

import type { Logger } from '../../common/logger.js';
import type { Reaper } from '../process/reaper.js';
import type { OciRuntime } from './oci-runtime.js';

export interface ContainerContext {
  runtime: OciRuntime;
  reaper: Reaper;
  /** Each container's bundle is created as <bundleRoot>/<container id>. */
  bundleRoot: string;
  /** Directory for console sockets (kept short: socket paths are limited to 107 bytes). */
  socketDir: string;
  /** How long to wait for a terminal's pty master after create/exec, in ms. Default 10000. */
  consoleTimeoutMs?: number;
  /** Bound on buffered bytes per output stream (see process/stdio.ts). Default 64 KiB. */
  outputBufferBytes?: number;
  logger: Logger;
}

export const DEFAULT_CONSOLE_TIMEOUT_MS = 10_000;
