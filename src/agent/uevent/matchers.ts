// Matchers: "is this uevent the device I am waiting for?"
//
// Each kind of hot-plugged device is recognised by the sysfs path the
// kernel gives it (DEVPATH, without "/sys") plus a few fields. PCI devices
// are named by the sysfs path of their PCI function below a root bus,
// `relpath`, as pciPathToSysfs() computes it, e.g.
//
//   root bus  /devices/pci0000:00
//   relpath   /0000:00:02.0/0000:01:03.0        (bridge in slot 2, device in slot 3)
//
// and the device's children hang below that: a virtio-blk disk is
// <root><relpath>/virtio<N>/block/<name>, its network interface
// <root><relpath>/virtio<N>/net/<ifname>.
import { pciRootBusPath, DEFAULT_ROOT_COMPLEX } from '../../oci/pci/index.js';
import { UEVENT_ACTION_ADD, type Uevent } from './uevent.js';

export interface UeventMatcher {
  matches(ev: Uevent): boolean;
}

/** "/devices/pci0000:00": where uevent paths of the default root complex start. */
export const DEFAULT_PCI_ROOT_BUS_PATH = pciRootBusPath(DEFAULT_ROOT_COMPLEX);

const BLOCK = 'block';
const NET = 'net';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A virtio-blk PCI disk: subsystem block, a device node, and a devpath of
 * exactly <root><relpath>/virtio<N>/block/<name>. Partitions (one level
 * deeper, .../block/vda/vda1) do not match: the whole disk is wanted.
 */
export class VirtioBlkPciMatcher implements UeventMatcher {
  private readonly re: RegExp;
  constructor(relpath: string, rootBusPath: string = DEFAULT_PCI_ROOT_BUS_PATH) {
    this.re = new RegExp(`^${escapeRegExp(rootBusPath + relpath)}/virtio[0-9]+/block/[^/]+$`);
  }
  matches(ev: Uevent): boolean {
    return ev.subsystem === BLOCK && ev.devname !== '' && this.re.test(ev.devpath);
  }
}

/**
 * A block device known by its node name (virtio-mmio disks, whose name the
 * runtime predicts, e.g. "vdb"): subsystem block, node `devname`, devpath
 * ending in /block/<devname>.
 */
export class VirtioBlkMmioMatcher implements UeventMatcher {
  private readonly suffix: string;
  constructor(private readonly devname: string) {
    this.suffix = `/block/${devname}`;
  }
  matches(ev: Uevent): boolean {
    return ev.subsystem === BLOCK && ev.devname !== '' && ev.devname === this.devname && ev.devpath.endsWith(this.suffix);
  }
}

/**
 * A SCSI disk at "<scsi id>:<lun>" on channel 0 of the (single) SCSI host:
 * devpath .../0:0:<id>:<lun>/block/<name>, added, whole disk only.
 */
export class ScsiBlockMatcher implements UeventMatcher {
  private readonly tail: string;
  constructor(scsiAddr: string) {
    this.tail = `/0:0:${scsiAddr}`;
  }
  matches(ev: Uevent): boolean {
    if (ev.action !== UEVENT_ACTION_ADD || ev.subsystem !== BLOCK || ev.devname === '') return false;
    const at = ev.devpath.indexOf('/block/');
    if (at < 0) return false;
    const device = ev.devpath.slice(0, at);
    const name = ev.devpath.slice(at + '/block/'.length);
    return device.endsWith(this.tail) && name === ev.devname && !name.includes('/');
  }
}

/**
 * An NVDIMM (pmem) disk: subsystem block, node `devname`, devpath below the
 * ACPI NVDIMM root (/devices/LNXSYSTM...) ending in /block/<devname>.
 */
export class PmemBlockMatcher implements UeventMatcher {
  private readonly suffix: string;
  constructor(private readonly devname: string) {
    this.suffix = `/block/${devname}`;
  }
  matches(ev: Uevent): boolean {
    return (
      ev.subsystem === BLOCK &&
      ev.devname !== '' &&
      ev.devname === this.devname &&
      ev.devpath.startsWith('/devices/LNXSYSTM') &&
      ev.devpath.endsWith(this.suffix)
    );
  }
}

/** A PCI function itself: devpath exactly <root><relpath>. */
export class PciMatcher implements UeventMatcher {
  readonly devpath: string;
  constructor(relpath: string, rootBusPath: string = DEFAULT_PCI_ROOT_BUS_PATH) {
    this.devpath = rootBusPath + relpath;
  }
  matches(ev: Uevent): boolean {
    return ev.devpath === this.devpath;
  }
}

/** The VFIO group device of IOMMU group `group`: devpath /devices/virtual/vfio/<group>. */
export class VfioMatcher implements UeventMatcher {
  readonly devpath: string;
  constructor(group: number | string) {
    this.devpath = `/devices/virtual/vfio/${group}`;
  }
  matches(ev: Uevent): boolean {
    return ev.devpath === this.devpath;
  }
}

/**
 * The network interface of a PCI NIC: an added net device (with an
 * INTERFACE name) whose devpath lies below <root><relpath>.
 */
export class NetPciMatcher implements UeventMatcher {
  readonly devpath: string;
  constructor(relpath: string, rootBusPath: string = DEFAULT_PCI_ROOT_BUS_PATH) {
    this.devpath = rootBusPath + relpath;
  }
  matches(ev: Uevent): boolean {
    return (
      ev.action === UEVENT_ACTION_ADD &&
      ev.subsystem === NET &&
      ev.interface !== '' &&
      (ev.devpath === this.devpath || ev.devpath.startsWith(`${this.devpath}/`))
    );
  }
}
