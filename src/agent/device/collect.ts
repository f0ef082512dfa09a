// Running every device of a request through its handler.
//
// collectDeviceUpdates() validates the whole list first (so bad input fails
// before anything is waited for), then handles the devices one by one, in
// order (their uevents are recorded meanwhile, so later devices do not
// wait any longer for it). It returns what the spec should become, WITHOUT
// touching the spec: the caller applies `updates` in one step with the
// remapping library (src/oci/devices remapSpecDevices) and `pciMap` with
// the PCIDEVICE_* rewriting (src/oci/pci withPciDeviceEnv).
import type { DeviceUpdate } from '../../oci/devices/types.js';
import { makePciHostGuestMap, type PciHostGuestMap } from '../../oci/pci/index.js';
import { ConflictingDeviceUpdatesError, InvalidDeviceError } from './errors.js';
import type { DeviceContext, DeviceRequest } from './handler.js';
import { validateDevices } from './validate.js';

export interface CollectedDeviceUpdates {
  /** One update per device that has a guest device node, in request order. */
  updates: DeviceUpdate[];
  /** Host -> guest PCI addresses of every VFIO function handled. */
  pciMap: PciHostGuestMap;
}

/**
 * Handles every device and gathers the results. Throws InvalidDeviceError
 * (naming devices[i].<field>) for bad input, ConflictingDeviceUpdatesError
 * when two devices would set up the same container_path, and whatever a
 * handler throws (UeventTimeoutError, DeviceSetupError, ...).
 */
export async function collectDeviceUpdates(
  devices: readonly DeviceRequest[],
  ctx: DeviceContext,
): Promise<CollectedDeviceUpdates> {
  const handlers = validateDevices(devices);
  const updates: DeviceUpdate[] = [];
  const indexByPath = new Map<string, number>();
  const pciPairs: Array<[string, string]> = [];

  for (const [i, device] of devices.entries()) {
    ctx.logger?.debug({ index: i, type: device.type, id: device.id, vmPath: device.vmPath }, 'handling device');
    let result;
    try {
      result = await handlers[i]!.handle(device, ctx);
    } catch (err) {
      if (err instanceof InvalidDeviceError) throw err.withFieldPrefix(`devices[${i}].`);
      throw err;
    }
    if (result.dev) {
      const earlier = indexByPath.get(result.dev.containerPath);
      if (earlier !== undefined) throw new ConflictingDeviceUpdatesError(result.dev.containerPath, [earlier, i]);
      indexByPath.set(result.dev.containerPath, i);
      updates.push(result.dev);
    }
    pciPairs.push(...(result.pci ?? []));
  }
  return { updates, pciMap: makePciHostGuestMap(pciPairs) };
}
