// Resolving a PCI path to the device's directory under sysfs.
//
// The runtime knows slots, the guest kernel picks bus numbers. Walking the
// path from the root bus, each bridge's bus number is found in sysfs:
//
//   <root>/0000:00:02.0/pci_bus/0000:01        bridge in slot 2 -> bus 01
//   <root>/0000:00:02.0/0000:01:03.0           so "02/03" is this directory
//
// `rootBusSysfs` is the host bridge's directory, normally
// "/sys/devices/pci0000:00"; tests point it at a temporary tree.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { formatSlotFn, pciBusOf, tryParsePciAddress, type PciAddress } from './address.js';
import { PciSysfsError } from './errors.js';
import type { PciPath } from './path.js';

/** The bus every root complex starts with, in sysfs naming. */
const ROOT_BUS = '0000:00';
const BUS_NAME_RE = /^[0-9a-f]{4}:[0-9a-f]{2}$/i;

/**
 * The single bus shared by all the given addresses ("DDDD:BB"). Errors when
 * the list is empty or the addresses sit on more than one bus.
 */
export function uniqueBusOf(addresses: readonly PciAddress[]): string {
  const buses = [...new Set(addresses.map(pciBusOf))].sort();
  if (buses.length === 0) {
    throw new PciSysfsError('no downstream PCI devices found');
  }
  if (buses.length > 1) {
    throw new PciSysfsError(`downstream PCI devices sit on more than one bus: ${buses.join(', ')}`);
  }
  return buses[0]!;
}

/**
 * Reads a bridge's `pci_bus` directory, which must hold exactly one entry:
 * the name of the bus behind the bridge ("DDDD:BB").
 */
export async function readSingleBusFromPciBusDir(pciBusDir: string): Promise<string> {
  let names: string[];
  try {
    names = await readdir(pciBusDir);
  } catch (err) {
    throw new PciSysfsError(`cannot read ${pciBusDir}: ${errText(err)}`, { cause: err });
  }
  if (names.length !== 1) {
    throw new PciSysfsError(`expected exactly one PCI bus in ${pciBusDir}, found ${names.length}`);
  }
  const bus = names[0]!;
  if (!BUS_NAME_RE.test(bus)) {
    throw new PciSysfsError(`entry ${JSON.stringify(bus)} in ${pciBusDir} is not a PCI bus name (DDDD:BB)`);
  }
  return bus.toLowerCase();
}

/**
 * Fallback when a bridge has no `pci_bus` directory: look at the device
 * directories below it (named by BDF) and take their common bus. Other
 * entries are ignored; no devices, or devices on several buses, is an error.
 */
export async function inferBusFromChildDevices(bridgeDir: string): Promise<string> {
  let entries;
  try {
    entries = await readdir(bridgeDir, { withFileTypes: true });
  } catch (err) {
    throw new PciSysfsError(`cannot read ${bridgeDir}: ${errText(err)}`, { cause: err });
  }
  const children: PciAddress[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const addr = tryParsePciAddress(e.name);
    if (addr) children.push(addr);
  }
  try {
    return uniqueBusOf(children);
  } catch (err) {
    throw new PciSysfsError(`cannot infer the bus behind ${bridgeDir} from its child devices: ${errText(err)}`, {
      cause: err,
    });
  }
}

/** The bus behind the bridge at `bridgeDir`: pci_bus/ first, else the child scan. */
export async function busBehindBridge(bridgeDir: string): Promise<string> {
  const pciBusDir = join(bridgeDir, 'pci_bus');
  if (await isDirectory(pciBusDir)) {
    return readSingleBusFromPciBusDir(pciBusDir);
  }
  return inferBusFromChildDevices(bridgeDir);
}

/**
 * The device directory for `path`, relative to `rootBusSysfs`, e.g.
 * "/0000:00:02.0/0000:01:03.0". Only the bridges (all elements but the last)
 * need to exist: the last device may not have appeared yet.
 */
export async function pciPathToSysfs(rootBusSysfs: string, path: PciPath): Promise<string> {
  if (path.length === 0) {
    throw new PciSysfsError('empty PCI path');
  }
  let bus = ROOT_BUS;
  let relpath = '';
  for (let i = 0; i < path.length; i++) {
    const bdf = `${bus}:${formatSlotFn(path[i]!)}`;
    relpath += `/${bdf}`;
    if (i === path.length - 1) break;
    try {
      bus = await busBehindBridge(rootBusSysfs + relpath);
    } catch (err) {
      throw new PciSysfsError(
        `cannot resolve PCI path element ${i + 1} (bridge ${bdf}) under ${rootBusSysfs}: ${errText(err)}`,
        { cause: err },
      );
    }
  }
  return relpath;
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
