// The uevent monitor with injected events: records, waiters, timeouts,
// closing, and memory hot-add onlining on a fake sysfs tree.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { UeventMonitorClosedError, UeventTimeoutError } from '../../../src/agent/uevent/errors.js';
import { VirtioBlkMmioMatcher, type UeventMatcher } from '../../../src/agent/uevent/matchers.js';
import { UeventMonitor } from '../../../src/agent/uevent/monitor.js';
import type { Uevent } from '../../../src/agent/uevent/uevent.js';
import { blockAdd, makeFakeSystem, uevent, untilWaiting, type FakeSystem } from '../device/fake-system.js';

const alwaysMatch: UeventMatcher = { matches: () => true };

describe('waiting for events', () => {
  test('a recorded event is returned at once, a later one through a waiter (upstream test_wait_for_uevent)', async () => {
    const monitor = new UeventMonitor();
    try {
      const first = blockAdd('/devices/virtual/block/loop3', 'loop3');
      await monitor.inject(first);
      assert.equal(await monitor.waitFor(alwaysMatch, 1000, 'anything'), first);
      assert.equal(monitor.waiterCount, 0);

      await monitor.inject(uevent({ ACTION: 'remove', DEVPATH: first.devpath }));
      const waiting = monitor.waitFor(alwaysMatch, 10_000, 'anything');
      await untilWaiting(monitor, waiting);
      assert.equal(monitor.waiterCount, 1);
      const second = blockAdd('/devices/virtual/block/loop4', 'loop4');
      await monitor.inject(second);
      assert.equal(await waiting, second);
      assert.equal(monitor.waiterCount, 0);
    } finally {
      monitor.close();
    }
  });

  test('remove forgets a device; other actions neither record nor wake anyone', async () => {
    const monitor = new UeventMonitor();
    try {
      const vdb = new VirtioBlkMmioMatcher('vdb');
      const add = blockAdd('/devices/virtio-mmio-cmdline/virtio-mmio.1/virtio1/block/vdb', 'vdb');
      await monitor.inject(add);
      assert.equal(monitor.find(vdb), add);
      await monitor.inject(uevent({ ACTION: 'remove', DEVPATH: add.devpath, SUBSYSTEM: 'block', DEVNAME: 'vdb' }));
      assert.equal(monitor.find(vdb), undefined);

      const waiting = monitor.waitFor(vdb, 10_000, 'disk vdb');
      await untilWaiting(monitor, waiting);
      await monitor.inject(uevent({ ACTION: 'change', DEVPATH: add.devpath, SUBSYSTEM: 'block', DEVNAME: 'vdb' }));
      assert.equal(monitor.waiterCount, 1, 'a change event does not resolve the waiter');
      assert.equal(monitor.find(vdb), undefined, 'nor is it recorded');
      await monitor.inject(add);
      assert.equal(await waiting, add);
    } finally {
      monitor.close();
    }
  });

  test('each event wakes only the waiters it matches', async () => {
    const monitor = new UeventMonitor();
    try {
      const forVdb = monitor.waitFor(new VirtioBlkMmioMatcher('vdb'), 10_000, 'vdb');
      const forVdc = monitor.waitFor(new VirtioBlkMmioMatcher('vdc'), 10_000, 'vdc');
      await untilWaiting(monitor, Promise.all([forVdb, forVdc]), 2);
      const vdc = blockAdd('/devices/platform/virtio-mmio.2/virtio2/block/vdc', 'vdc');
      await monitor.inject(vdc);
      assert.equal(await forVdc, vdc);
      assert.equal(monitor.waiterCount, 1);
      const vdb = blockAdd('/devices/platform/virtio-mmio.1/virtio1/block/vdb', 'vdb');
      await monitor.inject(vdb);
      assert.equal(await forVdb, vdb);
    } finally {
      monitor.close();
    }
  });

  test('a timeout rejects with an error naming the device and drops the waiter', async () => {
    const monitor = new UeventMonitor();
    try {
      await assert.rejects(monitor.waitFor(new VirtioBlkMmioMatcher('vdz'), 30, 'virtio-mmio block device /dev/vdz'), (err) => {
        assert.ok(err instanceof UeventTimeoutError);
        assert.equal(err.name, 'UeventTimeoutError');
        assert.equal(err.timeoutMs, 30);
        assert.match(err.message, /timed out after 30 ms waiting for virtio-mmio block device \/dev\/vdz/);
        return true;
      });
      assert.equal(monitor.waiterCount, 0);
      // The device turning up later is just recorded.
      await monitor.inject(blockAdd('/devices/platform/virtio-mmio.9/virtio9/block/vdz', 'vdz'));
      assert.ok(monitor.find(new VirtioBlkMmioMatcher('vdz')));
    } finally {
      monitor.close();
    }
  });

  test('a timeout of 0 answers from the records only', async () => {
    const monitor = new UeventMonitor();
    try {
      await assert.rejects(monitor.waitFor(alwaysMatch, 0, 'device X'), UeventTimeoutError);
      assert.equal(monitor.waiterCount, 0);
      const e = blockAdd('/devices/virtual/block/ram0', 'ram0');
      await monitor.inject(e);
      assert.equal(await monitor.waitFor(alwaysMatch, 0, 'device X'), e);
    } finally {
      monitor.close();
    }
  });

  test('closing fails pending waiters, and later waits', async () => {
    const monitor = new UeventMonitor();
    const waiting = monitor.waitFor(new VirtioBlkMmioMatcher('vdq'), 10_000, 'disk vdq');
    await untilWaiting(monitor, waiting);
    monitor.close();
    await assert.rejects(waiting, (err) => err instanceof UeventMonitorClosedError && /disk vdq/.test(err.message));
    assert.equal(monitor.waiterCount, 0);
    await assert.rejects(monitor.waitFor(alwaysMatch, 1000, 'disk vdr'), UeventMonitorClosedError);
    assert.throws(() => monitor.startNetlink(), /closed/);
  });

  test('listeners see every event, until they unsubscribe', async () => {
    const monitor = new UeventMonitor();
    try {
      const seen: Uevent[] = [];
      const unsubscribe = monitor.onEvent((e) => seen.push(e));
      const a = blockAdd('/devices/virtual/block/loop5', 'loop5');
      const c = uevent({ ACTION: 'change', DEVPATH: a.devpath });
      await monitor.inject(a);
      await monitor.inject(c);
      unsubscribe();
      await monitor.inject(uevent({ ACTION: 'remove', DEVPATH: a.devpath }));
      assert.deepEqual(seen, [a, c]);
    } finally {
      monitor.close();
    }
  });
});

describe('memory hot-add', () => {
  let sys: FakeSystem;
  before(async () => {
    sys = await makeFakeSystem();
  });
  after(async () => {
    await sys.cleanup();
  });

  test('an added memory block is brought online', async () => {
    const online = await sys.sysFile('devices/system/memory/memory32/online', '0');
    await sys.monitor.inject(uevent({ DEVPATH: '/devices/system/memory/memory32', SUBSYSTEM: 'memory' }));
    assert.equal(await readFile(online, 'utf8'), '1');
  });

  test('a memory block without an online file is still recorded', async () => {
    const block = uevent({ DEVPATH: '/devices/system/memory/memory33', SUBSYSTEM: 'memory' });
    await sys.monitor.inject(block);
    assert.equal(sys.monitor.find({ matches: (e) => e.devpath === block.devpath }), block);
  });

  test('other devices with an online file are left alone, and so are removals', async () => {
    const cpuOnline = await sys.sysFile('devices/system/cpu/cpu1/online', '0');
    await sys.monitor.inject(uevent({ DEVPATH: '/devices/system/cpu/cpu1', SUBSYSTEM: 'cpu' }));
    assert.equal(await readFile(cpuOnline, 'utf8'), '0');

    const memOnline = await sys.sysFile('devices/system/memory/memory40/online', '0');
    await sys.monitor.inject(uevent({ ACTION: 'remove', DEVPATH: '/devices/system/memory/memory40', SUBSYSTEM: 'memory' }));
    assert.equal(await readFile(memOnline, 'utf8'), '0');
  });
});
