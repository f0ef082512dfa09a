// The shim's stdio: the task layer's opener (task/open-io.ts), except that
// a process's stdin is opened only when the process starts (when the relay
// first reads it), as containerd's runc shim opens an exec's stdin in Start.
//
// Why: ctr writes its input into the stdin fifo as soon as the shim opens
// it, and sends CloseIO when that input ends, but only if Exec (or Create)
// has already returned to it; until then its "close stdin" hook is not set
// and the end of input is lost, leaving the process waiting for more input
// for ever (`echo x | ctr task exec ... cat` hangs). Opened at start, the
// fifo holds ctr's writes back until the hook is in place.
//
// The URI is still checked at Create/Exec, so a bad or missing stdin fails
// the request that named it.
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { openStdio, parseStdioUri, StdioError, type StdioInput } from '../stdio/index.js';
import { openTaskIo } from '../task/open-io.js';
import type { IoOpener } from '../task/task-manager.js';

/** A Readable over an input opened on first read. */
export class DeferredInput extends Readable {
  private inner: StdioInput | null = null;
  private opening = false;
  private closeRequested = false;

  constructor(private readonly open: () => Promise<StdioInput | null>) {
    super();
  }

  /** CloseIO: applied now, or as soon as the input is opened. */
  closeInput(): void {
    this.closeRequested = true;
    this.inner?.closeInput();
  }

  override _read(): void {
    if (this.inner) {
      this.inner.resume();
      return;
    }
    if (this.opening) return;
    this.opening = true;
    this.open().then(
      (inner) => {
        if (this.destroyed) {
          inner?.destroy();
          return;
        }
        if (!inner) {
          this.push(null);
          return;
        }
        this.inner = inner;
        if (this.closeRequested) inner.closeInput();
        inner.on('data', (chunk: Buffer) => {
          if (!this.push(chunk)) inner.pause();
        });
        inner.once('end', () => this.push(null));
        inner.once('error', (err: Error) => this.destroy(err));
      },
      (err: unknown) => this.destroy(err as Error),
    );
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const inner = this.inner;
    if (!inner || inner.closed) return callback(err);
    inner.once('close', () => callback(err));
    inner.destroy();
  }
}

/** Fails now for a stdin that could never be opened (bad URI, missing path). */
async function checkStdin(uri: string): Promise<void> {
  const target = parseStdioUri(uri, 'stdin');
  if (target.kind !== 'path') return;
  try {
    await stat(target.path);
  } catch (err) {
    throw new StdioError('NOT_FOUND', 'stdin', `${target.path} does not exist`, { cause: err });
  }
}

export function shimIoOpener(base: IoOpener = openTaskIo): IoOpener {
  return async (io, what) => {
    if (io.stdin === '') return base(io, what);
    await checkStdin(io.stdin);
    const opened = await base({ ...io, stdin: '' }, what);
    const input = new DeferredInput(() => openStdio(io.stdin, 'in', { field: 'stdin' }));
    return {
      ...opened,
      stdin: input,
      closeInput: () => input.closeInput(),
      close: async () => {
        input.destroy();
        await opened.close();
      },
    };
  };
}
