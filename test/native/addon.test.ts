// The native addon as a whole: one module holding every file's functions, and
// the error shapes shared by all of them (native/src/napi-util.c), which the
// TypeScript callers rely on (mount.ts and the vsock transport read the
// message; everything reads `code`).

import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { describe, test } from 'node:test';
import { loadAddon, NATIVE_ADDON_FILE } from '../../src/native/addon.js';

type Fn = (...args: unknown[]) => unknown;

describe('native addon', () => {
  test('one module exports the functions of every C file', () => {
    assert.equal(NATIVE_ADDON_FILE, 'native/build/Release/kata_native.node');
    const addon = loadAddon();
    const groups: Record<string, string[]> = {
      vsock: ['listen', 'accept', 'connect', 'shutdown'],
      process: ['setChildSubreaper', 'isChildSubreaper', 'waitPid', 'peekExitedChild', 'pipe', 'dup', 'setNonBlocking', 'recvFd', 'setWindowSize', 'getWindowSize', 'addEntropy', 'reseedCrng'],
      netlink: ['ueventOpen', 'ueventWatch', 'ueventUnwatch'],
      mount: ['mount', 'umount2'],
      clock: ['setRealtimeClock'],
      pty: ['openPty', 'setRawMode', 'setTerminalAttributes'],
      fdpass: ['sendFd', 'getFdOfProcess'],
    };
    for (const [file, names] of Object.entries(groups)) {
      for (const name of names) assert.equal(typeof addon[name], 'function', `${name} (native/src/${file}.c)`);
    }
    assert.deepEqual(Object.keys(addon).sort(), Object.values(groups).flat().sort(), 'nothing else is exported');
    assert.equal(loadAddon(), addon, 'loaded once');
  });

  test('a failed system call throws an Error like Node: code, negative errno, syscall, message naming all three', () => {
    const dup = loadAddon().dup as Fn;
    assert.throws(
      () => dup(-1),
      (err: NodeJS.ErrnoException) => {
        assert.ok(err instanceof Error);
        assert.equal(err.code, 'EBADF');
        assert.equal(err.errno, -constants.errno.EBADF);
        assert.equal(err.syscall, 'fcntl(F_DUPFD_CLOEXEC)');
        assert.match(err.message, /^fcntl\(F_DUPFD_CLOEXEC\) failed: .+ \(EBADF\)$/);
        return true;
      },
    );
  });

  test('errors settled asynchronously (vsock connect) have the same shape', async () => {
    const connect = loadAddon().connect as Fn;
    // Nobody listens on port 1 of the local context (CID 1): connect is refused
    // or times out; where the kernel has no vsock at all, socket() fails.
    await assert.rejects(connect(1, 1, 100) as Promise<number>, (err: NodeJS.ErrnoException) => {
      assert.ok(typeof err.code === 'string' && err.code.startsWith('E'), `code ${err.code}`);
      assert.ok(typeof err.errno === 'number' && err.errno < 0, `errno ${err.errno}`);
      assert.ok(['connect', 'socket', 'setsockopt'].includes(err.syscall ?? ''), `syscall ${err.syscall}`);
      assert.match(err.message, new RegExp(`^${err.syscall} failed: .+ \\(${err.code}\\)$`));
      return true;
    });
  });

  test('bad arguments throw a TypeError with code ERR_INVALID_ARG_TYPE naming the argument', () => {
    const addon = loadAddon();
    const cases: [string, unknown[], RegExp][] = [
      ['listen', [0, 'port', 1], /^port must be a number$/],
      ['dup', [], /^fd must be a number$/],
      ['umount2', ['/x', -1], /^flags must be a 32-bit unsigned integer$/],
      ['mount', [null, 7, null, 0, null], /^target must be a string$/],
      ['setRealtimeClock', [1.5, 0], /^sec must be an integer/],
      ['ueventWatch', [3, 'not a function'], /^callback must be a function$/],
    ];
    for (const [name, args, message] of cases) {
      assert.throws(
        () => (addon[name] as Fn)(...args),
        (err: NodeJS.ErrnoException) => err instanceof TypeError && err.code === 'ERR_INVALID_ARG_TYPE' && message.test(err.message),
        name,
      );
    }
  });
});
