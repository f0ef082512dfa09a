// The stdio URIs of containerd's task API (CreateTaskRequest and
// ExecProcessRequest stdin/stdout/stderr), as this runtime reads them:
//
//   ""                  no stream
//   /abs/path           a fifo (what containerd's clients create) or a file
//   file:///abs/path    a log file, appended to and created if missing
//   fd://<pid>/<fd>     descriptor <fd> of live process <pid> (our own
//                       extension: the OCI CLI hands its stdio to the
//                       container's monitor this way)
//
// containerd's "binary://" log drivers (a program the shim starts and feeds
// through pipes) are not supported and are refused with INVALID_ARGUMENT.

import { fileURLToPath } from 'node:url';
import { StdioError } from './errors.js';

export type StdioTarget =
  | { kind: 'none' }
  | { kind: 'path'; path: string }
  | { kind: 'file'; path: string }
  | { kind: 'fd'; pid: number; fd: number };

/** The largest pid or descriptor number the kernel can hand out (INT_MAX). */
const MAX_NUMBER = 0x7fffffff;

const FD_URI = /^fd:\/\/([0-9]+)\/([0-9]+)$/;

function badUri(field: string, uri: string, why: string): StdioError {
  return new StdioError('INVALID_ARGUMENT', field, `${why} (got ${JSON.stringify(uri)})`);
}

/** A decimal number without sign or leading zeros, within the kernel's range; undefined otherwise. */
function parseNumber(text: string, min: number): number | undefined {
  if (text.length > 1 && text.startsWith('0')) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= min && n <= MAX_NUMBER ? n : undefined;
}

/**
 * Reads one stdio URI. Throws StdioError (INVALID_ARGUMENT, naming `field`)
 * for anything that is not one of the forms above.
 */
export function parseStdioUri(uri: string, field: string): StdioTarget {
  if (uri === '') return { kind: 'none' };
  if (uri.includes('\0')) throw badUri(field, uri, 'must not contain NUL bytes');
  if (uri.startsWith('/')) return { kind: 'path', path: uri };

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw badUri(field, uri, 'must be empty, an absolute path, or a file:// or fd:// URI');
  }
  switch (scheme) {
    case 'binary':
      throw badUri(
        field,
        uri,
        'binary:// log drivers are not supported by this runtime; use a fifo path, a file:// URI or an fd:// URI',
      );
    case 'file': {
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        throw badUri(field, uri, 'is not a valid file:// URI');
      }
      if (url.host !== '' && url.host !== 'localhost') {
        throw badUri(field, uri, 'file:// URIs must name a local path (file:///abs/path)');
      }
      if (url.search !== '' || url.hash !== '') throw badUri(field, uri, 'file:// URIs take no query or fragment');
      const path = fileURLToPath(url);
      if (path === '/' || path.endsWith('/')) throw badUri(field, uri, 'file:// URIs must name a file, not a directory');
      return { kind: 'file', path };
    }
    case 'fd': {
      const m = FD_URI.exec(uri);
      const pid = m ? parseNumber(m[1]!, 1) : undefined;
      const fd = m ? parseNumber(m[2]!, 0) : undefined;
      if (pid === undefined || fd === undefined) {
        throw badUri(field, uri, 'fd:// URIs have the form fd://<pid>/<fd>, a process id from 1 and a descriptor number from 0');
      }
      return { kind: 'fd', pid, fd };
    }
    default:
      throw badUri(field, uri, `the URI scheme "${scheme}:" is not supported (use a fifo path, file:// or fd://)`);
  }
}
