// Taking a descriptor of another live process (fd://<pid>/<fd> URIs) with
// pidfd_open + pidfd_getfd, and saying clearly why it failed.

import { fdPassNative } from '../../native/fdpass.js';
import { StdioError } from './errors.js';

function takeFailed(err: unknown, pid: number, fd: number, field: string, uri: string): StdioError {
  const cause = { cause: err };
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'ESRCH':
      return new StdioError('NOT_FOUND', field, `${uri}: process ${pid} does not exist`, cause);
    case 'EBADF':
      return new StdioError('NOT_FOUND', field, `${uri}: process ${pid} has no open descriptor ${fd}`, cause);
    case 'EPERM':
    case 'EACCES':
      return new StdioError(
        'FAILED_PRECONDITION',
        field,
        `${uri}: not allowed to take descriptors of process ${pid} (needs ptrace access to it)`,
        cause,
      );
    case 'ENOSYS':
      return new StdioError('FAILED_PRECONDITION', field, `${uri}: fd:// needs pidfd_getfd (Linux 5.6 or later)`, cause);
    default:
      return new StdioError('INTERNAL', field, `${uri}: ${(err as Error).message}`, cause);
  }
}

/**
 * A close-on-exec duplicate of descriptor `fd` of process `pid`, sharing its
 * open file description; the caller owns it. Throws StdioError naming
 * `field`: NOT_FOUND for a process or descriptor that does not exist,
 * FAILED_PRECONDITION when not permitted or not supported.
 */
export function takeProcessFd(pid: number, fd: number, field: string, uri = `fd://${pid}/${fd}`): number {
  try {
    return fdPassNative().getFdOfProcess(pid, fd);
  } catch (err) {
    throw takeFailed(err, pid, fd, field, uri);
  }
}
