// Finding the network interface of a hot-plugged PCI NIC.
//
// The runtime names a NIC by its guest PCI path; the guest kernel names the
// interface (eth1, ...). An interface that already exists (cold-plugged, or
// added before the agent listened for uevents) is found through the links
// in <sysfs>/class/net, which point to the interface's device directory:
//
//   class/net/eth1 -> ../../devices/pci0000:00/0000:00:02.0/0000:01:01.0/virtio3/net/eth1
//
// Otherwise we wait for the interface's "add" uevent below that function.
import { readdir, readlink } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { NetPciMatcher } from '../uevent/matchers.js';
import type { DeviceContext } from './handler.js';
import { locatePciDevice, parseGuestPciPath, type PciSysfsLocation } from './pci-device.js';

/**
 * The interface below the PCI function at `location` that already exists
 * in <sysfs>/class/net, if any.
 */
export async function findExistingPciNetInterface(
  sysfsRoot: string,
  location: PciSysfsLocation,
): Promise<string | undefined> {
  const netDir = join(sysfsRoot, 'class/net');
  let names: string[];
  try {
    names = await readdir(netDir);
  } catch {
    return undefined; // no network class at all
  }
  const below = `${location.rootBusPath}${location.relpath}/`;
  for (const name of names.sort()) {
    let target: string;
    try {
      target = await readlink(join(netDir, name));
    } catch {
      continue; // not a link (e.g. bonding_masters)
    }
    // The link's target as a devpath: "/devices/...".
    const devpath = `/${relative(sysfsRoot, resolve(netDir, target)).split(sep).join('/')}`;
    if (devpath.startsWith(below) && devpath.includes('/net/')) return name;
  }
  return undefined;
}

/**
 * The name of the network interface of the PCI NIC at `pciPath` (as the
 * runtime sends it), waiting for it to appear if needed.
 */
export async function waitForPciNetInterface(pciPath: string, ctx: DeviceContext, field = 'pci_path'): Promise<string> {
  const rooted = parseGuestPciPath(pciPath, field);
  const what = `network device at PCI path ${pciPath}`;
  const location = await locatePciDevice(rooted, ctx, what);
  const existing = await findExistingPciNetInterface(ctx.sysfsRoot, location);
  if (existing !== undefined) return existing;
  const matcher = new NetPciMatcher(location.relpath, location.rootBusPath);
  const ev = await ctx.uevents.waitFor(matcher, ctx.hotplugTimeoutMs, `${what} (${matcher.devpath})`);
  return ev.interface;
}
