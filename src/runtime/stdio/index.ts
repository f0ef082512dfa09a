// Stdio of container processes on the host side: opening the streams named
// by containerd's stdio URIs (fifos, files, fd://<pid>/<fd>), and relaying
// a host pty slave for the OCI CLI's --console-socket.

export { StdioError, isPeerGone } from './errors.js';
export { parseStdioUri, type StdioTarget } from './uri.js';
export { openStdio, LOG_FILE_MODE, type OpenStdioOptions, type StdioDirection } from './open.js';
export { StdioInput, type StdioInputOptions } from './input.js';
export { StdioOutput, closeOutput, DEFAULT_CLOSE_TIMEOUT_MS } from './output.js';
export { FdWritable } from './fd-writer.js';
export { streamForFd, fdKind, type FdKind } from './fd-streams.js';
export { takeProcessFd } from './process-fd.js';
export { openPtyRelay, type PtyRelay } from './pty-relay.js';
export { openTerminalRelay } from './terminal.js';
export {
  watchWindowSize,
  WINDOW_POLL_INTERVAL_MS,
  type WatchWindowSizeOptions,
  type WindowSize,
  type WindowSizeWatcher,
} from './window-size.js';
