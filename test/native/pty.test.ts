// The native pty functions on real ptys: a pair whose two ends talk to each
// other, and raw mode (no echo, no byte translation).

import assert from 'node:assert/strict';
import { closeSync, fstatSync, statSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { describe, test } from 'node:test';
import { processNative } from '../../src/native/process.js';
import { ptyNative } from '../../src/native/pty.js';
import { readBytes, readState, readUntil } from './fd-helpers.js';

const pty = ptyNative();
const native = processNative();

describe('native pty functions', () => {
  test('openPty gives a master and its slave, both terminals, not inherited by children', () => {
    const pair = pty.openPty();
    try {
      assert.match(pair.path, /^\/dev\/pts\/\d+$/);
      assert.ok(isatty(pair.master) && isatty(pair.slave));
      // The slave descriptor is the device at `path`.
      assert.equal(fstatSync(pair.slave).rdev, statSync(pair.path).rdev);
      assert.notEqual(fstatSync(pair.master).rdev, fstatSync(pair.slave).rdev);
      // Sizes set on the master are the slave's.
      native.setWindowSize(pair.master, 24, 80);
      assert.deepEqual(native.getWindowSize(pair.slave), { rows: 24, cols: 80 });
    } finally {
      closeSync(pair.master);
      closeSync(pair.slave);
    }
  });

  test('a new pty is cooked (echo, CR to NL); setRawMode turns that off', async () => {
    const { master, slave } = pty.openPty();
    try {
      native.setNonBlocking(master, true);
      native.setNonBlocking(slave, true);
      // Cooked: the line reaches the slave with CR turned into NL, and is echoed.
      writeSync(master, 'hi\r');
      assert.equal((await readUntil(slave, (b) => b.includes('\n'))).toString(), 'hi\n');
      assert.equal((await readUntil(master, (b) => b.includes('\n'))).toString(), 'hi\r\n');

      pty.setRawMode(slave);
      writeSync(master, 'raw\r');
      assert.equal((await readBytes(slave, 4)).toString(), 'raw\r');
      // No echo: the first bytes the master reads are the slave's own, and
      // NL is not turned into CR NL on the way out.
      writeSync(slave, 'out\n');
      assert.equal((await readBytes(master, 4)).toString(), 'out\n');
      assert.equal(readState(master), 'EAGAIN', 'nothing else came');
    } finally {
      closeSync(master);
      closeSync(slave);
    }
  });

  test('setTerminalAttributes puts back what setRawMode replaced', async () => {
    const { master, slave } = pty.openPty();
    try {
      native.setNonBlocking(master, true);
      native.setNonBlocking(slave, true);
      const saved = pty.setRawMode(slave);
      assert.ok(Buffer.isBuffer(saved) && saved.length > 0);
      pty.setRawMode(slave); // raw twice: what comes back is raw, the first save is cooked
      pty.setTerminalAttributes(slave, saved);
      writeSync(master, 'ok\r');
      assert.equal((await readUntil(slave, (b) => b.includes('\n'))).toString(), 'ok\n');
      assert.throws(() => pty.setTerminalAttributes(slave, Buffer.alloc(3)), /^TypeError: saved must be a Buffer returned by setRawMode\(\)$/);
    } finally {
      closeSync(master);
      closeSync(slave);
    }
  });

  test('setRawMode needs a terminal', () => {
    const [r, w] = native.pipe();
    try {
      assert.throws(
        () => pty.setRawMode(r),
        (err: NodeJS.ErrnoException) =>
          err.code === 'ENOTTY' && err.syscall === 'tcgetattr' && /^tcgetattr failed: .+ \(ENOTTY\)$/.test(err.message),
      );
      assert.throws(() => (pty.setRawMode as (x: unknown) => void)('0'), TypeError);
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });

  test('closing every slave descriptor hangs the master up (EIO)', async () => {
    const { master, slave } = pty.openPty();
    try {
      native.setNonBlocking(master, true);
      assert.equal(readState(master), 'EAGAIN');
      closeSync(slave);
      assert.equal(readState(master), 'EIO');
    } finally {
      closeSync(master);
    }
  });
});
