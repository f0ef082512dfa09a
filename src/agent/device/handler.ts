// The contract between the device module and its per-driver handlers.
//
// The runtime hot-plugs a device into the VM and lists it in the request
// (agent.proto `Device`): a driver type ("blk", "scsi", "vfio-pci", ...), a
// driver-specific locator (id, vm_path, options), and container_path, the
// linux.devices entry of the container spec that stands for it. A handler
// waits until the guest kernel has the device, sets it up if needed, and
// reports what the spec should say instead of the host's view:
//
//   dev  the guest device behind container_path: block/char, guest
//        major:minor, and for VFIO a new path (/dev/vfio/<guest group>);
//   pci  host -> guest PCI address pairs, for PCIDEVICE_* variables.
//
// Handlers never touch the spec: collect.ts gathers every handler's result
// and the caller applies them all at once with the remapping library
// (src/oci/devices).
import type { Logger } from '../../common/logger.js';
import type { DeviceUpdate } from '../../oci/devices/types.js';
import type { Device } from '../../protocols/gen/agent_pb.js';
import type { UeventMonitor } from '../uevent/monitor.js';

/** The Device fields handlers read (a protobuf Device or a plain object). */
export type DeviceRequest = Pick<Device, 'id' | 'type' | 'vmPath' | 'containerPath' | 'options'>;

/** One handler's result. */
export interface SpecUpdate {
  /** The guest device behind container_path; absent when the spec keeps its entry (vfio-pci-gk). */
  dev?: DeviceUpdate;
  /** Host -> guest PCI addresses ("DDDD:BB:SS.F" each), for PCIDEVICE_* env rewriting. */
  pci?: Array<[hostBdf: string, guestBdf: string]>;
}

/** What handlers work with: where sysfs and /dev are, and the uevent monitor. */
export interface DeviceContext {
  /** "/sys" in the guest; a fake tree in tests. */
  sysfsRoot: string;
  /** "/dev" in the guest; a directory of test nodes in tests. Device paths in requests are mapped below it. */
  devRoot: string;
  uevents: UeventMonitor;
  /** How long to wait for a device to appear (agent.hotplug_timeout). */
  hotplugTimeoutMs: number;
  logger?: Logger;
}

export interface DeviceHandler {
  /** The Device.type values this handler serves. */
  readonly driverTypes: readonly string[];
  /**
   * Checks the request's driver-specific fields without touching the
   * system; throws InvalidDeviceError with a field relative to the device
   * ("id", "vm_path", "options[0]"). Optional.
   */
  validate?(device: DeviceRequest): void;
  /** Waits for the device, sets it up, and says what the spec should become. */
  handle(device: DeviceRequest, ctx: DeviceContext): Promise<SpecUpdate>;
}
