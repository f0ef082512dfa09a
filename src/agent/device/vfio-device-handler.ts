// PCI passthrough (VFIO): "vfio-pci" and "vfio-pci-gk".
//
// The host gives the VM a physical PCI function. options lists one
// "<host BDF>=<guest PCI path>" per function of the device, e.g.
// "0000:3b:00.0=02/01" (the runtime sets id to the host IOMMU group; we do
// not need it).
//
// vfio-pci     The container drives the device itself through VFIO, so in
//              the guest too the functions are bound to the vfio-pci driver
//              (driver_override + rebind). They must share one guest IOMMU
//              group; the container's /dev/vfio/<host group> entry becomes
//              /dev/vfio/<guest group> with the guest's char device numbers.
// vfio-pci-gk  The guest kernel's own driver keeps the device (e.g. a NIC
//              or GPU the container uses through its normal driver); the
//              spec's devices stay as they are.
//
// Both record host -> guest PCI addresses, so PCIDEVICE_* variables from
// device plugins can be translated (src/oci/pci/pcidevice-env.ts).
import { readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  formatPciAddress,
  parsePciAddress,
  PciParseError,
  type PciAddress,
  type RootedPciPath,
} from '../../oci/pci/index.js';
import { silentLogger, type Logger } from '../../common/logger.js';
import { VfioMatcher } from '../uevent/matchers.js';
import { writeSysfsAttribute } from '../uevent/sysfs-attribute.js';
import { deviceUpdateFromNode, guestPathOf, nodeExists, nodePathOf } from './device-node.js';
import { DeviceSetupError, InvalidDeviceError, errText } from './errors.js';
import type { DeviceContext, DeviceHandler, DeviceRequest, SpecUpdate } from './handler.js';
import { locatePciDevice, parseGuestPciPath, rescanPciBus, waitForPciDevice } from './pci-device.js';

export const DRIVER_VFIO_PCI_TYPE = 'vfio-pci';
export const DRIVER_VFIO_PCI_GK_TYPE = 'vfio-pci-gk';
/** The kernel driver that exposes PCI functions to user space. */
export const VFIO_PCI_DRIVER = 'vfio-pci';

/** Splits "<host BDF>=<guest PCI path>"; undefined unless there is exactly one '='. */
export function splitVfioPciOption(option: string): [host: string, guestPath: string] | undefined {
  const parts = option.split('=');
  if (parts.length !== 2) return undefined;
  return [parts[0]!, parts[1]!];
}

export interface VfioPciOption {
  readonly host: PciAddress;
  readonly guestPath: RootedPciPath;
  /** The guest PCI path as sent, for messages. */
  readonly guestPathText: string;
}

/** Parses every option; errors name "options" or "options[i]". */
export function parseVfioPciOptions(options: readonly string[]): VfioPciOption[] {
  if (options.length === 0) {
    throw new InvalidDeviceError('options', 'a VFIO device needs at least one "<host BDF>=<guest PCI path>" option');
  }
  return options.map((option, i) => {
    const field = `options[${i}]`;
    const split = splitVfioPciOption(option);
    if (!split) {
      throw new InvalidDeviceError(field, `${JSON.stringify(option)} is not of the form "<host BDF>=<guest PCI path>"`);
    }
    let host: PciAddress;
    try {
      host = parsePciAddress(split[0]);
    } catch (err) {
      if (err instanceof PciParseError) throw new InvalidDeviceError(field, `host address: ${err.message}`, { cause: err });
      throw err;
    }
    return { host, guestPath: parseGuestPciPath(split[1], field), guestPathText: split[1] };
  });
}

/**
 * Makes the PCI function `dev` use driver `driver` (what `driverctl
 * set-override` does), in the PCI bus directory `sysPci`
 * (<sysfs>/bus/pci): write the driver to devices/<dev>/driver_override;
 * if the function is bound to another driver, write <dev> to that driver's
 * unbind; then ask the kernel to probe it (drivers_probe). A function
 * already bound to `driver` is left alone.
 */
export async function pciDriverOverride(
  sysPci: string,
  dev: PciAddress,
  driver: string,
  logger: Logger = silentLogger,
): Promise<void> {
  const bdf = formatPciAddress(dev);
  const devDir = join(sysPci, 'devices', bdf);
  logger.info({ device: bdf, driver }, 'binding PCI device to driver');
  await writeAttribute(join(devDir, 'driver_override'), driver, bdf);

  const driverLink = join(devDir, 'driver');
  let current: string | undefined;
  try {
    current = basename(await readlink(driverLink));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DeviceSetupError(`cannot tell which driver PCI device ${bdf} uses: ${errText(err)}`, { cause: err });
    }
    // No driver bound: nothing to unbind.
  }
  if (current === driver) return;
  if (current !== undefined) await writeAttribute(join(driverLink, 'unbind'), bdf, bdf);
  await writeAttribute(join(sysPci, 'drivers_probe'), bdf, bdf);
}

/**
 * The IOMMU group of PCI function `dev`: the number its iommu_group link
 * points to (.../kernel/iommu_groups/<n>). Undefined when it has no group.
 */
export async function pciIommuGroup(sysPci: string, dev: PciAddress): Promise<number | undefined> {
  const bdf = formatPciAddress(dev);
  const link = join(sysPci, 'devices', bdf, 'iommu_group');
  let target: string;
  try {
    target = await readlink(link);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DeviceSetupError(`cannot read the IOMMU group link of PCI device ${bdf} (${link}): ${errText(err)}`, {
      cause: err,
    });
  }
  const name = basename(target);
  if (!/^\d+$/.test(name)) {
    throw new DeviceSetupError(`unexpected IOMMU group link ${link} -> ${target}`);
  }
  return Number(name);
}

/** Where the VFIO group node /dev/vfio/<group> is found under devRoot, waiting for it if needed. */
export async function waitForVfioGroupNode(group: number, ctx: DeviceContext): Promise<string> {
  const nodePath = nodePathOf(ctx.devRoot, `vfio/${group}`);
  if (await nodeExists(nodePath)) return nodePath;
  const ev = await ctx.uevents.waitFor(new VfioMatcher(group), ctx.hotplugTimeoutMs, `VFIO group ${group} (/dev/vfio/${group})`);
  return nodePathOf(ctx.devRoot, ev.devname !== '' ? ev.devname : `vfio/${group}`);
}

async function writeAttribute(path: string, value: string, bdf: string): Promise<void> {
  try {
    await writeSysfsAttribute(path, value);
  } catch (err) {
    throw new DeviceSetupError(`cannot rebind PCI device ${bdf}: writing ${JSON.stringify(value)} to ${path}: ${errText(err)}`, {
      cause: err,
    });
  }
}

export const vfioPciHandler: DeviceHandler = {
  driverTypes: [DRIVER_VFIO_PCI_TYPE, DRIVER_VFIO_PCI_GK_TYPE],

  validate(device: DeviceRequest): void {
    parseVfioPciOptions(device.options);
  },

  async handle(device: DeviceRequest, ctx: DeviceContext): Promise<SpecUpdate> {
    const options = parseVfioPciOptions(device.options);
    const bindToVfio = device.type !== DRIVER_VFIO_PCI_GK_TYPE;
    const sysPci = join(ctx.sysfsRoot, 'bus/pci');
    const pci: Array<[string, string]> = [];
    let group: number | undefined;

    await rescanPciBus(ctx.sysfsRoot);
    for (const option of options) {
      const hostBdf = formatPciAddress(option.host);
      const what = `VFIO PCI device ${option.guestPathText} (host ${hostBdf})`;
      const location = await locatePciDevice(option.guestPath, ctx, what);
      const guest = await waitForPciDevice(location, ctx, what);
      const guestBdf = formatPciAddress(guest);

      if (bindToVfio) {
        await pciDriverOverride(sysPci, guest, VFIO_PCI_DRIVER, ctx.logger);
        // VFIO hands out devices by IOMMU group: without one it cannot be used.
        const devGroup = await pciIommuGroup(sysPci, guest);
        if (devGroup === undefined) throw new DeviceSetupError(`${what}: guest PCI device ${guestBdf} has no IOMMU group`);
        if (group !== undefined && devGroup !== group) {
          throw new DeviceSetupError(
            `${what}: guest PCI device ${guestBdf} is in IOMMU group ${devGroup}, not in group ${group} with the other functions`,
          );
        }
        group = devGroup;
      }
      pci.push([hostBdf, guestBdf]);
    }

    if (!bindToVfio || group === undefined) return { pci };
    const nodePath = await waitForVfioGroupNode(group, ctx);
    const dev = await deviceUpdateFromNode(device.containerPath, nodePath, guestPathOf(`vfio/${group}`));
    return { dev, pci };
  },
};
