// virtio-blk disks: "blk" (PCI) and "mmioblk" (virtio-mmio).
//
// blk      id = PCI path of the virtio-blk function: "02/01" (the 2020
//          runtime's "bridge/device" form), "02.0/03.0/04", or with a NUMA
//          root complex in front, "20/00/02". The guest picks the disk's
//          name, so we wait for the uevent of a whole disk below that PCI
//          function and use /dev/<its DEVNAME>.
//          An empty id means vm_path is the node (2020 Cloud Hypervisor).
// mmioblk  vm_path = "/dev/vdX", predicted by the runtime. If the node is
//          not there yet, we wait for the disk's uevent.
import { VirtioBlkMmioMatcher, VirtioBlkPciMatcher } from '../uevent/matchers.js';
import { devNameOf, deviceUpdateFromNode, nodeExists, nodePathOf } from './device-node.js';
import { InvalidDeviceError } from './errors.js';
import type { DeviceContext, DeviceHandler, DeviceRequest, SpecUpdate } from './handler.js';
import { locatePciDevice, parseGuestPciPath, rescanPciBus } from './pci-device.js';

export const DRIVER_BLK_PCI_TYPE = 'blk';
export const DRIVER_BLK_MMIO_TYPE = 'mmioblk';

/**
 * Waits for the virtio-blk PCI disk at `pciPath` (as the runtime sends it)
 * and returns its node name below /dev ("vda"). Rescans the PCI bus first.
 * A malformed path is an InvalidDeviceError for `field`.
 */
export async function waitForVirtioBlkPciDisk(pciPath: string, ctx: DeviceContext, field = 'id'): Promise<string> {
  const rooted = parseGuestPciPath(pciPath, field);
  await rescanPciBus(ctx.sysfsRoot);
  const what = `virtio-blk PCI device ${pciPath}`;
  const location = await locatePciDevice(rooted, ctx, what);
  const matcher = new VirtioBlkPciMatcher(location.relpath, location.rootBusPath);
  const description = `${what} (${location.rootBusPath}${location.relpath})`;
  const ev = await ctx.uevents.waitFor(matcher, ctx.hotplugTimeoutMs, description);
  return ev.devname;
}

/**
 * Returns where the block device `guestPath` ("/dev/vdb") is found under
 * devRoot, waiting for its uevent if the node is not there yet. `what`
 * names the kind of device in errors.
 */
export async function waitForNamedBlockDevice(
  guestPath: string,
  ctx: DeviceContext,
  what: string,
  field = 'vm_path',
): Promise<string> {
  const devname = devNameOf(guestPath, field);
  const nodePath = nodePathOf(ctx.devRoot, devname);
  if (await nodeExists(nodePath)) return nodePath;
  const ev = await ctx.uevents.waitFor(new VirtioBlkMmioMatcher(devname), ctx.hotplugTimeoutMs, `${what} ${guestPath}`);
  return nodePathOf(ctx.devRoot, ev.devname);
}

export const virtioBlkPciHandler: DeviceHandler = {
  driverTypes: [DRIVER_BLK_PCI_TYPE],

  validate(device: DeviceRequest): void {
    if (device.id !== '') parseGuestPciPath(device.id, 'id');
    else devNameOf(device.vmPath);
  },

  async handle(device: DeviceRequest, ctx: DeviceContext): Promise<SpecUpdate> {
    let nodePath: string;
    if (device.id !== '') {
      nodePath = nodePathOf(ctx.devRoot, await waitForVirtioBlkPciDisk(device.id, ctx));
    } else {
      nodePath = await waitForNamedBlockDevice(device.vmPath, ctx, 'virtio-blk device');
    }
    return { dev: await deviceUpdateFromNode(device.containerPath, nodePath) };
  },
};

function validateMmioDevice(device: DeviceRequest): void {
  if (device.vmPath === '') throw new InvalidDeviceError('vm_path', 'a virtio-mmio disk needs its /dev path');
  devNameOf(device.vmPath);
}

export const virtioBlkMmioHandler: DeviceHandler = {
  driverTypes: [DRIVER_BLK_MMIO_TYPE],
  validate: validateMmioDevice,

  async handle(device: DeviceRequest, ctx: DeviceContext): Promise<SpecUpdate> {
    validateMmioDevice(device);
    const nodePath = await waitForNamedBlockDevice(device.vmPath, ctx, 'virtio-mmio block device');
    return { dev: await deviceUpdateFromNode(device.containerPath, nodePath) };
  },
};
