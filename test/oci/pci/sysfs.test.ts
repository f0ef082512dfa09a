// Resolving PCI paths against fake sysfs trees in temporary directories.
// Cases follow upstream device/mod.rs: test_unique_bus_from_pci_addresses,
// test_read_single_bus_from_pci_bus_dir, test_infer_bus_from_child_devices,
// test_pcipath_to_sysfs and test_pcipath_to_sysfs_fallback_child_device_scan.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  busBehindBridge,
  inferBusFromChildDevices,
  makePciAddress,
  makeSlotFn,
  parsePciPath,
  pciPathToSysfs,
  PciSysfsError,
  readSingleBusFromPciBusDir,
  uniqueBusOf,
} from '../../../src/oci/pci/index.js';

let scratch: string;
let counter = 0;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'kata-ts-pci-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});
/** A fresh empty directory for one test. */
async function freshDir(): Promise<string> {
  const d = join(scratch, `t${counter++}`);
  await mkdir(d);
  return d;
}

const addr = (bus: number, slot: number, fn = 0) => makePciAddress(0, bus, makeSlotFn(slot, fn));

describe('unique bus of addresses', () => {
  test('three addresses on bus 01 give 0000:01', () => {
    assert.equal(uniqueBusOf([addr(1, 0), addr(1, 1), addr(1, 2)]), '0000:01');
  });
  test('buses 01 and 02 are an error naming both', () => {
    assert.throws(() => uniqueBusOf([addr(1, 0), addr(2, 0)]), /more than one bus: 0000:01, 0000:02/);
  });
  test('no addresses is an error', () => {
    assert.throws(() => uniqueBusOf([]), PciSysfsError);
  });
});

describe('pci_bus directory', () => {
  test('one entry is the bus; two or none are errors', async () => {
    const root = await freshDir();
    const pciBus = join(root, 'pci_bus');
    await mkdir(join(pciBus, '0000:01'), { recursive: true });
    assert.equal(await readSingleBusFromPciBusDir(pciBus), '0000:01');

    await mkdir(join(pciBus, '0000:02'));
    await assert.rejects(readSingleBusFromPciBusDir(pciBus), /exactly one PCI bus .* found 2/);

    const empty = join(root, 'empty_pci_bus');
    await mkdir(empty);
    await assert.rejects(readSingleBusFromPciBusDir(empty), /found 0/);

    await assert.rejects(readSingleBusFromPciBusDir(join(root, 'missing')), PciSysfsError);
  });

  test('an entry that is not a bus name is an error', async () => {
    const pciBus = join(await freshDir(), 'pci_bus');
    await mkdir(join(pciBus, 'garbage'), { recursive: true });
    await assert.rejects(readSingleBusFromPciBusDir(pciBus), /"garbage" .* is not a PCI bus name/);
  });
});

describe('child device scan', () => {
  test('children 0000:01:0{0,1,2}.0 give 0000:01; adding 0000:02:00.0 is an error', async () => {
    const dev = await freshDir();
    for (const c of ['0000:01:00.0', '0000:01:01.0', '0000:01:02.0']) await mkdir(join(dev, c));
    assert.equal(await inferBusFromChildDevices(dev), '0000:01');
    await mkdir(join(dev, '0000:02:00.0'));
    await assert.rejects(inferBusFromChildDevices(dev), /more than one bus/);
  });

  test('no children is an error', async () => {
    await assert.rejects(inferBusFromChildDevices(await freshDir()), /no downstream PCI devices/);
  });

  test('non-BDF directories and BDF-named files are ignored', async () => {
    const dev = await freshDir();
    await mkdir(join(dev, '0000:03:00.0'));
    await mkdir(join(dev, 'not_a_pci_device'));
    await writeFile(join(dev, '0000:04:00.0'), ''); // a file, not a device directory
    assert.equal(await inferBusFromChildDevices(dev), '0000:03');
  });

  test('pci_bus/ wins over the child scan when present', async () => {
    const dev = await freshDir();
    await mkdir(join(dev, 'pci_bus', '0000:05'), { recursive: true });
    await mkdir(join(dev, '0000:06:00.0'));
    assert.equal(await busBehindBridge(dev), '0000:05');
  });
});

describe('pciPathToSysfs', () => {
  test('resolves deeper paths as the bridges appear', async () => {
    const root = await freshDir();
    const p2 = parsePciPath('02');
    const p23 = parsePciPath('02/03');
    const p234 = parsePciPath('02/03/04');

    // Nothing exists yet: the last element need not exist, bridges must.
    assert.equal(await pciPathToSysfs(root, p2), '/0000:00:02.0');
    await assert.rejects(pciPathToSysfs(root, p23), /element 1 \(bridge 0000:00:02\.0\)/);
    await assert.rejects(pciPathToSysfs(root, p234), PciSysfsError);

    // The bridge directory alone (no pci_bus, no children) is not enough.
    const bridge2 = join(root, '0000:00:02.0');
    await mkdir(bridge2);
    assert.equal(await pciPathToSysfs(root, p2), '/0000:00:02.0');
    await assert.rejects(pciPathToSysfs(root, p23), PciSysfsError);
    await assert.rejects(pciPathToSysfs(root, p234), PciSysfsError);

    // 0000:00:02.0 is a bridge to bus 01.
    await mkdir(join(bridge2, 'pci_bus', '0000:01'), { recursive: true });
    assert.equal(await pciPathToSysfs(root, p2), '/0000:00:02.0');
    assert.equal(await pciPathToSysfs(root, p23), '/0000:00:02.0/0000:01:03.0');
    await assert.rejects(pciPathToSysfs(root, p234), /element 2 \(bridge 0000:01:03\.0\)/);

    // 0000:01:03.0 is a bridge to bus 02.
    await mkdir(join(bridge2, '0000:01:03.0', 'pci_bus', '0000:02'), { recursive: true });
    assert.equal(await pciPathToSysfs(root, p2), '/0000:00:02.0');
    assert.equal(await pciPathToSysfs(root, p23), '/0000:00:02.0/0000:01:03.0');
    assert.equal(await pciPathToSysfs(root, p234), '/0000:00:02.0/0000:01:03.0/0000:02:04.0');
  });

  test('falls back to the child device scan without pci_bus/', async () => {
    const root = await freshDir();
    await mkdir(join(root, '0000:00:02.0', '0000:01:03.0'), { recursive: true });
    assert.equal(await pciPathToSysfs(root, parsePciPath('02/03')), '/0000:00:02.0/0000:01:03.0');
  });

  test('functions appear in the path', async () => {
    const root = await freshDir();
    await mkdir(join(root, '0000:00:02.1', 'pci_bus', '0000:07'), { recursive: true });
    assert.equal(await pciPathToSysfs(root, parsePciPath('02.1/1f.7')), '/0000:00:02.1/0000:07:1f.7');
  });
});
