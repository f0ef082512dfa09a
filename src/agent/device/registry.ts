// The device handler table: which handler serves which Device.type.
//
// Adding a driver = writing its handler file and listing the handler here.
// (s390x-only types, blk-ccw and vfio-ap, are not supported: they are
// reported as unknown.)
import { virtioBlkMmioHandler, virtioBlkPciHandler } from './block-device-handler.js';
import type { DeviceHandler } from './handler.js';
import { nvdimmHandler } from './nvdimm-device-handler.js';
import { scsiHandler } from './scsi-device-handler.js';
import { vfioPciHandler } from './vfio-device-handler.js';

const HANDLERS: readonly DeviceHandler[] = [
  virtioBlkPciHandler, // blk
  virtioBlkMmioHandler, // mmioblk
  scsiHandler, // scsi
  nvdimmHandler, // nvdimm
  vfioPciHandler, // vfio-pci, vfio-pci-gk
];

/** Device.type -> handler. */
const TABLE: ReadonlyMap<string, DeviceHandler> = buildTable(HANDLERS);

function buildTable(handlers: readonly DeviceHandler[]): Map<string, DeviceHandler> {
  const table = new Map<string, DeviceHandler>();
  for (const handler of handlers) {
    for (const type of handler.driverTypes) {
      if (table.has(type)) throw new Error(`two device handlers claim driver type ${JSON.stringify(type)}`);
      table.set(type, handler);
    }
  }
  return table;
}

/** The handler for a Device.type, or undefined if there is none. */
export function findDeviceHandler(type: string): DeviceHandler | undefined {
  return TABLE.get(type);
}

/** Every supported Device.type, sorted (GetGuestDetails reports them). */
export function deviceHandlerNames(): string[] {
  return [...TABLE.keys()].sort();
}
