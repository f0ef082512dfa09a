// The QMP client against a real QEMU: a q35 guest (the image's kernel, a
// tiny initrd) with our usual layout, into which a raw disk is hot-plugged
// and unplugged again (DEVICE_DELETED needs the guest's ACPI to let go).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OwnedChild } from '../../../src/runtime/qemu/child.js';
import { buildKernelCmdline, buildQemuArgs } from '../../../src/runtime/qemu/cmdline.js';
import { DiskHotplugger } from '../../../src/runtime/qemu/hotplug.js';
import { QmpClient, QmpCommandError, QmpClosedError } from '../../../src/runtime/qemu/qmp.js';
import type { PciDeviceInfo } from '../../../src/runtime/qemu/qmp-types.js';
import { IMAGE, kernelMissing, QEMU, TINY_INIT_MARKER, writeRawDisk, writeTinyInitrd } from '../helpers.js';

const skip = kernelMissing();

describe('QmpClient with a real QEMU', { skip }, () => {
  let dir: string;
  let qemu: OwnedChild;
  let qmp: QmpClient;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-qmp-'));
    await writeTinyInitrd(join(dir, 'initrd'));
    await writeRawDisk(join(dir, 'disk.img'), 1, 'disk');
    const args = buildQemuArgs({
      name: 'kata-ts-qmp-test',
      accel: 'tcg',
      vcpus: 1,
      memoryMiB: 256,
      kernel: IMAGE.kernel,
      initrd: join(dir, 'initrd'),
      kernelCmdline: buildKernelCmdline({ debug: false, hotplugTimeoutMs: 3000, debugConsole: false, extra: [] }),
      consoleLog: join(dir, 'console.log'),
      qmpSocket: join(dir, 'qmp.sock'),
      agentChannel: { kind: 'virtio-serial', socket: join(dir, 'agent.sock') },
      pcieRootPorts: 2,
    });
    qemu = new OwnedChild('qemu', QEMU, args);
    qmp = await QmpClient.connect(join(dir, 'qmp.sock'));
  });

  after(async () => {
    await qmp?.close();
    await qemu?.stop(2000, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  test('greeting and query-status', async () => {
    assert.equal(qmp.greeting.QMP.version.qemu.major >= 7, true);
    const status = await qmp.execute('query-status');
    assert.equal(status.running, true);
    assert.equal(status.status, 'running');
  });

  test('an unknown command and a bad device_del are QMP errors with the class', async () => {
    await assert.rejects(qmp.executeRaw('no-such-command'), (err: unknown) => err instanceof QmpCommandError && err.errorClass === 'CommandNotFound');
    await assert.rejects(qmp.execute('device_del', { id: 'nope' }), (err: unknown) => err instanceof QmpCommandError && /nope/.test(err.message));
  });

  test('blockdev-add + device_add into a root port, then device_del with DEVICE_DELETED', async () => {
    // ACPI hot-unplug needs a guest that has booted: wait for the tiny init.
    const deadline = Date.now() + 120_000;
    while (!(await readFile(join(dir, 'console.log'), 'utf8').catch(() => '')).includes(TINY_INIT_MARKER)) {
      assert.ok(Date.now() < deadline, 'the guest did not boot');
      await sleep(100);
    }
    // The tiny guest has no virtio driver: do not wait for one to take the disk.
    const hotplug = new DiskHotplugger(qmp, 2, 10_000, 0);
    const disk = await hotplug.plug({ path: join(dir, 'disk.img'), kind: 'file' });
    assert.equal(disk.pciPath, '03/00');
    assert.equal(hotplug.freePorts, 1);

    // The disk is function 0 of slot 0 on the bus behind the root port at 00:03.0.
    const buses = await qmp.execute('query-pci');
    const port = buses[0]!.devices.find((d) => d.slot === 3 && d.qdev_id === 'rp0');
    assert.ok(port?.pci_bridge, 'root port rp0 at slot 3');
    const behind: PciDeviceInfo[] = port.pci_bridge.devices ?? [];
    assert.deepEqual(behind.map((d) => [d.qdev_id, d.slot, d.function]), [[disk.deviceId, 0, 0]]);

    const events: string[] = [];
    const unsubscribe = qmp.onEvent((e) => events.push(e.event));
    await hotplug.unplug(disk);
    unsubscribe();
    assert.ok(events.includes('DEVICE_DELETED'));
    assert.equal(hotplug.freePorts, 2);
    const again = await qmp.execute('query-pci');
    const emptied = again[0]!.devices.find((d) => d.qdev_id === 'rp0');
    assert.deepEqual(emptied?.pci_bridge?.devices ?? [], []);
  });

  test('quit ends QEMU; later commands fail with QmpClosedError', async () => {
    await qmp.quit();
    const exit = await qemu.exited;
    assert.equal(exit.code, 0);
    await assert.rejects(qmp.execute('query-status'), QmpClosedError);
  });
});
