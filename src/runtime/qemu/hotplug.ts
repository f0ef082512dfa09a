// Hot-plugging disks into the running VM through QMP: each disk goes into a
// free PCIe root port as a virtio-blk-pci device, backed by a raw image file
// or a host block device.
//
//   blockdev-add {node-name, driver: raw, file: {driver: file|host_device, filename}}
//   device_add   {driver: virtio-blk-pci, id, drive: node-name, bus: rpN}
//
// and back again with device_del (waiting for DEVICE_DELETED: with ACPI
// hot-plug the guest must release the device first) and blockdev-del.
//
// plug() returns once the guest's driver has taken the disk (its BARs are
// enabled, which QEMU shows in query-pci), so disks plugged one after the
// other get their guest names (vda, vdb, ...) in that order. The agent does
// not need this (it finds a disk by PCI path), but people reading the guest
// do. A guest that does not take the disk within the time allowed is not an
// error here: the agent's own wait will report it.
import { setTimeout as sleep } from 'node:timers/promises';
import { pciPathOnRootPort, rootPortId } from './pci-layout.js';
import type { QmpClient } from './qmp.js';
import type { PciDeviceInfo } from './qmp-types.js';

export interface DiskSource {
  /** A regular file holding a raw image, or a host block device node. */
  path: string;
  kind: 'file' | 'host_device';
  readOnly?: boolean;
}

export interface PluggedDisk {
  /** QEMU device id. */
  deviceId: string;
  /** Block node name. */
  nodeName: string;
  rootPort: number;
  /** The PCI path the agent resolves ("SS/00"). */
  pciPath: string;
}

export class HotplugError extends Error {
  override name = 'HotplugError';
}

export class DiskHotplugger {
  private readonly used = new Set<number>();
  private counter = 0;

  constructor(
    private readonly qmp: QmpClient,
    private readonly rootPorts: number,
    private readonly timeoutMs = 10_000,
    /** How long plug() waits for the guest's driver to take the disk (0: not at all). */
    private readonly guestProbeTimeoutMs = 3000,
  ) {}

  /** Free root ports left. */
  get freePorts(): number {
    return this.rootPorts - this.used.size;
  }

  async plug(source: DiskSource): Promise<PluggedDisk> {
    const port = this.allocatePort(source.path);
    const n = this.counter++;
    const disk: PluggedDisk = { deviceId: `blk${n}`, nodeName: `drive-blk${n}`, rootPort: port, pciPath: pciPathOnRootPort(port) };
    const readOnly = source.readOnly ?? false;
    try {
      await this.qmp.execute(
        'blockdev-add',
        {
          'node-name': disk.nodeName,
          driver: 'raw',
          'read-only': readOnly,
          file: { driver: source.kind, filename: source.path, 'read-only': readOnly },
        },
        { timeoutMs: this.timeoutMs },
      );
    } catch (err) {
      this.used.delete(port);
      throw new HotplugError(`cannot attach ${source.path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      await this.qmp.execute(
        'device_add',
        { driver: 'virtio-blk-pci', id: disk.deviceId, drive: disk.nodeName, bus: rootPortId(port), addr: '0' },
        { timeoutMs: this.timeoutMs },
      );
    } catch (err) {
      await this.qmp.execute('blockdev-del', { 'node-name': disk.nodeName }).catch(() => {});
      this.used.delete(port);
      throw new HotplugError(`cannot plug ${source.path} into root port ${rootPortId(port)}: ${(err as Error).message}`, { cause: err });
    }
    if (this.guestProbeTimeoutMs > 0) await this.waitForGuestDriver(disk);
    return disk;
  }

  /** Whether the guest has enabled the disk's memory BARs (its driver probed it). Resolves false on timeout. */
  async waitForGuestDriver(disk: PluggedDisk, timeoutMs = this.guestProbeTimeoutMs): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const buses = await this.qmp.execute('query-pci', undefined, { timeoutMs: this.timeoutMs });
      const port = buses.flatMap((b) => b.devices).find((d) => d.qdev_id === rootPortId(disk.rootPort));
      const device = port?.pci_bridge?.devices?.find((d) => d.qdev_id === disk.deviceId);
      if (device && barsEnabled(device)) return true;
      if (Date.now() >= deadline) return false;
      await sleep(20);
    }
  }

  /** Unplugs a disk and frees its root port. */
  async unplug(disk: PluggedDisk): Promise<void> {
    await this.qmp.deviceDel(disk.deviceId, this.timeoutMs);
    await this.qmp.execute('blockdev-del', { 'node-name': disk.nodeName }, { timeoutMs: this.timeoutMs });
    this.used.delete(disk.rootPort);
  }

  private allocatePort(path: string): number {
    for (let i = 0; i < this.rootPorts; i++) {
      if (!this.used.has(i)) {
        this.used.add(i);
        return i;
      }
    }
    throw new HotplugError(`cannot attach ${path}: all ${this.rootPorts} PCIe root ports are in use (hypervisor.qemu.pcie_root_port)`);
  }
}

/** QEMU shows a BAR's address as -1 until the guest enables memory decoding. */
function barsEnabled(device: PciDeviceInfo): boolean {
  return (device.regions ?? []).some((r) => r.type === 'memory' && r.address !== -1);
}
