// Finding hot-plugged PCI devices in the guest.
//
// The runtime names a PCI device by its PCI path (slots from the root bus,
// "02/01"), optionally behind a NUMA root complex ("20/00/02"); see
// src/oci/pci/path.ts. The guest turns that into a sysfs location by
// reading the bus numbers behind each bridge (pciPathToSysfs), and waits
// for the kernel's uevent for that location. Asking the kernel to rescan
// the PCI bus first makes it look for devices the host just plugged in.
import { join } from 'node:path';
import {
  parseDeviceTreePciPath,
  parsePciAddress,
  pciPathToSysfs,
  pciRootBusPath,
  PciParseError,
  type PciAddress,
  type RootedPciPath,
} from '../../oci/pci/index.js';
import { PciMatcher } from '../uevent/matchers.js';
import { writeSysfsAttribute } from '../uevent/sysfs-attribute.js';
import { DeviceSetupError, InvalidDeviceError, errText } from './errors.js';
import type { DeviceContext } from './handler.js';

/** Asks the kernel to rescan every PCI bus: writes "1" to <sysfs>/bus/pci/rescan. */
export async function rescanPciBus(sysfsRoot: string): Promise<void> {
  const path = join(sysfsRoot, 'bus/pci/rescan');
  try {
    await writeSysfsAttribute(path, '1');
  } catch (err) {
    throw new DeviceSetupError(`cannot rescan the PCI bus (${path}): ${errText(err)}`, { cause: err });
  }
}

/** Parses a guest PCI path as the runtime sends it; errors name `field`. */
export function parseGuestPciPath(text: string, field: string): RootedPciPath {
  try {
    return parseDeviceTreePciPath(text);
  } catch (err) {
    if (err instanceof PciParseError) throw new InvalidDeviceError(field, err.message, { cause: err });
    throw err;
  }
}

/** Where a PCI device sits in sysfs: its root bus and the path below it. */
export interface PciSysfsLocation {
  /** e.g. "/devices/pci0000:00" (no "/sys"). */
  readonly rootBusPath: string;
  /** e.g. "/0000:00:02.0/0000:01:01.0". */
  readonly relpath: string;
}

/**
 * Resolves a PCI path to its sysfs location (the bridges on the way must
 * exist already). `what` names the device in errors.
 */
export async function locatePciDevice(
  rooted: RootedPciPath,
  ctx: DeviceContext,
  what: string,
): Promise<PciSysfsLocation> {
  const rootBusPath = pciRootBusPath(rooted.rootComplex);
  try {
    const relpath = await pciPathToSysfs(join(ctx.sysfsRoot, rootBusPath), rooted.path);
    return { rootBusPath, relpath };
  } catch (err) {
    throw new DeviceSetupError(`cannot find ${what} in sysfs: ${errText(err)}`, { cause: err });
  }
}

/**
 * Waits for the PCI function at `location` to appear and returns its guest
 * address (the last component of its sysfs path).
 */
export async function waitForPciDevice(
  location: PciSysfsLocation,
  ctx: DeviceContext,
  what: string,
): Promise<PciAddress> {
  const matcher = new PciMatcher(location.relpath, location.rootBusPath);
  const ev = await ctx.uevents.waitFor(matcher, ctx.hotplugTimeoutMs, `${what} (${matcher.devpath})`);
  const last = ev.devpath.slice(ev.devpath.lastIndexOf('/') + 1);
  try {
    return parsePciAddress(last);
  } catch (err) {
    throw new DeviceSetupError(`${what}: uevent path ${ev.devpath} does not end in a PCI address`, { cause: err });
  }
}
