// Which host disks a container gets: the block devices ("b") listed in the
// spec's linux.devices.
//
// An entry's host backing is, in this order:
// - the annotation "io.kata-ts.block-source.<container path>" (e.g.
//   io.kata-ts.block-source./dev/xvda = /srv/disk.img): a raw image file or
//   a block device node; this lets a spec use disks that are plain files;
// - otherwise the host's block device with the entry's major:minor, as
//   Kata does: /dev/block/M:m, or /dev/<DEVNAME> from /sys/dev/block/M:m
//   on hosts without udev.
//
// The spec keeps the host numbers; the agent rewrites them (and the
// matching linux.resources.devices rules) to the numbers the disk gets in
// the guest.
import { readFile, stat } from 'node:fs/promises';
import type { Spec } from '../../oci/spec.js';
import type { DiskSource } from '../qemu/hotplug.js';

export const BLOCK_SOURCE_ANNOTATION_PREFIX = 'io.kata-ts.block-source.';

export interface BlockDeviceRequest extends DiskSource {
  /** Index in linux.devices. */
  index: number;
  /** linux.devices[index].path: where the container sees the disk. */
  containerPath: string;
}

export class BlockDeviceError extends Error {
  override name = 'BlockDeviceError';
}

function majorOf(rdev: number): number {
  return Math.floor(rdev / 256) & 0xfff;
}
function minorOf(rdev: number): number {
  return (rdev & 0xff) | ((Math.floor(rdev / 0x100000) & 0xfff) << 8);
}

export async function findBlockDevices(spec: Spec): Promise<BlockDeviceRequest[]> {
  const out: BlockDeviceRequest[] = [];
  const annotations = spec.annotations ?? {};
  const devices = spec.linux?.devices ?? [];
  const seen = new Set<string>();
  for (const [index, dev] of devices.entries()) {
    if (dev.type !== 'b') continue;
    const where = `linux.devices[${index}] (${dev.path}, b ${dev.major}:${dev.minor})`;
    if (seen.has(dev.path)) throw new BlockDeviceError(`${where}: another entry has the same path`);
    seen.add(dev.path);
    const key = `${BLOCK_SOURCE_ANNOTATION_PREFIX}${dev.path}`;
    const annotated = annotations[key];
    if (annotated !== undefined) {
      const st = await stat(annotated).catch(() => null);
      if (!st || !(st.isFile() || st.isBlockDevice())) {
        throw new BlockDeviceError(`annotations["${key}"]: ${annotated} is not a raw image file or a block device`);
      }
      out.push({ index, containerPath: dev.path, path: annotated, kind: st.isFile() ? 'file' : 'host_device' });
      continue;
    }
    const node = await hostBlockDevice(dev.major ?? -1, dev.minor ?? -1);
    if (node === undefined) {
      throw new BlockDeviceError(`${where}: the host has no block device ${dev.major}:${dev.minor}, and no "${key}" annotation names a file`);
    }
    out.push({ index, containerPath: dev.path, path: node, kind: 'host_device' });
  }
  return out;
}

/** The host's device node for block device major:minor, if there is one. */
export async function hostBlockDevice(major: number, minor: number): Promise<string | undefined> {
  const candidates = [`/dev/block/${major}:${minor}`];
  const uevent = await readFile(`/sys/dev/block/${major}:${minor}/uevent`, 'utf8').catch(() => '');
  const devname = /^DEVNAME=(.+)$/m.exec(uevent)?.[1];
  if (devname) candidates.push(`/dev/${devname}`);
  for (const node of candidates) {
    const st = await stat(node).catch(() => null);
    if (st?.isBlockDevice() && majorOf(st.rdev) === major && minorOf(st.rdev) === minor) return node;
  }
  return undefined;
}
