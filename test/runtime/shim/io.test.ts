// The shim's stdio opener: stdin is opened when the process starts (its
// first read), so that ctr's "close stdin" hook is in place before ctr can
// see the end of its own input (see src/runtime/shim/io.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readdirSync, readlinkSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { shimIoOpener } from '../../../src/runtime/shim/io.js';
import { StdioError } from '../../../src/runtime/stdio/index.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kata-ts-shim-io-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** Opens the fifo's write end without waiting: ENXIO while nobody has it open for reading. */
function openWriter(path: string): number {
  return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
}

/** Descriptors of this process open on `path`. */
function openFdsOn(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}

function readAll(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (text += d));
    stream.once('end', () => resolve(text));
    stream.once('error', reject);
  });
}

test('a fifo stdin is opened at the first read, and CloseIO then ends it after the client\'s data', async () => {
  await withDir(async (dir) => {
    const fifo = join(dir, 'stdin');
    const out = join(dir, 'out');
    mkfifo(fifo);
    await writeFile(out, '');
    const opened = await shimIoOpener()({ stdin: fifo, stdout: out, stderr: '', terminal: false }, 'test');
    try {
      assert.throws(() => openWriter(fifo), { code: 'ENXIO' }, 'nobody reads the fifo before the process starts');
      assert.equal(openFdsOn(fifo), 0);
      const text = readAll(opened.stdin!);
      // The client's writer, once the shim has opened the fifo.
      let writer: number | undefined;
      for (let i = 0; writer === undefined && i < 500; i++) {
        try {
          writer = openWriter(fifo);
        } catch {
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      assert.ok(writer !== undefined, 'the first read opened the fifo');
      writeSync(writer, 'piped input\n');
      closeSync(writer);
      opened.closeInput!();
      assert.equal(await text, 'piped input\n');
      // stdout was opened at once, as before.
      opened.stdout!.write('x');
    } finally {
      await opened.close();
    }
    assert.equal(openFdsOn(fifo), 0, 'closed');
    assert.equal(await readFile(out, 'utf8'), 'x');
  });
});

test('CloseIO before the process starts is applied when stdin is opened', async () => {
  await withDir(async (dir) => {
    const fifo = join(dir, 'stdin');
    mkfifo(fifo);
    const opened = await shimIoOpener()({ stdin: fifo, stdout: '', stderr: '', terminal: false }, 'test');
    try {
      opened.closeInput!();
      // Without it the shim's own writer would keep the input open for ever.
      assert.equal(await readAll(opened.stdin!), '');
    } finally {
      await opened.close();
    }
    assert.equal(openFdsOn(fifo), 0);
  });
});

test('a process that never starts never opens its stdin', async () => {
  await withDir(async (dir) => {
    const fifo = join(dir, 'stdin');
    mkfifo(fifo);
    const opened = await shimIoOpener()({ stdin: fifo, stdout: '', stderr: '', terminal: false }, 'test');
    await opened.close();
    assert.equal(openFdsOn(fifo), 0);
    assert.throws(() => openWriter(fifo), { code: 'ENXIO' });
  });
});

test('a stdin that cannot be opened fails the request that names it', async () => {
  await withDir(async (dir) => {
    const open = shimIoOpener();
    await assert.rejects(open({ stdin: join(dir, 'missing'), stdout: '', stderr: '', terminal: false }, 'test'), (err: unknown) => {
      assert.ok(err instanceof StdioError);
      assert.equal(err.code, 'NOT_FOUND');
      assert.equal(err.field, 'stdin');
      return true;
    });
    await assert.rejects(open({ stdin: 'binary:///usr/bin/logger', stdout: '', stderr: '', terminal: false }, 'test'), (err: unknown) => {
      assert.ok(err instanceof StdioError);
      assert.equal(err.code, 'INVALID_ARGUMENT');
      return true;
    });
  });
});
