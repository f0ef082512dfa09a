// The small pieces the manager harnesses stand on: the command runner (exit
// status, output, time limit), shell quoting, the leftover finders.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandTimeoutError, runCommand, shellQuote } from './command.js';
import { killAndWait, liveProcesses, mountsUnder, processesMentioning, readMounts } from './leftovers.js';

/** A node program that waits 30 s; an extra argument tags its command line. */
const SLEEP_30S = 'setTimeout(() => {}, 30_000)';

describe('runCommand', () => {
  test('returns the exit status and both outputs, and feeds stdin', async () => {
    const r = await runCommand('sh', ['-c', 'read x; echo "out:$x"; echo err >&2; exit 3'], { input: 'abc\n' });
    assert.deepEqual(r, { code: 3, signal: null, stdout: 'out:abc\n', stderr: 'err\n' });
  });

  test('kills a command that outlives its time limit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kata-ts-cmd-'));
    try {
      const marker = join(dir, 'sleeper');
      await assert.rejects(runCommand(process.execPath, ['-e', SLEEP_30S, marker], { timeoutMs: 500 }), (err: unknown) => {
        assert.ok(err instanceof CommandTimeoutError);
        assert.equal(err.partial.signal, 'SIGKILL');
        return true;
      });
      assert.deepEqual(await processesMentioning(marker), [], 'the command is gone');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('shellQuote', () => {
  test('sh gets back exactly the quoted argument', async () => {
    const samples = ['plain', "it's", 'a b', '$HOME', '"q"', '', '--flag=x y', 'back\\slash', 'semi;colon'];
    const r = await runCommand('sh', ['-c', `printf '%s\\n' ${samples.map(shellQuote).join(' ')}`]);
    assert.equal(r.stdout, samples.map((s) => `${s}\n`).join(''));
  });
});

describe('leftover finders', () => {
  test('processesMentioning finds a live process by its command line, and killAndWait ends it', async () => {
    const tag = `kata-ts-leftover-probe-${process.pid}`;
    const child = spawn(process.execPath, ['-e', SLEEP_30S, tag], { stdio: 'ignore' });
    try {
      let found: number[] = [];
      for (let i = 0; i < 100 && found.length === 0; i++) {
        found = (await processesMentioning(tag)).map((p) => p.pid);
        if (found.length === 0) await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(found, [child.pid]);
      await killAndWait(found);
      assert.deepEqual(await processesMentioning(tag), []);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('liveProcesses never lists this process', async () => {
    assert.ok(!(await liveProcesses()).some((p) => p.pid === process.pid));
  });

  test('readMounts sees the root mount; mountsUnder a fresh directory is empty', async () => {
    assert.ok((await readMounts()).some((m) => m.mountPoint === '/'));
    const dir = await mkdtemp(join(tmpdir(), 'kata-ts-mounts-'));
    try {
      assert.deepEqual(await mountsUnder(dir), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
