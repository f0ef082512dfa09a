// virtio-scsi disks: "scsi".
//
// id = "<scsi id>:<lun>" in decimal (the runtime derives both from the
// drive's index: index/256 and index%256). The disk sits on channel 0 of
// the VM's single SCSI controller, so its sysfs name is 0:0:<id>:<lun>.
// SCSI does not announce new LUNs by itself: we ask every SCSI host to scan
// for that target/LUN ("0 <id> <lun>" into .../scsi_host/hostN/scan), then
// wait for the disk's uevent and use /dev/<its DEVNAME>.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ScsiBlockMatcher } from '../uevent/matchers.js';
import { writeSysfsAttribute } from '../uevent/sysfs-attribute.js';
import { deviceUpdateFromNode, nodePathOf } from './device-node.js';
import { DeviceSetupError, InvalidDeviceError, errText } from './errors.js';
import type { DeviceContext, DeviceHandler, DeviceRequest, SpecUpdate } from './handler.js';

export const DRIVER_SCSI_TYPE = 'scsi';

export interface ScsiAddress {
  readonly target: number;
  readonly lun: number;
}

/** Parses "<scsi id>:<lun>" (decimal); errors name `field`. */
export function parseScsiAddress(text: string, field = 'id'): ScsiAddress {
  const m = /^(\d+):(\d+)$/.exec(text);
  if (!m) throw new InvalidDeviceError(field, `${JSON.stringify(text)} is not a SCSI address "<scsi id>:<lun>"`);
  return { target: Number(m[1]), lun: Number(m[2]) };
}

/** Asks every SCSI host to scan channel 0 for the given target and LUN. */
export async function scanScsiHosts(sysfsRoot: string, addr: ScsiAddress): Promise<void> {
  const hostsDir = join(sysfsRoot, 'class/scsi_host');
  let hosts: string[];
  try {
    hosts = await readdir(hostsDir);
  } catch (err) {
    throw new DeviceSetupError(`cannot list SCSI hosts in ${hostsDir}: ${errText(err)}`, { cause: err });
  }
  const request = `0 ${addr.target} ${addr.lun}`;
  for (const host of hosts) {
    const scanPath = join(hostsDir, host, 'scan');
    try {
      await writeSysfsAttribute(scanPath, request);
    } catch (err) {
      throw new DeviceSetupError(`cannot ask SCSI host ${host} to scan (${scanPath}): ${errText(err)}`, { cause: err });
    }
  }
}

/**
 * Scans for the SCSI disk at `scsiAddr` ("id:lun") and waits for it;
 * returns its node name below /dev ("sda").
 */
export async function waitForScsiDisk(scsiAddr: string, ctx: DeviceContext, field = 'id'): Promise<string> {
  const addr = parseScsiAddress(scsiAddr, field);
  const canonical = `${addr.target}:${addr.lun}`;
  await scanScsiHosts(ctx.sysfsRoot, addr);
  const description = `SCSI disk ${canonical} (0:0:${canonical})`;
  const ev = await ctx.uevents.waitFor(new ScsiBlockMatcher(canonical), ctx.hotplugTimeoutMs, description);
  return ev.devname;
}

export const scsiHandler: DeviceHandler = {
  driverTypes: [DRIVER_SCSI_TYPE],

  validate(device: DeviceRequest): void {
    parseScsiAddress(device.id);
  },

  async handle(device: DeviceRequest, ctx: DeviceContext): Promise<SpecUpdate> {
    const devname = await waitForScsiDisk(device.id, ctx);
    return { dev: await deviceUpdateFromNode(device.containerPath, nodePathOf(ctx.devRoot, devname)) };
  },
};
