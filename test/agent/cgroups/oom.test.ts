// OomWatcher: a real OOM kill in a memory-limited v1 cgroup, and the event
// queue's behaviour on a fake v2 tree whose memory.events we write.
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CgroupError,
  OomWatcher,
  applyResources,
  detectCgroupLayout,
  openCgroup,
  readStats,
  type Cgroup,
  type CgroupLayout,
} from '../../../src/agent/cgroups/index.js';
import {
  destroyTestCgroup,
  killChild,
  machineLayout,
  makeFakeTree,
  makeTestCgroup,
  removeFakeTree,
  spawnInCgroup,
  v1SkipReason,
  type CgroupChild,
} from './helpers.js';

const layout = await machineLayout();
const MiB = 1024 * 1024;

describe('OomWatcher with a real OOM kill (cgroup v1)', { skip: v1SkipReason(layout, 'memory') }, () => {
  let victim: Cgroup;
  let bystander: Cgroup;
  let child: CgroupChild | undefined;
  const watcher = new OomWatcher({ pollIntervalMs: 50 });
  before(async () => {
    victim = await makeTestCgroup('oom', layout!);
    bystander = await makeTestCgroup('calm', layout!);
    await applyResources(victim, { memory: { limit: 16 * MiB, swap: 16 * MiB } });
  });
  after(async () => {
    watcher.close();
    await killChild(child);
    await destroyTestCgroup(victim);
    await destroyTestCgroup(bystander);
  });

  test('a process allocating past a 16 MiB limit is killed and its container id is emitted', async () => {
    await watcher.register('ctr-oom', victim);
    await watcher.register('ctr-calm', bystander);
    const heard: string[] = [];
    watcher.onOom((id) => heard.push(id));
    // dd fills a 64 MiB buffer from /dev/zero: every page is touched and charged.
    child = await spawnInCgroup(victim, ['busybox', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1']);
    const exit = await child.exited;
    assert.equal(exit.signal, 'SIGKILL');
    const id = await watcher.nextOomEvent(AbortSignal.timeout(10_000));
    assert.equal(id, 'ctr-oom');
    assert.deepEqual(heard, ['ctr-oom']);
    assert.equal(watcher.pendingEvents(), 0);
    const stats = await readStats(victim);
    assert.equal(stats.memoryStats.usage.limit, BigInt(16 * MiB));
    assert.ok(stats.memoryStats.usage.maxUsage > BigInt(8 * MiB));
  });
});

describe('OomWatcher event queue (fake cgroup v2 memory.events)', () => {
  let root: string;
  let fakeLayout: CgroupLayout;
  const events = (n: number) => `low 0\nhigh 0\nmax ${n}\noom ${n}\noom_kill ${n}\noom_group_kill 0\n`;
  const bump = (ctr: string, n: number) => fsp.writeFile(join(root, ctr, 'memory.events'), events(n));
  const open = (ctr: string) => openCgroup(`/${ctr}`, { layout: fakeLayout });
  before(async () => {
    root = await makeFakeTree({
      'cgroup.controllers': 'memory pids\n',
      'a/memory.events': events(0),
      'b/memory.events': events(0),
      'c/memory.events': events(5),
      'nomem/cgroup.procs': '',
    });
    fakeLayout = await detectCgroupLayout(root);
  });
  after(async () => removeFakeTree(root));

  test('events wait in order until taken; counts from before registration do not count', async () => {
    const w = new OomWatcher({ pollIntervalMs: 60_000 });
    try {
      await w.register('a', await open('a'));
      await w.register('b', await open('b'));
      await w.register('c', await open('c')); // already at 5
      await w.checkNow();
      assert.equal(w.pendingEvents(), 0);
      await bump('a', 1);
      await w.checkNow();
      await bump('b', 1);
      await w.checkNow();
      assert.equal(w.pendingEvents(), 2);
      assert.equal(await w.nextOomEvent(), 'a');
      assert.equal(await w.nextOomEvent(), 'b');
      assert.equal(w.pendingEvents(), 0);
      await w.checkNow(); // no change, no event
      assert.equal(w.pendingEvents(), 0);
    } finally {
      w.close();
      await bump('a', 0);
      await bump('b', 0);
    }
  });

  test('several waiters are served first come, first served; an aborted waiter is skipped', async () => {
    const w = new OomWatcher({ pollIntervalMs: 60_000 });
    try {
      await w.register('a', await open('a'));
      await w.register('b', await open('b'));
      const abort = new AbortController();
      const first = w.nextOomEvent();
      const aborted = w.nextOomEvent(abort.signal);
      const second = w.nextOomEvent();
      abort.abort();
      await assert.rejects(aborted, { name: 'AbortError' });
      await bump('b', 1);
      await w.checkNow();
      await bump('a', 1);
      await w.checkNow();
      assert.equal(await first, 'b');
      assert.equal(await second, 'a');
      assert.equal(w.pendingEvents(), 0);
    } finally {
      w.close();
      await bump('a', 0);
      await bump('b', 0);
    }
  });

  test('inotify on memory.events wakes the watcher without waiting for the poll', async () => {
    const w = new OomWatcher({ pollIntervalMs: 60_000 });
    try {
      await w.register('a', await open('a'));
      const next = w.nextOomEvent(AbortSignal.timeout(5000));
      await bump('a', 3);
      assert.equal(await next, 'a');
    } finally {
      w.close();
      await bump('a', 0);
    }
  });

  test('unregister takes a last look; a removed cgroup is dropped; close cancels waiters', async () => {
    const w = new OomWatcher({ pollIntervalMs: 60_000 });
    await fsp.mkdir(join(root, 'gone'));
    await fsp.writeFile(join(root, 'gone', 'memory.events'), events(0));
    await w.register('a', await open('a'));
    await w.register('gone', await open('gone'));
    await bump('a', 1);
    await w.unregister('a');
    assert.equal(w.pendingEvents(), 1);
    assert.equal(await w.nextOomEvent(), 'a');
    await fsp.rm(join(root, 'gone'), { recursive: true });
    await w.checkNow();
    assert.deepEqual(w.registered(), []);
    const waiting = w.nextOomEvent();
    w.close();
    await assert.rejects(waiting, (err: unknown) => err instanceof CgroupError && err.code === 'CANCELLED');
    await assert.rejects(w.register('b', await open('b')), { code: 'FAILED_PRECONDITION' });
    await bump('a', 0);
  });

  test('registering needs a container id and a memory controller', async () => {
    const w = new OomWatcher();
    try {
      await assert.rejects(w.register('', await open('a')), { code: 'INVALID_ARGUMENT' });
      const noMemory = await openCgroup('/nomem', { layout: { ...fakeLayout, unifiedControllers: ['pids'] } });
      await assert.rejects(w.register('x', noMemory), { code: 'FAILED_PRECONDITION' });
      await assert.rejects(w.register('x', await open('nomem')), { code: 'NOT_FOUND' });
    } finally {
      w.close();
    }
  });
});
