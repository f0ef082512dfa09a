// A process's input as the task manager consumes it: one Readable whatever
// it reads from (a fifo, a file, a pipe or terminal taken from another
// process, a pty slave), with the same end-of-input rules:
//
// - the source's end is the input's end;
// - errors that only mean the writer went away (a terminal hung up: EIO; a
//   reset socket) are an end too, not a failure;
// - for a fifo we also hold a writer of our own (the "keeper"), as
//   containerd's runc shim does: without it the fifo would read as ended
//   whenever no client happens to have it open, e.g. before the client got
//   round to opening it. The keeper is released by closeInput() (the task
//   API's CloseIO); from then on the input ends once every client writer
//   has closed too.

import { closeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { isPeerGone } from './errors.js';

export interface StdioInputOptions {
  /** A write descriptor of our own on the same fifo, closed by closeInput(). */
  keeperFd?: number;
}

export class StdioInput extends Readable {
  private keeperFd: number | undefined;
  private flowing = false;

  /** Takes ownership of `source` (and of the keeper descriptor). */
  constructor(
    private readonly source: Readable,
    options: StdioInputOptions = {},
  ) {
    super();
    this.keeperFd = options.keeperFd;
    source.on('end', () => this.push(null));
    source.on('error', (err: Error) => {
      if (isPeerGone(err)) this.push(null);
      else this.destroy(err);
    });
  }

  /**
   * Lets the input end: releases our own writer on a fifo, so the input
   * ends once the clients' writers are closed as well. Does nothing for
   * other sources, which end on their own. Idempotent.
   */
  closeInput(): void {
    const fd = this.keeperFd;
    this.keeperFd = undefined;
    if (fd !== undefined) closeSync(fd);
  }

  override _read(): void {
    // Data is taken from the source only once someone reads, and the source
    // is paused whenever our own buffer is full.
    if (!this.flowing) {
      this.flowing = true;
      this.source.on('data', (chunk: Buffer) => {
        if (!this.push(chunk)) this.source.pause();
      });
    }
    this.source.resume();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.closeInput();
    // Our 'close' comes after the source's: its descriptor is closed by then.
    if (this.source.closed) return callback(err);
    this.source.once('close', () => callback(err));
    this.source.destroy();
  }
}
