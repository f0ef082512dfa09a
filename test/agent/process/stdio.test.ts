// Process stdio with real processes (no container): pipes handed to children
// spawned with child_process, and a pty master opened from /dev/ptmx.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants, openSync, readdirSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerError } from '../../../src/agent/container/errors.js';
import { DEFAULT_OUTPUT_BUFFER, OutputReader, PipeStdio, TerminalStdio, type ProcessStdio } from '../../../src/agent/process/stdio.js';
import { processNative } from '../../../src/native/process.js';

/** Spawns `sh -c script` with the stdio's child ends, then releases them. */
function run(io: PipeStdio, script: string): ChildProcess {
  const child = spawn('sh', ['-c', script], { stdio: io.childFds });
  io.closeChildFds();
  return child;
}

async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

async function readAll(read: (len: number) => Promise<Buffer | null>, len = 65536): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const b = await read(len);
    if (b === null) return Buffer.concat(parts);
    parts.push(b);
  }
}

const stdoutOf = (io: ProcessStdio) => readAll((n) => io.readStdout(n));

function isContainerError(code: string) {
  return (err: unknown) => err instanceof ContainerError && err.code === code;
}

const openFds = () => readdirSync('/proc/self/fd').length;

/** Pipes released when the test ends, whatever happens. */
function pipes(t: TestContext): PipeStdio {
  const io = PipeStdio.create();
  t.after(() => io.destroy());
  return io;
}

describe('PipeStdio', { timeout: 60_000 }, () => {
  test('delivers stdout and stderr exactly; EOF is null, and stays null', async (t) => {
    const io = pipes(t);
    const child = run(io, 'printf "a\\nb"; printf "E" >&2; printf "c"');
    const [out, err] = await Promise.all([stdoutOf(io), readAll((n) => io.readStderr(n))]);
    assert.equal(out.toString(), 'a\nbc');
    assert.equal(err.toString(), 'E');
    assert.equal(await io.readStdout(1), null);
    assert.equal(await io.readStderr(1), null);
    assert.equal(await exitOf(child), 0);
    io.destroy();
  });

  test('reads never return more than asked, and concurrent reads are served in call order', async (t) => {
    const io = pipes(t);
    const text = 'the quick brown fox jumps over the lazy dog';
    const child = run(io, `printf '${text}'`);
    await exitOf(child);
    const reads = Array.from({ length: text.length + 2 }, () => io.readStdout(1));
    const got = await Promise.all(reads);
    assert.equal(got.slice(0, text.length).map((b) => b!.toString()).join(''), text);
    assert.deepEqual(got.slice(text.length), [null, null]);
    io.destroy();
  });

  test('stdin -> cat -> stdout is byte-exact for 1 MiB with a slow reader', async (t) => {
    const io = pipes(t);
    const child = run(io, 'cat');
    const data = randomBytes(1 << 20);
    const writer = (async () => {
      let taken = 0;
      for (let off = 0; off < data.length; off += 100_000) taken += await io.writeStdin(data.subarray(off, off + 100_000));
      await io.closeStdin();
      return taken;
    })();
    const parts: Buffer[] = [];
    for (let i = 0; ; i++) {
      const b = await io.readStdout(4096);
      if (b === null) break;
      parts.push(b);
      if (i % 32 === 0) await sleep(2);
    }
    assert.equal(await writer, data.length);
    assert.ok(Buffer.concat(parts).equals(data));
    assert.equal(await exitOf(child), 0);
    io.destroy();
  });

  test('buffering is bounded: unread output blocks the writer until read', async (t) => {
    const io = pipes(t);
    const total = 4 << 20;
    const child = run(io, `head -c ${total} /dev/zero`);
    await sleep(300);
    assert.equal(child.exitCode, null, 'the writer should be blocked on a full pipe');
    const buffered = (io as unknown as { stdout: { bufferedBytes: number } }).stdout.bufferedBytes;
    assert.ok(buffered >= DEFAULT_OUTPUT_BUFFER, `should have buffered up to the bound, got ${buffered}`);
    assert.ok(buffered <= 2 * DEFAULT_OUTPUT_BUFFER, `buffered ${buffered} bytes, above the bound`);
    assert.equal((await stdoutOf(io)).length, total);
    assert.equal(await exitOf(child), 0);
    io.destroy();
  });

  test('closeStdin ends the input; later writes fail; writes to an exited process fail', async (t) => {
    const io = pipes(t);
    const child = run(io, 'cat; exit 9');
    assert.equal(await io.writeStdin(Buffer.from('bye')), 3);
    assert.equal(await io.writeStdin(new Uint8Array(0)), 0);
    await io.closeStdin();
    await io.closeStdin(); // twice is fine
    assert.equal((await stdoutOf(io)).toString(), 'bye');
    assert.equal(await exitOf(child), 9);
    await assert.rejects(io.writeStdin(Buffer.from('x')), isContainerError('FAILED_PRECONDITION'));
    io.destroy();

    const io2 = pipes(t);
    const gone = run(io2, 'exit 0');
    await exitOf(gone);
    await assert.rejects(io2.writeStdin(Buffer.alloc(256 * 1024)), isContainerError('FAILED_PRECONDITION'));
    io2.destroy();
  });

  test('rejects bad arguments and terminal operations', async (t) => {
    const io = pipes(t);
    await assert.rejects(io.readStdout(0), isContainerError('INVALID_ARGUMENT'));
    await assert.rejects(io.readStderr(-1), isContainerError('INVALID_ARGUMENT'));
    assert.throws(() => io.resize(24, 80), isContainerError('FAILED_PRECONDITION'));
    assert.throws(() => io.resize(70000, 80), isContainerError('INVALID_ARGUMENT'));
    io.destroy();
  });

  test('destroy releases every descriptor', async () => {
    const before = openFds();
    const io = PipeStdio.create();
    assert.equal(openFds(), before + 6);
    io.destroy();
    await sleep(20); // handle close is asynchronous
    assert.equal(openFds(), before);
  });
});

describe('OutputReader', () => {
  test('bytes held by a paused stream that then fails with EIO (a pty whose process exited) are still delivered', async () => {
    // A pty master reports the end of the process side as an EIO error; the
    // stream may be paused with data buffered at that moment.
    const source = new Readable({ read() {} });
    const reader = new OutputReader(source, 8);
    source.push(Buffer.from('0123456789')); // over the bound: the reader pauses the stream
    source.push(Buffer.from('abc'));
    source.push(Buffer.from('def'));
    await sleep(10);
    assert.equal(source.isPaused(), true);
    source.destroy(Object.assign(new Error('read EIO'), { code: 'EIO' }));
    await sleep(10);
    const got = await readAll((n) => reader.read(n), 4);
    assert.equal(got.toString(), '0123456789abcdef');
    assert.equal(await reader.read(4), null);
  });

  test('other stream errors are reported to the reader after the buffered bytes', async () => {
    const source = new Readable({ read() {} });
    const reader = new OutputReader(source);
    source.push(Buffer.from('xy'));
    await sleep(5);
    source.destroy(Object.assign(new Error('read EBADF'), { code: 'EBADF' }));
    await sleep(5);
    assert.equal((await reader.read(10))?.toString(), 'xy');
    await assert.rejects(reader.read(10), isContainerError('INTERNAL'));
  });
});

describe('TerminalStdio', { timeout: 60_000 }, () => {
  /** A pty master with no process on the slave: the line discipline echoes input back. */
  const openMaster = () => openSync('/dev/ptmx', constants.O_RDWR | constants.O_NOCTTY);

  test('writes reach the terminal (echoed back), stderr is at EOF, resize sets the window size', async (t) => {
    const fd = openMaster();
    const io = new TerminalStdio(fd);
    t.after(() => io.destroy());
    assert.equal(io.terminal, true);
    assert.equal(await io.writeStdin(Buffer.from('hello\n')), 6);
    let echoed = '';
    while (!echoed.includes('\n')) echoed += (await io.readStdout(100))!.toString();
    assert.equal(echoed, 'hello\r\n');
    assert.equal(await io.readStderr(100), null);
    io.resize(33, 101);
    assert.deepEqual(processNative().getWindowSize(fd), { rows: 33, cols: 101 });
    assert.throws(() => io.resize(-1, 5), isContainerError('INVALID_ARGUMENT'));
    io.destroy();
  });

  test('a write the terminal cannot take waits instead of blocking the event loop; destroy fails it', async (t) => {
    const io = new TerminalStdio(openMaster());
    t.after(() => io.destroy());
    // Nobody reads the slave side: the input queue fills up.
    const pending = io.writeStdin(Buffer.alloc(1 << 20, 0x61));
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    await sleep(100);
    clearInterval(ticker);
    assert.ok(ticks > 3, 'the event loop kept running');
    io.destroy();
    await assert.rejects(pending, isContainerError('FAILED_PRECONDITION'));
    await assert.rejects(io.writeStdin(Buffer.from('x')), isContainerError('FAILED_PRECONDITION'));
  });
});
