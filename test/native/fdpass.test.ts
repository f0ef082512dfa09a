// The native descriptor-passing functions between real processes: sending a
// pty master to a console socket as runc does, and taking a descriptor of a
// live child with pidfd_getfd.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { isatty } from 'node:tty';
import { ConsoleSocket } from '../../src/agent/process/console-socket.js';
import { CONSOLE_SOCKET_PAYLOAD, fdPassNative } from '../../src/native/fdpass.js';
import { processNative, type ReceivedFd } from '../../src/native/process.js';
import { ptyNative } from '../../src/native/pty.js';
import { readBytes } from './fd-helpers.js';

const fdpass = fdPassNative();
const native = processNative();

function isErrno(code: string, syscall: string, detail?: RegExp) {
  return (err: unknown) => {
    const e = err as NodeJS.ErrnoException;
    return e.code === code && e.syscall === syscall && typeof e.errno === 'number' && e.errno < 0 && (!detail || detail.test(e.message));
  };
}

/** A Unix socket server that takes one SCM_RIGHTS message per connection with recvFd. */
async function fdReceiver(path: string): Promise<{ server: Server; next: () => Promise<ReceivedFd> }> {
  const messages: ReceivedFd[] = [];
  const server = createServer({ pauseOnConnect: true }, (socket: Socket) => {
    const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
    const poll = () => {
      const msg = native.recvFd(fd);
      if (msg === null) return void setTimeout(poll, 2);
      messages.push(msg);
      socket.destroy();
    };
    poll();
  });
  server.listen(path);
  await once(server, 'listening');
  return {
    server,
    async next() {
      for (let i = 0; i < 5000 && messages.length === 0; i++) await sleep(2);
      const msg = messages.shift();
      assert.ok(msg, 'a message arrived');
      return msg;
    },
  };
}

function sameFile(a: number, b: number): boolean {
  const sa = fstatSync(a);
  const sb = fstatSync(b);
  return sa.dev === sb.dev && sa.ino === sb.ino && sa.rdev === sb.rdev;
}

/** A child that only sleeps, with the given stdio; killed by the caller. */
function sleeper(stdio: Parameters<typeof spawn>[2]['stdio']): ChildProcess {
  return spawn('sleep', ['60'], { stdio });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}

describe('native sendFd', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-fdpass-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('sends a pty master as runc does: one descriptor, "/dev/ptmx" as payload', async () => {
    const path = join(dir, 'console.sock');
    const { server, next } = await fdReceiver(path);
    const { master, slave } = ptyNative().openPty();
    try {
      await fdpass.sendFd(path, master);
      const msg = await next();
      try {
        assert.equal(CONSOLE_SOCKET_PAYLOAD, '/dev/ptmx');
        assert.equal(msg.data.toString(), '/dev/ptmx');
        assert.ok(msg.fd >= 0 && msg.fd !== master);
        assert.ok(sameFile(msg.fd, master), 'the same pty master');
        // It works as the master: what the slave writes comes out of it.
        native.setNonBlocking(msg.fd, true);
        writeSync(slave, 'x');
        assert.equal((await readBytes(msg.fd, 1)).toString(), 'x');
      } finally {
        closeSync(msg.fd);
      }
      // The sender keeps its own descriptor.
      assert.ok(isatty(master));
    } finally {
      closeSync(master);
      closeSync(slave);
      server.close();
    }
  });

  test('a custom payload travels with the descriptor', async () => {
    const path = join(dir, 'custom.sock');
    const { server, next } = await fdReceiver(path);
    const [r, w] = native.pipe();
    try {
      await fdpass.sendFd(path, w, 'pipe-name', 1000);
      const msg = await next();
      try {
        assert.equal(msg.data.toString(), 'pipe-name');
        writeSync(msg.fd, 'through');
        native.setNonBlocking(r, true);
        assert.equal((await readBytes(r, 7)).toString(), 'through');
      } finally {
        closeSync(msg.fd);
      }
    } finally {
      closeSync(r);
      closeSync(w);
      server.close();
    }
  });

  test("the agent's console socket accepts what sendFd sends", async () => {
    const cs = await ConsoleSocket.listen(dir);
    const { master, slave } = ptyNative().openPty();
    try {
      const received = cs.receive(10_000);
      await fdpass.sendFd(cs.path, master);
      const fd = await received;
      try {
        assert.ok(sameFile(fd, master));
      } finally {
        closeSync(fd);
      }
    } finally {
      closeSync(master);
      closeSync(slave);
      await cs.close();
    }
  });

  test('failures: nobody listening, a bad descriptor, bad arguments', async () => {
    const [r, w] = native.pipe();
    try {
      const missing = join(dir, 'nobody.sock');
      await assert.rejects(fdpass.sendFd(missing, r), isErrno('ENOENT', 'connect', new RegExp(`: ${missing}$`)));
      // A plain file is no socket.
      const file = join(dir, 'plain');
      closeSync(openSync(file, 'w'));
      await assert.rejects(fdpass.sendFd(file, r), isErrno('ECONNREFUSED', 'connect'));
      assert.throws(() => fdpass.sendFd(join(dir, 'x.sock'), 99999), isErrno('EBADF', 'fcntl(F_DUPFD_CLOEXEC)'));
      const typeError = (pattern: RegExp) => (err: NodeJS.ErrnoException) =>
        err instanceof TypeError && err.code === 'ERR_INVALID_ARG_TYPE' && pattern.test(err.message);
      assert.throws(() => fdpass.sendFd(`/${'a'.repeat(120)}`, r), typeError(/^socketPath must hold 1 to 107 bytes/));
      assert.throws(() => fdpass.sendFd('', r), typeError(/^socketPath must hold/));
      assert.throws(() => fdpass.sendFd(missing, r, ''), typeError(/^payload must not be empty/));
      assert.throws(() => fdpass.sendFd(missing, r, 'x'.repeat(4096)), typeError(/^payload is too long/));
      assert.throws(() => (fdpass.sendFd as (...a: unknown[]) => unknown)(missing, 'r'), typeError(/^fd must be a number/));
      assert.throws(() => (fdpass.sendFd as (...a: unknown[]) => unknown)(missing, r, null, 'soon'), typeError(/^timeoutMs must be a number/));
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });
});

describe('native getFdOfProcess', () => {
  test("takes a child's pipe: what we write to its stdout comes out of our end", async () => {
    const child = sleeper(['ignore', 'pipe', 'ignore']);
    try {
      await once(child, 'spawn');
      const fd = fdpass.getFdOfProcess(child.pid!, 1);
      try {
        writeSync(fd, 'borrowed');
      } finally {
        closeSync(fd);
      }
      const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
      assert.equal(chunk.toString(), 'borrowed');
    } finally {
      await stop(child);
    }
  });

  test("takes a child's file descriptor: same file, close-on-exec", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kata-ts-getfd-'));
    const file = join(dir, 'data');
    const ours = openSync(file, 'w+');
    const child = sleeper(['ignore', 'ignore', 'ignore', ours]);
    try {
      await once(child, 'spawn');
      const fd = fdpass.getFdOfProcess(child.pid!, 3);
      try {
        assert.ok(sameFile(fd, ours));
        const flags = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').match(/^flags:\s+([0-7]+)$/m)?.[1];
        assert.ok(flags !== undefined && (parseInt(flags, 8) & 0o2000000) !== 0, `O_CLOEXEC in flags ${flags}`);
      } finally {
        closeSync(fd);
      }
    } finally {
      closeSync(ours);
      await stop(child);
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a dead process gives ESRCH, a missing descriptor EBADF, each naming what it looked for', async () => {
    const child = sleeper('ignore');
    await once(child, 'spawn');
    const pid = child.pid!;
    try {
      assert.throws(() => fdpass.getFdOfProcess(pid, 4321), isErrno('EBADF', 'pidfd_getfd', new RegExp(`: fd 4321 of pid ${pid}$`)));
    } finally {
      await stop(child); // exited and reaped: the pid is gone
    }
    assert.throws(() => fdpass.getFdOfProcess(pid, 0), isErrno('ESRCH', 'pidfd_open', new RegExp(`: pid ${pid}$`)));
  });

  test('bad arguments throw a TypeError', () => {
    assert.throws(() => fdpass.getFdOfProcess(0, 1), /^TypeError: pid must be a positive number$/);
    assert.throws(() => fdpass.getFdOfProcess(process.pid, -1), /^TypeError: fd must not be negative$/);
    assert.throws(() => (fdpass.getFdOfProcess as (...a: unknown[]) => unknown)('1', 1), TypeError);
  });
});
