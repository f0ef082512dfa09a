// The reaper with real processes: orphans re-parented to the agent (a child
// subreaper) are reaped with the right status, late watchers still get it, no
// zombie stays, and Node's child_process keeps receiving its own exits.
//
// perl (Debian's essential perl-base) is used as a parent that forks and does
// not reap, so its children end up re-parented to the test process.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { exitStatus, LOST_STATUS } from '../../../src/agent/process/exit-status.js';
import { Reaper } from '../../../src/agent/process/reaper.js';
import { processNative } from '../../../src/native/process.js';

/**
 * Runs a perl parent that forks `count` children running `childCode`, prints
 * their pids and exits after `parentDelay` seconds without reaping them.
 */
async function orphans(childCode: string, count = 1, parentDelay = 0): Promise<number[]> {
  const script = `
    $| = 1;
    for (1..${count}) { my $p = fork(); if ($p == 0) { ${childCode}; exit 0 } print "$p\\n"; }
    select(undef, undef, undef, ${parentDelay});
    exit 0;`;
  const child = spawn('perl', ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
  return out.trim().split('\n').map(Number);
}

/** Whether `pid` exists and, if so, is a zombie. */
function procState(pid: number): 'gone' | 'zombie' | 'alive' {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') ? 'zombie' : 'alive';
  } catch {
    return 'gone';
  }
}

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('exit statuses', () => {
  test('an exit code is reported as is; a signal as 128 + signal', () => {
    assert.deepEqual(exitStatus(10, 3, null), { pid: 10, code: 3, signal: null, status: 3 });
    assert.deepEqual(exitStatus(10, null, 9), { pid: 10, code: null, signal: 9, status: 137 });
    assert.equal(exitStatus(10, null, null).status, LOST_STATUS);
  });
});

describe('Reaper', { timeout: 60_000 }, () => {
  const reaper = Reaper.shared({ orphanGraceMs: 50 });
  after(() => reaper.stop());

  test('makes the process a child subreaper', () => {
    assert.equal(processNative().isChildSubreaper(), true);
    assert.equal(Reaper.shared(), reaper, 'one reaper per process');
  });

  test('reports the exit code and the killing signal of re-parented processes', async () => {
    const [exiter] = await orphans('select(undef, undef, undef, 0.2); exit 4');
    const [killed] = await orphans('select(undef, undef, undef, 0.2); kill 9, $$; sleep 5');
    assert.equal(procState(exiter!), 'alive');
    const [a, b] = await Promise.all([reaper.watch(exiter!), reaper.watch(killed!)]);
    assert.deepEqual(a, { pid: exiter, code: 4, signal: null, status: 4 });
    assert.deepEqual(b, { pid: killed, code: null, signal: 9, status: 137 });
    assert.equal(procState(exiter!), 'gone');
    // A second watch of the same pid gets the same status.
    assert.deepEqual(await reaper.watch(exiter!), a);
  });

  test('reaps orphans nobody watches (no zombie stays) and keeps their status for a late watch', async () => {
    const pids = await orphans('exit 5', 5, 0.05);
    await waitUntil(() => pids.every((p) => procState(p) === 'gone'), 'orphans to be reaped');
    for (const pid of pids) assert.deepEqual(await reaper.watch(pid), { pid, code: 5, signal: null, status: 5 });
  });

  test('child_process still gets the exit of every child it spawned while orphans come and go', async () => {
    const runs = Array.from({ length: 30 }, async (_, i) => {
      const child = spawn('sh', ['-c', `exit ${i}`], { stdio: 'ignore' });
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    });
    const churn = orphans('exit 1', 10, 0.02);
    const codes = await Promise.all(runs);
    assert.deepEqual(
      codes,
      Array.from({ length: 30 }, (_, i) => i),
    );
    assert.equal(execFileSync('sh', ['-c', 'echo sync-ok'], { encoding: 'utf8' }), 'sync-ok\n');
    const churned = await churn;
    await waitUntil(() => churned.every((p) => procState(p) === 'gone'), 'churned orphans to be reaped');
  });

  test('a pid that is not a child and does not exist reports the lost status', async () => {
    let pid = 4_000_000;
    while (existsSync(`/proc/${pid}`)) pid++;
    assert.equal((await reaper.watch(pid)).status, LOST_STATUS);
  });

  test('rejects a bad pid', () => {
    assert.throws(() => reaper.watch(0), TypeError);
    assert.throws(() => reaper.watch(1.5), TypeError);
  });
});
