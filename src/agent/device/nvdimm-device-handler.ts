// NVDIMM (virtual persistent memory) disks: "nvdimm".
//
// vm_path = "/dev/pmemN", predicted by the runtime from the NVDIMM's slot.
// The devices are normally there at boot (cold-plugged); if the node is not
// there yet we wait for its uevent below the ACPI NVDIMM root.
import { PmemBlockMatcher } from '../uevent/matchers.js';
import { devNameOf, deviceUpdateFromNode, nodeExists, nodePathOf } from './device-node.js';
import { InvalidDeviceError } from './errors.js';
import type { DeviceContext, DeviceHandler, DeviceRequest, SpecUpdate } from './handler.js';

export const DRIVER_NVDIMM_TYPE = 'nvdimm';

/**
 * Returns where the pmem disk `guestPath` ("/dev/pmem0") is found under
 * devRoot, waiting for its uevent if the node is not there yet.
 */
export async function waitForPmemDevice(guestPath: string, ctx: DeviceContext, field = 'vm_path'): Promise<string> {
  const devname = devNameOf(guestPath, field);
  const nodePath = nodePathOf(ctx.devRoot, devname);
  if (await nodeExists(nodePath)) return nodePath;
  // The matcher only accepts an event for exactly this node name.
  await ctx.uevents.waitFor(new PmemBlockMatcher(devname), ctx.hotplugTimeoutMs, `NVDIMM device ${guestPath}`);
  return nodePath;
}

function validateNvdimmDevice(device: DeviceRequest): void {
  if (device.vmPath === '') throw new InvalidDeviceError('vm_path', 'an NVDIMM device needs its /dev/pmemN path');
  devNameOf(device.vmPath);
}

export const nvdimmHandler: DeviceHandler = {
  driverTypes: [DRIVER_NVDIMM_TYPE],
  validate: validateNvdimmDevice,

  async handle(device: DeviceRequest, ctx: DeviceContext): Promise<SpecUpdate> {
    validateNvdimmDevice(device);
    const nodePath = await waitForPmemDevice(device.vmPath, ctx);
    return { dev: await deviceUpdateFromNode(device.containerPath, nodePath) };
  },
};
