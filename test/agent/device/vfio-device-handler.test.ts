// VFIO handlers: option parsing, driver override and IOMMU groups on a fake
// /sys/bus/pci tree (upstream split_vfio_pci_option, pci_driver_override
// and pci_iommu_group tests), and the whole vfio-pci / vfio-pci-gk flow
// with injected uevents and real char device nodes.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeviceSetupError, InvalidDeviceError } from '../../../src/agent/device/errors.js';
import type { DeviceRequest } from '../../../src/agent/device/handler.js';
import {
  parseVfioPciOptions,
  pciDriverOverride,
  pciIommuGroup,
  splitVfioPciOption,
  vfioPciHandler,
} from '../../../src/agent/device/vfio-device-handler.js';
import { parsePciAddress } from '../../../src/oci/pci/index.js';
import { UeventTimeoutError } from '../../../src/agent/uevent/errors.js';
import { makeFakeSystem, uevent, untilWaiting, type FakeSystem } from './fake-system.js';

let sys: FakeSystem;
beforeEach(async () => {
  sys = await makeFakeSystem();
});
afterEach(async () => {
  await sys.cleanup();
});

describe('VFIO options', () => {
  test('split on exactly one "="', () => {
    assert.deepEqual(splitVfioPciOption('0000:01:00.0=02/01'), ['0000:01:00.0', '02/01']);
    assert.equal(splitVfioPciOption('0000:01:00.0=02/01=rubbish'), undefined);
    assert.equal(splitVfioPciOption('0000:01:00.0 02/01'), undefined);
  });

  test('parsed options; errors name the option', () => {
    const [opt] = parseVfioPciOptions(['0000:3B:00.1=20/00/02']);
    assert.equal(opt?.host.bus, 0x3b);
    assert.equal(opt?.host.slotFn.fn, 1);
    assert.equal(opt?.guestPath.rootComplex, '20');
    assert.throws(() => parseVfioPciOptions([]), (err) => err instanceof InvalidDeviceError && err.field === 'options');
    const cases: Array<[string[], string]> = [
      [['0000:01:00.0=02', 'nonsense'], 'options[1]'],
      [['01:00.0=02'], 'options[0]'],
      [['0000:01:00.0=zz'], 'options[0]'],
    ];
    for (const [options, field] of cases) {
      assert.throws(
        () => parseVfioPciOptions(options),
        (err) => err instanceof InvalidDeviceError && err.field === field && err.message.startsWith(`${field}: `),
        options.join(' '),
      );
    }
  });
});

describe('pciDriverOverride (fake /sys/bus/pci)', () => {
  const bdf = '0000:00:01.0';
  const dev = parsePciAddress(bdf);

  async function tree() {
    const override = await sys.sysFile(`bus/pci/devices/${bdf}/driver_override`);
    const probe = await sys.sysFile('bus/pci/drivers_probe');
    const unbindA = await sys.sysFile('bus/pci/drivers/drv_a/unbind');
    const unbindB = await sys.sysFile('bus/pci/drivers/drv_b/unbind');
    return { syspci: join(sys.sysfs, 'bus/pci'), override, probe, unbindA, unbindB };
  }
  const read = (p: string) => readFile(p, 'utf8');

  test('an unbound device gets the override and a probe', async () => {
    const t = await tree();
    await pciDriverOverride(t.syspci, dev, 'drv_a');
    assert.equal(await read(t.override), 'drv_a');
    assert.equal(await read(t.probe), bdf);
    assert.equal(await read(t.unbindA), '');
  });

  test('a device already bound to the driver is not probed again', async () => {
    const t = await tree();
    await sys.sysLink(`bus/pci/devices/${bdf}/driver`, '../../drivers/drv_a');
    await pciDriverOverride(t.syspci, dev, 'drv_a');
    assert.equal(await read(t.override), 'drv_a');
    assert.equal(await read(t.probe), '');
    assert.equal(await read(t.unbindA), '');
  });

  test('switching drivers unbinds from the old one, then probes', async () => {
    const t = await tree();
    await sys.sysLink(`bus/pci/devices/${bdf}/driver`, '../../drivers/drv_a');
    await pciDriverOverride(t.syspci, dev, 'drv_b');
    assert.equal(await read(t.override), 'drv_b');
    assert.equal(await read(t.unbindA), bdf);
    assert.equal(await read(t.unbindB), '');
    assert.equal(await read(t.probe), bdf);
  });

  test('a device missing from sysfs is a setup error naming it', async () => {
    const t = await tree();
    await assert.rejects(
      pciDriverOverride(t.syspci, parsePciAddress('0000:00:09.0'), 'drv_a'),
      (err) => err instanceof DeviceSetupError && /0000:00:09\.0/.test(err.message),
    );
  });
});

describe('pciIommuGroup', () => {
  const bdf = '0000:00:01.0';
  const dev = parsePciAddress(bdf);
  const syspci = () => join(sys.sysfs, 'bus/pci');

  test('no link: no group; a link to .../iommu_groups/12: group 12', async () => {
    await sys.sysDir(`bus/pci/devices/${bdf}`);
    assert.equal(await pciIommuGroup(syspci(), dev), undefined);
    await sys.sysLink(`bus/pci/devices/${bdf}/iommu_group`, '../../../kernel/iommu_groups/12');
    assert.equal(await pciIommuGroup(syspci(), dev), 12);
  });

  test('a directory instead of a link, or a link to a non-number, is an error', async () => {
    await sys.sysDir(`bus/pci/devices/${bdf}/iommu_group`);
    await assert.rejects(pciIommuGroup(syspci(), dev), DeviceSetupError);
    await sys.sysLink('bus/pci/devices/0000:00:02.0/iommu_group', '../../../kernel/iommu_groups/abc');
    await assert.rejects(pciIommuGroup(syspci(), parsePciAddress('0000:00:02.0')), /unexpected IOMMU group link/);
  });
});

describe('vfio-pci and vfio-pci-gk handlers', () => {
  const guestBdf = '0000:01:01.0';
  const devpath = `/devices/pci0000:00/0000:00:02.0/${guestBdf}`;

  /**
   * A guest with a bridge in slot 2 (bus 01) and passed-through functions
   * behind it, each bound to virtio-pci and in the given IOMMU group.
   */
  async function guest(functions: Array<{ bdf: string; group: number }> = [{ bdf: guestBdf, group: 5 }]) {
    await sys.sysDir('devices/pci0000:00/0000:00:02.0/pci_bus/0000:01');
    const rescan = await sys.sysFile('bus/pci/rescan');
    const probe = await sys.sysFile('bus/pci/drivers_probe');
    const unbind = await sys.sysFile('bus/pci/drivers/virtio-pci/unbind');
    const overrides: string[] = [];
    for (const { bdf, group } of functions) {
      overrides.push(await sys.sysFile(`bus/pci/devices/${bdf}/driver_override`));
      await sys.sysLink(`bus/pci/devices/${bdf}/driver`, '../../drivers/virtio-pci');
      await sys.sysLink(`bus/pci/devices/${bdf}/iommu_group`, `../../../../kernel/iommu_groups/${group}`);
    }
    return { rescan, probe, unbind, override: overrides[0]! };
  }

  function device(type: string, options: string[]): DeviceRequest {
    return { id: '15', type, vmPath: '', containerPath: '/dev/vfio/15', options };
  }

  test('vfio-pci: rebinds to vfio-pci, renames to the guest group, records host -> guest', async () => {
    const t = await guest();
    await sys.monitor.inject(uevent({ DEVPATH: devpath, SUBSYSTEM: 'pci' }));
    const pending = vfioPciHandler.handle(device('vfio-pci', ['0000:3b:00.0=02/01']), sys.ctx());
    // /dev/vfio/5 appears once the function is bound to vfio-pci.
    await untilWaiting(sys.monitor, pending);
    await sys.node('vfio/5', 'c', 243, 5);
    await sys.monitor.inject(uevent({ DEVPATH: '/devices/virtual/vfio/5', SUBSYSTEM: 'vfio', DEVNAME: 'vfio/5' }));

    assert.deepEqual(await pending, {
      dev: { containerPath: '/dev/vfio/15', type: 'c', major: 243, minor: 5, finalPath: '/dev/vfio/5' },
      pci: [['0000:3b:00.0', guestBdf]],
    });
    assert.equal(await readFile(t.rescan, 'utf8'), '1');
    assert.equal(await readFile(t.override, 'utf8'), 'vfio-pci');
    assert.equal(await readFile(t.unbind, 'utf8'), guestBdf);
    assert.equal(await readFile(t.probe, 'utf8'), guestBdf);
  });

  test('vfio-pci: an existing group node is used; the function may appear after the request', async () => {
    await guest([{ bdf: guestBdf, group: 7 }]);
    await sys.node('vfio/7', 'c', 243, 7);
    const pending = vfioPciHandler.handle(device('vfio-pci', ['0000:3b:00.0=02/01']), sys.ctx());
    await untilWaiting(sys.monitor, pending);
    await sys.monitor.inject(uevent({ DEVPATH: devpath, SUBSYSTEM: 'pci' }));
    const update = await pending;
    assert.equal(update.dev?.finalPath, '/dev/vfio/7');
    assert.equal(update.dev?.minor, 7);
  });

  test('vfio-pci-gk: the guest driver stays, only the PCI map is recorded', async () => {
    const t = await guest();
    await sys.monitor.inject(uevent({ DEVPATH: devpath, SUBSYSTEM: 'pci' }));
    const update = await vfioPciHandler.handle(device('vfio-pci-gk', ['0000:3b:00.0=02/01']), sys.ctx());
    assert.deepEqual(update, { pci: [['0000:3b:00.0', guestBdf]] });
    assert.equal(await readFile(t.override, 'utf8'), '');
    assert.equal(await readFile(t.probe, 'utf8'), '');
  });

  test('functions in different guest IOMMU groups are refused', async () => {
    await guest([
      { bdf: '0000:01:01.0', group: 5 },
      { bdf: '0000:01:02.0', group: 6 },
    ]);
    await sys.monitor.inject(uevent({ DEVPATH: devpath, SUBSYSTEM: 'pci' }));
    await sys.monitor.inject(uevent({ DEVPATH: '/devices/pci0000:00/0000:00:02.0/0000:01:02.0', SUBSYSTEM: 'pci' }));
    await assert.rejects(
      vfioPciHandler.handle(device('vfio-pci', ['0000:3b:00.0=02/01', '0000:3b:00.1=02/02']), sys.ctx()),
      (err) => err instanceof DeviceSetupError && /IOMMU group 6, not in group 5/.test(err.message),
    );
  });

  test('a function without an IOMMU group is refused', async () => {
    await sys.sysDir('devices/pci0000:00/0000:00:02.0/pci_bus/0000:01');
    await sys.sysFile('bus/pci/rescan');
    await sys.sysFile('bus/pci/drivers_probe');
    await sys.sysFile(`bus/pci/devices/${guestBdf}/driver_override`);
    await sys.monitor.inject(uevent({ DEVPATH: devpath, SUBSYSTEM: 'pci' }));
    await assert.rejects(
      vfioPciHandler.handle(device('vfio-pci', ['0000:3b:00.0=02/01']), sys.ctx()),
      (err) => err instanceof DeviceSetupError && /has no IOMMU group/.test(err.message),
    );
  });

  test('a function that never appears times out naming it', async () => {
    await guest();
    await assert.rejects(
      vfioPciHandler.handle(device('vfio-pci', ['0000:3b:00.0=02/01']), sys.ctx(30)),
      (err) =>
        err instanceof UeventTimeoutError &&
        err.message.includes('VFIO PCI device 02/01 (host 0000:3b:00.0)') &&
        err.message.includes(devpath),
    );
  });

  test('bad options are InvalidDeviceErrors', async () => {
    await assert.rejects(vfioPciHandler.handle(device('vfio-pci', ['garbage']), sys.ctx()), InvalidDeviceError);
    assert.throws(() => vfioPciHandler.validate!(device('vfio-pci-gk', [])), InvalidDeviceError);
    // Options are checked before sysfs is touched: this tree has no rescan file.
    await assert.rejects(vfioPciHandler.handle(device('vfio-pci', ['0000:3b:00.0=02/01=x']), sys.ctx()), InvalidDeviceError);
  });
});
