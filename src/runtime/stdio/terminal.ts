// Opening the host terminal a process's stdio is relayed to when the
// request says terminal=true and names the pty slave by URI: fd://<pid>/<fd>
// (the OCI CLI hands its slave to the monitor this way) or the slave's path
// (/dev/pts/N).

import { closeSync, constants, openSync } from 'node:fs';
import { isatty } from 'node:tty';
import { StdioError } from './errors.js';
import { takeProcessFd } from './process-fd.js';
import { openPtyRelay, type PtyRelay } from './pty-relay.js';
import { parseStdioUri } from './uri.js';

/**
 * The relay for the terminal named by `uri`. Throws StdioError naming
 * `field` (default "terminal"): INVALID_ARGUMENT for an empty URI, a
 * file:// URI or anything that is not a terminal, NOT_FOUND for a missing
 * process, descriptor or path.
 */
export function openTerminalRelay(uri: string, field = 'terminal'): PtyRelay {
  const target = parseStdioUri(uri, field);
  let fd: number;
  switch (target.kind) {
    case 'fd':
      fd = takeProcessFd(target.pid, target.fd, field, uri);
      break;
    case 'path':
      try {
        fd = openSync(target.path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'FAILED_PRECONDITION';
        throw new StdioError(code, field, `cannot open ${target.path}: ${(err as Error).message}`, { cause: err });
      }
      break;
    default:
      throw new StdioError(
        'INVALID_ARGUMENT',
        field,
        `a terminal must be given as fd://<pid>/<fd> or a pty path (got ${JSON.stringify(uri)})`,
      );
  }
  if (!isatty(fd)) {
    closeSync(fd);
    throw new StdioError('INVALID_ARGUMENT', field, `${uri} is not a terminal`);
  }
  return openPtyRelay(fd, field);
}
