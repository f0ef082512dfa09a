// Opening stdio from URIs on real fifos, files and processes: data flows,
// nothing blocks on a fifo nobody opened, ends and errors are as documented,
// and no descriptor is left open.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, createReadStream, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { StdioError } from '../../../src/runtime/stdio/errors.js';
import { openStdio } from '../../../src/runtime/stdio/open.js';
import { closeOutput, StdioOutput } from '../../../src/runtime/stdio/output.js';
import { StdioInput } from '../../../src/runtime/stdio/input.js';
import { processNative } from '../../../src/native/process.js';
import { ptyNative } from '../../../src/native/pty.js';
import { newFds, openFds, readBytes } from '../../native/fd-helpers.js';

function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', ['-m', '0600', path]);
  assert.equal(r.status, 0, r.stderr?.toString());
}

/** Everything `stream` gives until it ends. */
async function collect(stream: Readable): Promise<string> {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => (text += d));
  await once(stream, 'end');
  return text;
}

/** Collects what `stream` gives; `until(text)` waits for some text, `end` for the end. */
function accumulate(stream: Readable) {
  const state = {
    text: '',
    ended: false,
    end: once(stream, 'end').then(() => void (state.ended = true)),
    async until(text: string): Promise<void> {
      while (!state.text.includes(text)) await once(stream, 'data');
    },
  };
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => (state.text += d));
  return state;
}

/** Reads `stream` until `text` has arrived (it may go on afterwards). */
async function waitFor(stream: Readable, text: string): Promise<string> {
  let got = '';
  stream.setEncoding('utf8');
  while (!got.includes(text)) {
    const [chunk] = (await once(stream, 'data')) as [string];
    got += chunk;
  }
  return got;
}

async function closed(stream: { destroyed: boolean; once(event: 'close', fn: () => void): unknown }): Promise<void> {
  if (stream.destroyed && (stream as unknown as { closed?: boolean }).closed) return;
  await new Promise<void>((resolve) => stream.once('close', resolve));
}

function stdioError(code: string, field: string, pattern: RegExp) {
  return (err: unknown) => err instanceof StdioError && err.code === code && err.field === field && pattern.test(err.message);
}

function sleeper(stdio: Parameters<typeof spawn>[2]['stdio']): ChildProcess {
  return spawn('sleep', ['60'], { stdio });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}

describe('openStdio', () => {
  let dir: string;
  let fdsBefore: Set<number>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-stdio-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    fdsBefore = openFds();
  });
  afterEach(async () => {
    // Streams close their descriptors asynchronously; let that happen.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(newFds(fdsBefore), [], 'no descriptor left open');
  });

  test('"" is no stream', async () => {
    assert.equal(await openStdio('', 'in'), null);
    assert.equal(await openStdio('', 'out'), null);
  });

  test('stdout fifo: opens with no reader yet; a reader attaching later gets the output, then its end', async () => {
    const path = join(dir, 'out.fifo');
    mkfifo(path);
    const out = await openStdio(path, 'out'); // would block (or fail with ENXIO) if opened write-only
    assert.ok(out instanceof StdioOutput);
    out.write('before the reader|');
    const reader = createReadStream(path); // opens at once: a writer exists
    // (Were our side closed before the reader's open(2) ran, that open would
    // wait for a writer that never comes: that is how fifos are.)
    await once(reader, 'open');
    out.write('after');
    const text = collect(reader);
    assert.equal(await closeOutput(out, 10_000), true);
    assert.equal(await text, 'before the reader|after');
    await closed(reader);
  });

  test('stdout fifo that nobody ever reads: closeOutput gives up instead of hanging', async () => {
    const path = join(dir, 'unread.fifo');
    mkfifo(path);
    const out = (await openStdio(path, 'out', { field: 'stderr' }))!;
    // More than a fifo holds (64 KiB), so some output stays pending.
    out.write(Buffer.alloc(256 * 1024, 'x'));
    assert.equal(await closeOutput(out, 200), false);
    assert.equal(out.destroyed, true);
    await closed(out);
  });

  test('stdin fifo: opens with no writer yet; one client leaving is not the end; closeInput lets the end come', async () => {
    const path = join(dir, 'in.fifo');
    mkfifo(path);
    const input = await openStdio(path, 'in');
    assert.ok(input instanceof StdioInput);
    const got = accumulate(input);
    // A first client writes, its bytes are read, and it goes away.
    const first = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(first, 'first|');
    await got.until('first|');
    closeSync(first);
    // Give a reader that wrongly took that for the end the time to end and
    // close; a second client could then not even open the fifo (ENXIO).
    await sleep(50);
    assert.equal(got.ended, false);
    const second = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(second, 'second');
    closeSync(second);
    input.closeInput(); // CloseIO: no client writer is open, so the end comes
    await got.end;
    assert.equal(got.text, 'first|second');
    await closed(input);
  });

  test('stdin fifo: a client still writing after closeInput is read to its end', async () => {
    const path = join(dir, 'in2.fifo');
    mkfifo(path);
    const input = (await openStdio(path, 'in'))!;
    const w = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    const text = collect(input);
    input.closeInput();
    writeSync(w, 'late bytes');
    closeSync(w);
    assert.equal(await text, 'late bytes');
    await closed(input);
  });

  test('a regular file: read from the start, or appended to', async () => {
    const path = join(dir, 'plain.txt');
    writeFileSync(path, 'line 1\n');
    const input = (await openStdio(path, 'in'))!;
    assert.equal(await collect(input), 'line 1\n');
    const out = (await openStdio(path, 'out'))!;
    out.write('line 2\n');
    assert.equal(await closeOutput(out), true);
    assert.equal(readFileSync(path, 'utf8'), 'line 1\nline 2\n');
    await closed(input);
  });

  test('file:// creates the file (0640) and its directory, and appends', async () => {
    const path = join(dir, 'logs', 'deep', 'ctr.log');
    for (const line of ['one\n', 'two\n']) {
      const out = (await openStdio(`file://${path}`, 'out'))!;
      out.write(line);
      assert.equal(await closeOutput(out), true);
    }
    assert.equal(readFileSync(path, 'utf8'), 'one\ntwo\n');
    assert.equal(statSync(path).mode & 0o777, 0o640 & ~process.umask());
    assert.ok(statSync(join(dir, 'logs', 'deep')).isDirectory());
    const input = (await openStdio(`file://${path}`, 'in'))!;
    assert.equal(await collect(input), 'one\ntwo\n');
    await closed(input);
  });

  test("/dev/null works both ways", async () => {
    const input = (await openStdio('/dev/null', 'in'))!;
    assert.equal(await collect(input), '');
    await closed(input);
    const out = (await openStdio('/dev/null', 'out'))!;
    out.write('gone');
    assert.equal(await closeOutput(out), true);
  });

  test("fd:// reads a live process's stdin pipe", async () => {
    const child = sleeper(['pipe', 'ignore', 'ignore']);
    try {
      await once(child, 'spawn');
      const input = (await openStdio(`fd://${child.pid}/0`, 'in'))!;
      const text = collect(input);
      child.stdin!.end('typed into the pipe');
      assert.equal(await text, 'typed into the pipe');
      await closed(input);
    } finally {
      await stop(child);
    }
  });

  test("fd:// writes to a live process's stdout pipe", async () => {
    const child = sleeper(['ignore', 'pipe', 'ignore']);
    try {
      await once(child, 'spawn');
      const out = (await openStdio(`fd://${child.pid}/1`, 'out'))!;
      const got = waitFor(child.stdout!, 'hello from us');
      out.write('hello from us');
      assert.equal(await got, 'hello from us');
      assert.equal(await closeOutput(out), true);
    } finally {
      await stop(child);
    }
  });

  test("fd:// of a terminal: output reaches it without making the shared descriptor non-blocking; input ends when it hangs up", async () => {
    const pair = ptyNative().openPty();
    processNative().setNonBlocking(pair.master, true);
    const fds = new Set([pair.master, pair.slave]);
    const release = (fd: number) => {
      if (fds.delete(fd)) closeSync(fd);
    };
    const child = sleeper(['ignore', 'ignore', 'ignore', pair.slave]);
    try {
      await once(child, 'spawn');
      const out = (await openStdio(`fd://${child.pid}/3`, 'out'))!;
      out.write('to the terminal');
      assert.equal((await readBytes(pair.master, 15)).toString(), 'to the terminal');
      assert.equal(await closeOutput(out), true);
      const flags = parseInt(readFileSync(`/proc/self/fdinfo/${pair.slave}`, 'utf8').match(/^flags:\s+([0-7]+)$/m)![1]!, 8);
      assert.equal(flags & constants.O_NONBLOCK, 0);

      const input = (await openStdio(`fd://${child.pid}/3`, 'in'))!;
      const got = accumulate(input);
      writeSync(pair.master, 'typed\r');
      await got.until('typed\n'); // the terminal is as we found it: cooked
      await stop(child);
      release(pair.slave);
      release(pair.master); // hang-up: the input ends, without an error
      await got.end;
      await closed(input);
    } finally {
      await stop(child);
      for (const fd of [...fds]) release(fd);
    }
  });

  test('a reader that went away (EPIPE) is not an error: later output is discarded', async () => {
    const child = sleeper(['ignore', 'pipe', 'ignore']);
    let out: StdioOutput | null = null;
    try {
      await once(child, 'spawn');
      out = (await openStdio(`fd://${child.pid}/1`, 'out'))!;
    } finally {
      await stop(child);
    }
    const errors: Error[] = [];
    out.on('error', (err) => errors.push(err));
    child.stdout!.destroy(); // the only reader of the pipe
    await closed(child.stdout!);
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => out!.write(`chunk ${i}`, (err) => (err ? reject(err) : resolve())));
    }
    assert.equal(out.readerGone, true);
    assert.equal(await closeOutput(out), true);
    assert.deepEqual(errors, []);
  });

  test('fd:// of a dead process or of a descriptor it does not have: NOT_FOUND, naming the field', async () => {
    const child = sleeper('ignore');
    await once(child, 'spawn');
    const pid = child.pid!;
    try {
      await assert.rejects(
        openStdio(`fd://${pid}/77`, 'out', { field: 'stderr' }),
        stdioError('NOT_FOUND', 'stderr', new RegExp(`^stderr: fd://${pid}/77: process ${pid} has no open descriptor 77$`)),
      );
    } finally {
      await stop(child);
    }
    await assert.rejects(
      openStdio(`fd://${pid}/0`, 'in'),
      stdioError('NOT_FOUND', 'stdin', new RegExp(`^stdin: fd://${pid}/0: process ${pid} does not exist$`)),
    );
  });

  test('refusals: binary://, other schemes, missing paths, directories', async () => {
    await assert.rejects(
      openStdio('binary:///bin/logger', 'out', { field: 'stdout' }),
      stdioError('INVALID_ARGUMENT', 'stdout', /^stdout: binary:\/\/ log drivers are not supported/),
    );
    await assert.rejects(openStdio('tcp://host:1', 'in'), stdioError('INVALID_ARGUMENT', 'stdin', /scheme "tcp:" is not supported/));
    await assert.rejects(openStdio(join(dir, 'missing.fifo'), 'out'), stdioError('NOT_FOUND', 'stdout', /missing\.fifo does not exist$/));
    await mkdir(join(dir, 'a-dir'), { recursive: true });
    await assert.rejects(openStdio(join(dir, 'a-dir'), 'out'), stdioError('INVALID_ARGUMENT', 'stdout', /is not a fifo or a file$/));
    await assert.rejects(openStdio(`file://${join(dir, 'a-dir')}`, 'out'), stdioError('INVALID_ARGUMENT', 'stdout', /is a directory$/));
    await assert.rejects(openStdio(`file://${join(dir, 'nope.log')}`, 'in'), stdioError('NOT_FOUND', 'stdin', /nope\.log does not exist$/));
  });
});
