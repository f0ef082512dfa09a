// Uevent matchers, with the cases of upstream's block, scsi, nvdimm, vfio
// and network device handler tests.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_PCI_ROOT_BUS_PATH,
  NetPciMatcher,
  PciMatcher,
  PmemBlockMatcher,
  ScsiBlockMatcher,
  VfioMatcher,
  VirtioBlkMmioMatcher,
  VirtioBlkPciMatcher,
} from '../../../src/agent/uevent/matchers.js';
import { makeUevent, type Uevent } from '../../../src/agent/uevent/uevent.js';

const ROOT = DEFAULT_PCI_ROOT_BUS_PATH;

function ev(fields: Partial<Record<'ACTION' | 'DEVPATH' | 'SUBSYSTEM' | 'DEVNAME' | 'INTERFACE', string>>): Uevent {
  return makeUevent({ ACTION: 'add', ...fields });
}

/** A copy of `base` with some fields replaced. */
function withFields(base: Uevent, fields: Record<string, string>): Uevent {
  return makeUevent({ ...base.env, ...fields });
}

describe('VirtioBlkPciMatcher', () => {
  const relA = '/0000:00:0a.0';
  const relB = '/0000:00:0a.0/0000:00:0b.0';
  const evA = ev({ SUBSYSTEM: 'block', DEVNAME: 'vda', DEVPATH: `${ROOT}${relA}/virtio4/block/vda` });
  const evB = ev({ SUBSYSTEM: 'block', DEVNAME: 'vda', DEVPATH: `${ROOT}${relB}/virtio0/block/vda` });

  test('a matcher accepts its own PCI function only (A vs A/B)', () => {
    const a = new VirtioBlkPciMatcher(relA);
    const b = new VirtioBlkPciMatcher(relB);
    assert.ok(a.matches(evA));
    assert.ok(b.matches(evB));
    assert.ok(!b.matches(evA));
    assert.ok(!a.matches(evB));
  });

  test('partitions are not the disk (vda1, vda91)', () => {
    const a = new VirtioBlkPciMatcher(relA);
    for (const part of ['vda1', 'vda91']) {
      assert.ok(!a.matches(withFields(evA, { DEVNAME: part, DEVPATH: `${ROOT}${relA}/virtio4/block/vda/${part}` })), part);
    }
  });

  test('wrong subsystem, empty devname and a missing virtioN component are rejected', () => {
    const a = new VirtioBlkPciMatcher(relA);
    assert.ok(!a.matches(withFields(evA, { SUBSYSTEM: 'net' })));
    assert.ok(!a.matches(withFields(evA, { DEVNAME: '' })));
    assert.ok(!a.matches(withFields(evA, { DEVPATH: `${ROOT}${relA}/block/vda` })));
    assert.ok(!a.matches(withFields(evA, { DEVPATH: `${ROOT}${relA}/virtio/block/vda` })));
  });

  test('any virtio index is accepted (virtio0, virtio4, virtio99)', () => {
    const a = new VirtioBlkPciMatcher(relA);
    for (const n of [0, 4, 99]) {
      assert.ok(a.matches(withFields(evA, { DEVPATH: `${ROOT}${relA}/virtio${n}/block/vda` })), `virtio${n}`);
    }
  });

  test('the root bus is part of the match (NUMA root complex 20)', () => {
    const onRc20 = new VirtioBlkPciMatcher('/0000:00:00.0/0000:01:02.0', '/devices/pci0000:20');
    const on20 = ev({ SUBSYSTEM: 'block', DEVNAME: 'vdc', DEVPATH: '/devices/pci0000:20/0000:00:00.0/0000:01:02.0/virtio1/block/vdc' });
    assert.ok(onRc20.matches(on20));
    assert.ok(!onRc20.matches(withFields(on20, { DEVPATH: on20.devpath.replace('pci0000:20', 'pci0000:00') })));
    // A devpath with regex metacharacters in the relpath is matched literally.
    assert.ok(!new VirtioBlkPciMatcher('/0000:00:0a.0').matches(withFields(evA, { DEVPATH: `${ROOT}/0000:00:0aX0/virtio4/block/vda` })));
  });
});

describe('VirtioBlkMmioMatcher', () => {
  const evA = ev({ SUBSYSTEM: 'block', DEVNAME: 'vda', DEVPATH: '/devices/virtio-mmio-cmdline/virtio-mmio.0/virtio0/block/vda' });
  const evB = ev({ SUBSYSTEM: 'block', DEVNAME: 'vdb', DEVPATH: '/devices/virtio-mmio-cmdline/virtio-mmio.4/virtio4/block/vdb' });

  test('vda and vdb match only themselves', () => {
    const a = new VirtioBlkMmioMatcher('vda');
    const b = new VirtioBlkMmioMatcher('vdb');
    assert.ok(a.matches(evA));
    assert.ok(b.matches(evB));
    assert.ok(!b.matches(evA));
    assert.ok(!a.matches(evB));
  });

  test('wrong subsystem, empty devname and a wrong suffix are rejected', () => {
    const a = new VirtioBlkMmioMatcher('vda');
    assert.ok(!a.matches(withFields(evA, { SUBSYSTEM: 'net' })));
    assert.ok(!a.matches(withFields(evA, { DEVNAME: '' })));
    assert.ok(!a.matches(withFields(evA, { DEVPATH: '/devices/virtio-mmio-cmdline/virtio-mmio.0/virtio0/block/vdc' })));
  });
});

describe('ScsiBlockMatcher', () => {
  const scsiEvent = (addr: string, devname: string) =>
    ev({
      SUBSYSTEM: 'block',
      DEVNAME: devname,
      DEVPATH: `/devices/pci0000:00/0000:00:05.0/virtio0/host0/target0:0:${addr.split(':')[0]}/0:0:${addr}/block/${devname}`,
    });

  test('addresses 0:0 and 2:0 match only their own disks', () => {
    const m0 = new ScsiBlockMatcher('0:0');
    const m2 = new ScsiBlockMatcher('2:0');
    const e0 = scsiEvent('0:0', 'sda');
    const e2 = scsiEvent('2:0', 'sdb');
    assert.ok(m0.matches(e0));
    assert.ok(m2.matches(e2));
    assert.ok(!m0.matches(e2));
    assert.ok(!m2.matches(e0));
  });

  test('wrong subsystem, empty devname, another LUN and a remove are rejected', () => {
    const m0 = new ScsiBlockMatcher('0:0');
    const e0 = scsiEvent('0:0', 'sda');
    assert.ok(!m0.matches(withFields(e0, { SUBSYSTEM: 'scsi' })));
    assert.ok(!m0.matches(withFields(e0, { DEVNAME: '' })));
    assert.ok(!m0.matches(scsiEvent('1:0', 'sdc')));
    assert.ok(!m0.matches(withFields(e0, { ACTION: 'remove' })));
  });

  test('"1:1" accepts 1:1/sdc and rejects 0:0', () => {
    const m = new ScsiBlockMatcher('1:1');
    assert.ok(m.matches(scsiEvent('1:1', 'sdc')));
    assert.ok(!m.matches(scsiEvent('0:0', 'sdc')));
    // 0:0:11:1 ends in "1:1" too, but not at a path component boundary.
    assert.ok(!m.matches(scsiEvent('11:1', 'sdd')));
  });

  test('a whole disk matches, its partition does not', () => {
    const m = new ScsiBlockMatcher('0:0');
    const disk = scsiEvent('0:0', 'sda');
    assert.ok(m.matches(disk));
    assert.ok(!m.matches(withFields(disk, { DEVNAME: 'sda1', DEVPATH: `${disk.devpath}/sda1` })));
  });
});

describe('PmemBlockMatcher', () => {
  const pmemEvent = (n: number) =>
    ev({
      SUBSYSTEM: 'block',
      DEVNAME: `pmem${n}`,
      DEVPATH: `/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0012:00/ndbus0/region${n}/btt${n}.0/block/pmem${n}`,
    });

  test('pmem0 and pmem1 match only themselves', () => {
    const m0 = new PmemBlockMatcher('pmem0');
    const m1 = new PmemBlockMatcher('pmem1');
    assert.ok(m0.matches(pmemEvent(0)));
    assert.ok(m1.matches(pmemEvent(1)));
    assert.ok(!m0.matches(pmemEvent(1)));
    assert.ok(!m1.matches(pmemEvent(0)));
  });

  test('wrong subsystem, empty devname, a non-ACPI path and a wrong suffix are rejected', () => {
    const m0 = new PmemBlockMatcher('pmem0');
    const e0 = pmemEvent(0);
    assert.ok(!m0.matches(withFields(e0, { SUBSYSTEM: 'nd' })));
    assert.ok(!m0.matches(withFields(e0, { DEVNAME: '' })));
    assert.ok(!m0.matches(withFields(e0, { DEVPATH: '/devices/pci0000:00/block/pmem0' })));
    assert.ok(!m0.matches(withFields(e0, { DEVPATH: e0.devpath.replace(/pmem0$/, 'pmem2') })));
  });
});

describe('VfioMatcher', () => {
  test('group 1 and group 22 match only themselves', () => {
    const e1 = ev({ DEVPATH: '/devices/virtual/vfio/1', DEVNAME: 'vfio/1', SUBSYSTEM: 'vfio' });
    const e22 = ev({ DEVPATH: '/devices/virtual/vfio/22', DEVNAME: 'vfio/22', SUBSYSTEM: 'vfio' });
    assert.ok(new VfioMatcher(1).matches(e1));
    assert.ok(new VfioMatcher(22).matches(e22));
    assert.ok(!new VfioMatcher(1).matches(e22));
    assert.ok(!new VfioMatcher(22).matches(e1));
  });

  test('other paths below /devices/virtual/vfio are rejected', () => {
    const m = new VfioMatcher(1);
    assert.ok(!m.matches(ev({ DEVPATH: '/devices/virtual/vfio/wrong' })));
    assert.ok(!m.matches(ev({ DEVPATH: '/devices/virtual/vfio/1extra' })));
  });
});

describe('PciMatcher', () => {
  const rel = '/0000:00:06.0/0000:01:00.0';
  test('only the exact devpath matches', () => {
    const m = new PciMatcher(rel);
    assert.ok(m.matches(ev({ DEVPATH: `${ROOT}${rel}`, SUBSYSTEM: 'pci' })));
    assert.ok(!m.matches(ev({ DEVPATH: `/devices/pci0000:01${rel}`, SUBSYSTEM: 'pci' })), 'another root complex');
    assert.ok(!m.matches(ev({ DEVPATH: `${ROOT}/0000:00:06`, SUBSYSTEM: 'pci' })), 'partial path');
    assert.ok(!m.matches(ev({ DEVPATH: `${ROOT}${rel}/virtio1`, SUBSYSTEM: 'virtio' })), 'a child device');
  });
});

describe('NetPciMatcher', () => {
  const relA = '/0000:00:02.0/0000:01:01.0';
  const relB = '/0000:00:02.0/0000:01:02.0';
  const evA = ev({ SUBSYSTEM: 'net', INTERFACE: 'eth0', DEVPATH: `${ROOT}${relA}` });

  test('functions A and B match only themselves; a devpath with /net/eth0 appended matches', () => {
    const a = new NetPciMatcher(relA);
    const b = new NetPciMatcher(relB);
    const evB = withFields(evA, { DEVPATH: `${ROOT}${relB}` });
    assert.ok(a.matches(evA));
    assert.ok(b.matches(evB));
    assert.ok(!a.matches(evB));
    assert.ok(!b.matches(evA));

    const relC = '/0000:00:02.0/0000:01:03.0';
    const evC = withFields(evA, { DEVPATH: `${ROOT}${relC}/net/eth0` });
    assert.ok(new NetPciMatcher(relC).matches(evC));
    assert.ok(!a.matches(evC));
    assert.ok(!b.matches(evC));
  });

  test('subsystem block, action remove, empty INTERFACE and another function are rejected', () => {
    const a = new NetPciMatcher(relA);
    assert.ok(!a.matches(withFields(evA, { SUBSYSTEM: 'block' })));
    assert.ok(!a.matches(withFields(evA, { ACTION: 'remove' })));
    assert.ok(!a.matches(withFields(evA, { INTERFACE: '' })));
    assert.ok(!a.matches(withFields(evA, { DEVPATH: `${ROOT}/0000:00:03.0` })));
  });
});
