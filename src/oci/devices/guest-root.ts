// Keeping containers away from the guest's own root disk (CVE-2020-2023).
//
// The VM's root file system is a block device in the guest (e.g. the image
// on /dev/vda). The container spec's cgroup rules are written on the host
// and may allow broad device access (privileged containers allow all block
// devices); without an explicit deny, a container could open the guest root
// disk and rewrite the agent or the guest kernel's modules. So the agent
// appends a deny rule for that device before creating the container.
//
// Split in two: a pure function taking the numbers, and a small reader that
// finds them with stat("/"). When "/" is not on a real block device (major 0:
// tmpfs, initramfs, overlay, virtiofs...), there is no disk to protect and
// nothing is appended.
import { readFileSystemDevice, type MajorMinor } from './dev-t.js';
import { MissingLinuxSectionError } from './errors.js';
import type { DeviceCgroupRule, RemappableSpec } from './types.js';

/** The deny rule for the guest root disk; undefined when "/" is not on a block device. */
export function guestRootDenyRule(root: MajorMinor): DeviceCgroupRule | undefined {
  if (root.major === 0) return undefined;
  return { allow: false, type: 'b', major: root.major, minor: root.minor, access: 'rw' };
}

/**
 * Returns a new spec with the guest root deny rule appended to
 * linux.resources.devices (created if missing). Appended last, so it
 * overrides any earlier allow. Returns `spec` itself when major is 0.
 * Throws MissingLinuxSectionError if the spec has no linux section.
 */
export function withGuestRootDenyRule<S extends RemappableSpec>(spec: S, root: MajorMinor): S {
  const rule = guestRootDenyRule(root);
  if (rule === undefined) return spec;
  const linux = spec.linux;
  if (linux === undefined || linux === null) throw new MissingLinuxSectionError();
  const rules = [...(linux.resources?.devices ?? []), rule];
  return { ...spec, linux: { ...linux, resources: { ...(linux.resources ?? {}), devices: rules } } };
}

/** The device behind the guest's root file system: stat("/").dev. */
export function readGuestRootDevice(rootPath = '/'): Promise<MajorMinor> {
  return readFileSystemDevice(rootPath);
}
