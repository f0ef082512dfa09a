// The few parts of an OCI runtime spec (config.json form) that device
// remapping reads and writes. These are structural and deliberately loose:
// any wider Spec type whose `linux` section has this shape can be passed in,
// and every field not named here passes through untouched.

/** One `linux.devices` entry: a device node the runtime creates in the container. */
export interface SpecDeviceEntry {
  path: string;
  /** "c", "b", "u" (unbuffered char) or "p" (FIFO). */
  type: string;
  major?: number;
  minor?: number;
}

/**
 * One `linux.resources.devices` rule of the devices cgroup. A null or absent
 * major/minor is a wildcard ("*"); an absent type means "a" (all devices).
 */
export interface DeviceCgroupRule {
  allow: boolean;
  type?: string | null;
  major?: number | null;
  minor?: number | null;
  access?: string | null;
}

/** A spec as far as device remapping is concerned. */
export interface RemappableSpec {
  linux?: {
    devices?: readonly SpecDeviceEntry[] | null;
    resources?: { devices?: readonly DeviceCgroupRule[] | null } | null;
  } | null;
}

/** The devices-cgroup class of a device: block or char. */
export type DeviceClass = 'b' | 'c';

/**
 * What the guest made of one device the container asked for: the node it
 * got in the VM, given as the container path the spec uses for it.
 */
export interface DeviceUpdate {
  /** The device's path in the ORIGINAL spec's linux.devices. */
  containerPath: string;
  /** Block or char, as the guest node is. */
  type: DeviceClass;
  /** Guest major number. */
  major: number;
  /** Guest minor number. */
  minor: number;
  /** If set, the entry's path becomes this (VFIO: /dev/vfio/<guest group>). */
  finalPath?: string;
}

/** (type, major, minor) of a device, as a cgroup rule names it. */
export interface DeviceNumbers {
  readonly type: DeviceClass;
  readonly major: number;
  readonly minor: number;
}
