// The native process functions, on real descriptors and processes.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { processNative } from '../../src/native/process.js';

const native = processNative();

function isErrno(code: string, syscall?: RegExp) {
  return (err: unknown) => {
    const e = err as NodeJS.ErrnoException;
    return e.code === code && typeof e.errno === 'number' && e.errno < 0 && (!syscall || syscall.test(e.syscall ?? ''));
  };
}

describe('native process functions', () => {
  test('pipe, dup and non-blocking mode', () => {
    const [r, w] = native.pipe();
    const w2 = native.dup(w);
    try {
      assert.notEqual(w2, w);
      assert.equal(writeSync(w2, 'via dup'), 7);
      const buf = Buffer.alloc(16);
      assert.equal(buf.subarray(0, readSync(r, buf)).toString(), 'via dup');
      native.setNonBlocking(r, true);
      assert.throws(() => readSync(r, buf), isErrno('EAGAIN'));
    } finally {
      for (const fd of [r, w, w2]) closeSync(fd);
    }
  });

  test('waitPid reaps a child and reports its code or signal; peekExitedChild sees it first', async () => {
    // Orphans of a perl parent that does not reap are re-parented to us.
    native.setChildSubreaper(true);
    const parent = spawn('perl', ['-e', '$| = 1; for my $c (3, -9) { my $p = fork(); if ($p == 0) { kill(9, $$) if $c < 0; exit $c } print "$p\\n" }'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    parent.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await once(parent, 'exit');
    const [exiter, killed] = out.trim().split('\n').map(Number) as [number, number];
    let peeked = 0;
    for (let i = 0; i < 500 && peeked === 0; i++) {
      peeked = native.peekExitedChild();
      if (peeked === 0) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(peeked === exiter || peeked === killed, `peeked ${peeked}`);
    assert.equal(native.peekExitedChild(), peeked, 'peeking does not reap');
    const results = [];
    for (const pid of [exiter, killed]) {
      let r = native.waitPid(pid);
      for (let i = 0; i < 500 && r === null; i++) {
        await new Promise((res) => setTimeout(res, 10));
        r = native.waitPid(pid);
      }
      results.push(r);
    }
    assert.deepEqual(results, [
      { pid: exiter, code: 3, signal: null },
      { pid: killed, code: null, signal: 9 },
    ]);
    assert.throws(() => native.waitPid(exiter), isErrno('ECHILD', /waitpid/));
    assert.throws(() => native.waitPid(1), isErrno('ECHILD'));
    assert.throws(() => native.waitPid(0), TypeError);
    assert.throws(() => (native.waitPid as (x: unknown) => unknown)('1'), TypeError);
  });

  test('window size of a pty master', () => {
    const fd = openSync('/dev/ptmx', constants.O_RDWR | constants.O_NOCTTY);
    try {
      native.setWindowSize(fd, 50, 132);
      assert.deepEqual(native.getWindowSize(fd), { rows: 50, cols: 132 });
      assert.throws(() => native.setWindowSize(fd, 70000, 1), TypeError);
    } finally {
      closeSync(fd);
    }
    const [r, w] = native.pipe();
    try {
      assert.throws(() => native.getWindowSize(r), isErrno('ENOTTY'));
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });

  test('recvFd needs a socket', () => {
    const [r, w] = native.pipe();
    try {
      assert.throws(() => native.recvFd(r), isErrno('ENOTSOCK', /recvmsg/));
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });

  test('adds entropy to /dev/random', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
    const fd = openSync('/dev/random', 'w');
    try {
      native.addEntropy(fd, randomBytes(64), 64 * 8);
      native.reseedCrng(fd);
      assert.throws(() => native.addEntropy(fd, randomBytes(4), 33), TypeError);
      assert.throws(() => (native.addEntropy as (...a: unknown[]) => void)(fd, 'text', 8), TypeError);
    } finally {
      closeSync(fd);
    }
  });

  test('subreaper mode can be read back', () => {
    const was = native.isChildSubreaper();
    native.setChildSubreaper(true);
    assert.equal(native.isChildSubreaper(), true);
    native.setChildSubreaper(was);
    assert.equal(native.isChildSubreaper(), was);
  });
});
