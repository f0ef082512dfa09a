// Opening a task's stdio from its URIs (see ../stdio/): what the task
// manager relays to and from the agent. For a terminal whose host side is
// itself a terminal (fd:// of a pty slave or of the user's own terminal),
// its window size is followed so the guest's pty can be resized to match.
import { closeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { closeOutput, openStdio, parseStdioUri, takeProcessFd, watchWindowSize, type StdioInput, type StdioOutput } from '../stdio/index.js';
import type { TaskIo } from './events.js';
import type { OpenedIo } from './task-manager.js';

/** A descriptor of the terminal behind an fd:// stdout, or undefined. */
function terminalBehind(uri: string): number | undefined {
  const target = parseStdioUri(uri, 'stdout');
  if (target.kind !== 'fd') return undefined;
  const fd = takeProcessFd(target.pid, target.fd, 'stdout', uri);
  if (isatty(fd)) return fd;
  closeSync(fd);
  return undefined;
}

export async function openTaskIo(io: TaskIo): Promise<OpenedIo> {
  let stdin: StdioInput | null = null;
  let stdout: StdioOutput | null = null;
  let stderr: StdioOutput | null = null;
  let ttyFd: number | undefined;
  let closing: Promise<void> | undefined;
  const closeAll = (): Promise<void> => {
    closing ??= (async () => {
      stdin?.destroy();
      if (ttyFd !== undefined) closeSync(ttyFd);
      ttyFd = undefined;
      await Promise.all([stdout && closeOutput(stdout), stderr && closeOutput(stderr)]);
    })();
    return closing;
  };
  try {
    stdin = await openStdio(io.stdin, 'in', { field: 'stdin' });
    stdout = await openStdio(io.stdout, 'out', { field: 'stdout' });
    // A terminal has one output stream.
    if (!io.terminal) stderr = await openStdio(io.stderr, 'out', { field: 'stderr' });
    if (io.terminal) ttyFd = terminalBehind(io.stdout);
  } catch (err) {
    void closeAll();
    throw err;
  }
  const input = stdin;
  return {
    stdin,
    stdout,
    stderr,
    ...(input ? { closeInput: () => input.closeInput() } : {}),
    ...(ttyFd !== undefined
      ? {
          watchWindowSize(onResize: (rows: number, columns: number) => void) {
            const watcher = watchWindowSize(ttyFd!, (s) => onResize(s.rows, s.cols));
            onResize(watcher.size.rows, watcher.size.cols);
            return () => watcher.stop();
          },
        }
      : {}),
    close: closeAll,
  };
}
