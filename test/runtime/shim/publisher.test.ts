// Task events reach a real containerd 1.6 (no VM needed): by its ttRPC
// events service, by the publish binary (containerd itself) when ttRPC is
// unusable, in order, and a failure to publish is logged, never thrown.
// What containerd received is read back with `ctr events`, which prints
// each event decoded from its type URL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { EventPublisher } from '../../../src/runtime/shim/publisher.js';
import { containerdSkipReason, startContainerd, type Containerd } from '../../helpers/containerd.js';

interface SeenEvent {
  namespace: string;
  topic: string;
  body: Record<string, unknown>;
}

/** `ctr events`, parsed: "<date> <time> <zone> UTC <namespace> <topic> <json>". */
class EventWatcher {
  private readonly child: ChildProcess;
  private text = '';

  constructor(cd: Containerd) {
    this.child = spawn('ctr', ['--address', cd.address, 'events'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.text += d));
  }

  seen(namespace: string): SeenEvent[] {
    const out: SeenEvent[] = [];
    for (const line of this.text.split('\n')) {
      const m = /^\S+ \S+ \S+ \S+ (\S+) (\S+) (.*)$/.exec(line);
      if (m && m[1] === namespace) out.push({ namespace: m[1], topic: m[2]!, body: JSON.parse(m[3]!) as Record<string, unknown> });
    }
    return out;
  }

  async waitFor(namespace: string, count: number): Promise<SeenEvent[]> {
    const deadline = Date.now() + 20_000;
    while (this.seen(namespace).length < count) {
      if (Date.now() > deadline) throw new Error(`${this.seen(namespace).length} of ${count} events seen:\n${this.text}`);
      await sleep(20);
    }
    return this.seen(namespace);
  }

  stop(): void {
    this.child.kill();
  }
}

function capturingLogger(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  return { logger, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('events to containerd', { skip: containerdSkipReason() }, () => {
  let cd: Containerd;
  let watcher: EventWatcher;
  let dir: string;
  let n = 0;
  /** A namespace per test, so that each reads only its own events. */
  const freshNamespace = () => `pub-${process.pid}-${++n}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-shim-pub-'));
    cd = await startContainerd();
    watcher = new EventWatcher(cd);
    // `ctr events` subscribes asynchronously: wait until it sees a first event.
    const probe = new EventPublisher({ namespace: 'probe', ttrpcAddress: cd.ttrpcAddress, grpcAddress: cd.address, publishBinary: '' });
    for (let i = 0; watcher.seen('probe').length === 0; i++) {
      if (i > 200) throw new Error('ctr events saw nothing');
      probe.publish({ topic: '/tasks/paused', containerId: 'probe' });
      await sleep(50);
    }
    await probe.close();
  });

  after(async () => {
    watcher?.stop();
    await cd?.stop();
    await rm(dir, { recursive: true, force: true });
    if (cd) assert.deepEqual(await cd.leftovers(), []);
  });

  test('over ttRPC: decoded by containerd, in order, with their fields', async () => {
    const ns = freshNamespace();
    const pub = new EventPublisher({ namespace: ns, ttrpcAddress: cd.ttrpcAddress, grpcAddress: cd.address, publishBinary: '' });
    const exitedAt = new Date('2024-01-02T03:04:05.678Z');
    pub.publish({ topic: '/tasks/create', containerId: 'c1', bundle: '/b/c1', io: { stdin: '', stdout: '/f/o', stderr: '/f/e', terminal: false }, pid: 41 });
    for (let i = 0; i < 20; i++) pub.publish({ topic: '/tasks/exec-added', containerId: 'c1', execId: `e${i}` });
    pub.publish({ topic: '/tasks/exit', containerId: 'c1', id: 'c1', pid: 41, exitStatus: 42, exitedAt });
    await pub.close();
    assert.deepEqual(pub.delivered, { ttrpc: 22, binary: 0, dropped: 0 });

    const seen = await watcher.waitFor(ns, 22);
    assert.deepEqual(
      seen.map((e) => e.topic),
      ['/tasks/create', ...Array<string>(20).fill('/tasks/exec-added'), '/tasks/exit'],
    );
    assert.deepEqual(seen[0]!.body, { container_id: 'c1', bundle: '/b/c1', io: { stdout: '/f/o', stderr: '/f/e' }, pid: 41 });
    assert.deepEqual(seen.slice(1, 21).map((e) => e.body.exec_id), Array.from({ length: 20 }, (_, i) => `e${i}`));
    assert.deepEqual(seen[21]!.body, { container_id: 'c1', id: 'c1', pid: 41, exit_status: 42, exited_at: exitedAt.toISOString() });
  });

  test('through the publish binary when the ttRPC socket is unusable', async () => {
    const ns = freshNamespace();
    const { logger, lines } = capturingLogger();
    const pub = new EventPublisher({
      namespace: ns,
      ttrpcAddress: join(dir, 'no-such.sock'),
      grpcAddress: cd.address,
      publishBinary: '/usr/bin/containerd',
      logger,
    });
    pub.publish({ topic: '/tasks/paused', containerId: 'c2' });
    pub.publish({ topic: '/tasks/resumed', containerId: 'c2' });
    await pub.close();
    assert.deepEqual(pub.delivered, { ttrpc: 0, binary: 2, dropped: 0 });
    const seen = await watcher.waitFor(ns, 2);
    assert.deepEqual(seen.map((e) => [e.topic, e.body]), [
      ['/tasks/paused', { container_id: 'c2' }],
      ['/tasks/resumed', { container_id: 'c2' }],
    ]);
    assert.ok(lines().some((l) => l.msg === 'event published by the publish binary'), 'the detour is logged');
  });

  test('an event nobody accepts is dropped and logged; publish never throws', async () => {
    const { logger, lines } = capturingLogger();
    // containerd refuses this namespace on both routes.
    const pub = new EventPublisher({
      namespace: 'not a valid namespace!',
      ttrpcAddress: cd.ttrpcAddress,
      grpcAddress: cd.address,
      publishBinary: '/usr/bin/containerd',
      logger,
      attempts: 2,
      retryDelayMs: 10,
    });
    assert.doesNotThrow(() => pub.publish({ topic: '/tasks/oom', containerId: 'c3' }));
    // Still in order behind the failing one, and still refused.
    pub.publish({ topic: '/tasks/paused', containerId: 'c3' });
    await pub.close();
    assert.deepEqual(pub.delivered, { ttrpc: 0, binary: 0, dropped: 2 });
    const failures = lines().filter((l) => l.msg === 'publishing an event failed');
    assert.equal(failures.length, 4, 'two attempts per event, each logged');
    assert.match(JSON.stringify(failures[0]!.errors), /namespace/i, 'containerd\'s reason is in the log');
    assert.equal(lines().filter((l) => l.msg === 'event dropped after 2 attempts').length, 2);

    const none = new EventPublisher({ namespace: 'x', ttrpcAddress: '', grpcAddress: '', publishBinary: '', attempts: 1, logger });
    none.publish({ topic: '/tasks/oom', containerId: 'c4' });
    await none.close();
    assert.equal(none.delivered.dropped, 1);
    none.publish({ topic: '/tasks/oom', containerId: 'c4' });
    assert.equal(none.backlog, 0, 'after close, events are dropped at once');
  });
});
