// The host pty relay on real ptys: bytes both ways without echo or
// translation, backpressure when the master is not read, the window-size
// watcher, the end when the master side goes away, and clean release.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, readFileSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { processNative } from '../../../src/native/process.js';
import { ptyNative, type PtyPair } from '../../../src/native/pty.js';
import { StdioError } from '../../../src/runtime/stdio/errors.js';
import { closeOutput } from '../../../src/runtime/stdio/output.js';
import { openPtyRelay, type PtyRelay } from '../../../src/runtime/stdio/pty-relay.js';
import { openTerminalRelay } from '../../../src/runtime/stdio/terminal.js';
import { watchWindowSize, type WindowSize } from '../../../src/runtime/stdio/window-size.js';
import { newFds, openFds, readBytes, readState, readUntil } from '../../native/fd-helpers.js';

const native = processNative();

/** Waits until `stream` has given `length` bytes; returns them. */
async function readStream(stream: Readable, length: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  while (size < length) {
    const [chunk] = (await once(stream, 'data')) as [Buffer];
    parts.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(parts);
}

/** The next size `watch` reports. */
function nextSize(watch: (cb: (s: WindowSize) => void) => void): Promise<WindowSize> {
  return new Promise((resolve) => watch(resolve));
}

describe('pty relay', () => {
  let pair: PtyPair;
  let relay: PtyRelay | undefined;
  let fdsBefore: Set<number>;
  // The watcher's timer does not hold the process open (by design), and
  // nothing else may while a test waits for it.
  let keepAlive: NodeJS.Timeout;

  beforeEach(() => {
    keepAlive = setInterval(() => undefined, 1000);
    fdsBefore = openFds();
    pair = ptyNative().openPty();
    native.setNonBlocking(pair.master, true);
  });
  afterEach(async () => {
    clearInterval(keepAlive);
    await relay?.close();
    relay = undefined;
    closeSync(pair.master);
    assert.deepEqual(newFds(fdsBefore), [], 'no descriptor left open');
  });

  test('what is typed on the master reaches input as is; output reaches the master as is, with no echo', async () => {
    relay = openPtyRelay(pair.slave);
    writeSync(pair.master, 'ls -l\r\x03');
    // Raw: CR is not turned into NL, ^C is a byte rather than a signal.
    assert.equal((await readStream(relay.input, 7)).toString('latin1'), 'ls -l\r\x03');
    relay.output.write('total 0\n');
    // No echo of the typed line comes first, and NL stays NL.
    assert.equal((await readBytes(pair.master, 8)).toString(), 'total 0\n');
    assert.equal(readState(pair.master), 'EAGAIN');
  });

  test('output larger than the terminal holds waits for the master to read, and arrives whole and in order', async () => {
    relay = openPtyRelay(pair.slave);
    const data = Buffer.alloc(256 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = 0x20 + (i % 90);
    const written = new Promise<void>((resolve, reject) => relay!.output.write(data, (err) => (err ? reject(err) : resolve())));
    const got = await readBytes(pair.master, data.length, 60_000);
    await written;
    assert.equal(got.length, data.length);
    assert.ok(got.equals(data));
  });

  test('the window-size watcher reports each resize of the master', async () => {
    relay = openPtyRelay(pair.slave);
    native.setWindowSize(pair.master, 24, 80);
    assert.deepEqual(relay.windowSize(), { rows: 24, cols: 80 });
    const sizes: WindowSize[] = [];
    let notify: ((s: WindowSize) => void) | undefined;
    const watcher = relay.watchWindowSize(
      (size) => {
        sizes.push(size);
        notify?.(size);
      },
      { intervalMs: 10 },
    );
    assert.deepEqual(watcher.size, { rows: 24, cols: 80 });
    let next = nextSize((cb) => (notify = cb));
    native.setWindowSize(pair.master, 50, 132);
    assert.deepEqual(await next, { rows: 50, cols: 132 });
    next = nextSize((cb) => (notify = cb));
    native.setWindowSize(pair.master, 51, 132);
    assert.deepEqual(await next, { rows: 51, cols: 132 });
    assert.deepEqual(sizes, [
      { rows: 50, cols: 132 },
      { rows: 51, cols: 132 },
    ]);
    assert.deepEqual(watcher.size, { rows: 51, cols: 132 });
    watcher.stop();
    watcher.stop();
  });

  test('input ends (no error) when the master side closes; output then discards', async () => {
    relay = openPtyRelay(pair.slave);
    const errors: Error[] = [];
    relay.input.on('error', (e) => errors.push(e));
    relay.output.on('error', (e) => errors.push(e));
    relay.input.resume();
    const ended = once(relay.input, 'end');
    closeSync(pair.master);
    await ended;
    // afterEach closes pair.master: give it a fresh one.
    const fresh = ptyNative().openPty();
    closeSync(fresh.slave);
    pair = fresh;
    await new Promise<void>((resolve) => relay!.output.write('nobody reads', () => resolve()));
    assert.equal(await closeOutput(relay.output), true);
    assert.deepEqual(errors, []);
  });

  test('closing the relay releases every slave descriptor: the master reads EIO', async () => {
    relay = openPtyRelay(pair.slave);
    assert.equal(readState(pair.master), 'EAGAIN');
    await relay.close();
    await relay.close();
    assert.equal(readState(pair.master), 'EIO');
    assert.throws(() => relay!.windowSize(), (err: unknown) => err instanceof StdioError && err.code === 'FAILED_PRECONDITION');
  });

  test("the relay leaves the terminal as it found it: blocking descriptors, and its mode back on close", async () => {
    // A second descriptor on the slave, as a user's shell would hold on its terminal.
    const shell = native.dup(pair.slave);
    try {
      relay = openPtyRelay(pair.slave);
      relay.output.write('x');
      assert.equal((await readBytes(pair.master, 1)).toString(), 'x');
      const flags = parseInt(readFileSync(`/proc/self/fdinfo/${shell}`, 'utf8').match(/^flags:\s+([0-7]+)$/m)![1]!, 8);
      assert.equal(flags & constants.O_NONBLOCK, 0, 'the shared description is still blocking');
      await relay.close();
      relay = undefined;
      // Cooked again: CR typed on the master reaches the slave as NL.
      native.setNonBlocking(shell, true);
      writeSync(pair.master, 'ok\r');
      assert.equal((await readUntil(shell, (b) => b.includes('\n'))).toString(), 'ok\n');
    } finally {
      closeSync(shell);
    }
  });

  test('a descriptor that is not a terminal is refused and closed', () => {
    closeSync(pair.slave);
    const [r, w] = native.pipe();
    closeSync(w);
    assert.throws(
      () => openPtyRelay(r),
      (err: unknown) =>
        err instanceof StdioError && err.code === 'INVALID_ARGUMENT' && err.field === 'terminal' && /is not a terminal/.test(err.message),
    );
    assert.throws(() => closeSync(r), { code: 'EBADF' });
  });
});

describe('openTerminalRelay', () => {
  let fdsBefore: Set<number>;
  beforeEach(() => {
    fdsBefore = openFds();
  });
  afterEach(async () => {
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(newFds(fdsBefore), [], 'no descriptor left open');
  });

  async function withChildHolding(fd: number, body: (child: ChildProcess) => Promise<void>): Promise<void> {
    const child = spawn('sleep', ['60'], { stdio: ['ignore', 'ignore', 'ignore', fd] });
    try {
      await once(child, 'spawn');
      await body(child);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }

  test("relays the slave another process holds, named fd://<pid>/<fd>", async () => {
    const { master, slave } = ptyNative().openPty();
    native.setNonBlocking(master, true);
    try {
      await withChildHolding(slave, async (child) => {
        closeSync(slave); // the child's copy is the one the relay takes
        const relay = openTerminalRelay(`fd://${child.pid}/3`);
        try {
          writeSync(master, 'x');
          assert.equal((await readStream(relay.input, 1)).toString(), 'x');
          relay.output.write('y');
          assert.equal((await readBytes(master, 1)).toString(), 'y');
        } finally {
          await relay.close();
        }
      });
    } finally {
      closeSync(master);
    }
  });

  test('refuses what is not a terminal, naming the field', async () => {
    const [r, w] = native.pipe();
    try {
      await withChildHolding(r, async (child) => {
        assert.throws(
          () => openTerminalRelay(`fd://${child.pid}/3`, 'stdin'),
          (err: unknown) =>
            err instanceof StdioError && err.code === 'INVALID_ARGUMENT' && err.message === `stdin: fd://${child.pid}/3 is not a terminal`,
        );
      });
    } finally {
      closeSync(r);
      closeSync(w);
    }
    assert.throws(() => openTerminalRelay(''), (err: unknown) => err instanceof StdioError && err.code === 'INVALID_ARGUMENT');
    assert.throws(() => openTerminalRelay('file:///tmp/x'), (err: unknown) => err instanceof StdioError && err.code === 'INVALID_ARGUMENT');
    assert.throws(() => openTerminalRelay('/dev/pts/does-not-exist'), (err: unknown) => err instanceof StdioError && err.code === 'NOT_FOUND');
  });
});

describe('watchWindowSize', () => {
  test('needs a terminal, and leaves no descriptor behind when refused', () => {
    const before = openFds();
    const [r, w] = native.pipe();
    try {
      assert.throws(() => watchWindowSize(r, () => undefined), { code: 'ENOTTY' });
    } finally {
      closeSync(r);
      closeSync(w);
    }
    assert.deepEqual(newFds(before), []);
  });

  test('does not keep the process alive', async () => {
    // A process that starts a watcher and never stops it still exits.
    const script = `
      import { ptyNative } from './src/native/pty.js';
      import { watchWindowSize } from './src/runtime/stdio/window-size.js';
      const { slave } = ptyNative().openPty();
      watchWindowSize(slave, () => {}, { intervalMs: 5 });
      console.log('watching');
    `;
    const cwd = fileURLToPath(new URL('../../../', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(out.trim(), 'watching');
    assert.equal(code, 0);
  });
});
