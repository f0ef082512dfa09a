// The sandbox pid namespace: a real pause process in a real new pid
// namespace, joined with nsenter(1), then stopped without leftovers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { describe, test } from 'node:test';

import { startSandboxPidNamespace } from '../../../src/agent/sandbox/pid-namespace.js';
import { SandboxError } from '../../../src/agent/sandbox/errors.js';

describe('sandbox pid namespace', () => {
  test('runs a pause as pid 1 of a new namespace that nsenter can join; stop leaves no process', async () => {
    const ns = await startSandboxPidNamespace();
    const { initPid, holderPid } = ns;
    try {
      assert.ok(ns.running);
      assert.equal(ns.nsPath, `/proc/${initPid}/ns/pid`);
      assert.notEqual(readlinkSync(ns.nsPath), readlinkSync('/proc/self/ns/pid'));
      // Seen from here, the pause is pid 1 of its namespace.
      const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${initPid}/status`, 'utf8'))?.[1]?.split(/\s+/);
      assert.deepEqual(nspid, [String(initPid), '1']);

      // A process entering the namespace sees itself as pid > 1 and the pause
      // as pid 1 (a private /proc of that namespace, in a throwaway mount namespace).
      const res = spawnSync(
        'nsenter',
        ['--target', String(initPid), '--pid', '--', 'unshare', '--mount', '--mount-proc', '--', 'sh', '-c', 'echo $$; cat /proc/1/comm'],
        { encoding: 'utf8' },
      );
      assert.equal(res.status, 0, res.stderr);
      const [selfPid, initComm] = res.stdout.trim().split('\n');
      assert.ok(Number(selfPid) > 1, `pid inside: ${selfPid}`);
      assert.equal(initComm, 'sleep');
    } finally {
      await ns.stop();
    }
    assert.equal(ns.running, false);
    assert.equal(existsSync(`/proc/${initPid}`), false, 'pause process left');
    assert.equal(existsSync(`/proc/${holderPid}`), false, 'unshare process left');
    await ns.stop(); // idempotent
  });

  test('stop also ends processes that joined the namespace', async () => {
    const ns = await startSandboxPidNamespace({ pauseCommand: ['busybox', 'sleep', 'infinity'] });
    let joinedPid = -1;
    try {
      // nsenter forks into the namespace; the joined sleep outlives nsenter only via setsid -f.
      // (stdio ignored: the sleep must not hold a pipe spawnSync waits on)
      const res = spawnSync('nsenter', ['--target', String(ns.initPid), '--pid', '--', 'setsid', '-f', 'sleep', '1000'], { stdio: 'ignore' });
      assert.equal(res.status, 0);
      // Find it from here: a process in the namespace other than the pause.
      const nsLink = readlinkSync(ns.nsPath);
      for (let i = 0; i < 200 && joinedPid < 0; i++) {
        for (const name of readdirSync('/proc')) {
          if (!/^\d+$/.test(name) || Number(name) === ns.initPid) continue;
          try {
            if (readlinkSync(`/proc/${name}/ns/pid`) === nsLink && readFileSync(`/proc/${name}/comm`, 'utf8').trim() === 'sleep') joinedPid = Number(name);
          } catch {
            // exited meanwhile
          }
        }
        if (joinedPid < 0) await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(joinedPid > 0, 'the joined process was not found');
    } finally {
      await ns.stop();
    }
    // The kernel kills every process of a namespace whose init dies, and the
    // dying init reaps them before it is gone itself: nothing is left by now.
    assert.equal(existsSync(`/proc/${joinedPid}`), false, 'the joined process is left');
  });

  test('a missing unshare or pause program is an INTERNAL error naming sandbox_pidns', async () => {
    const isStartError = (err: unknown) =>
      err instanceof SandboxError && err.grpcCode === 13 && err.message.startsWith('create_sandbox.sandbox_pidns: starting the sandbox pid namespace failed');
    await assert.rejects(startSandboxPidNamespace({ unshare: '/nonexistent/unshare' }), isStartError);
    await assert.rejects(startSandboxPidNamespace({ pauseCommand: ['/nonexistent/pause'] }), isStartError);
  });
});
