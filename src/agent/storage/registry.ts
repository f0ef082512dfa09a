// The table from Storage.driver to its handler. Adding a driver means adding
// a handler file and one line in DEFAULT_HANDLERS.
import { BindHandler } from './bind-handler.js';
import { BlockHandler } from './block-handler.js';
import { EphemeralHandler } from './ephemeral-handler.js';
import { UnknownStorageDriverError } from './errors.js';
import { Virtio9pHandler, VirtioFsHandler } from './fs-handler.js';
import type { StorageHandler } from './handler.js';
import { LocalHandler } from './local-handler.js';
import { OverlayfsHandler } from './overlay-handler.js';

/** Handler table: driver name -> handler. */
export type StorageHandlerTable = ReadonlyMap<string, StorageHandler>;

const DEFAULT_HANDLERS: readonly StorageHandler[] = [
  new Virtio9pHandler(),
  new VirtioFsHandler(),
  new BlockHandler(),
  new EphemeralHandler(),
  new LocalHandler(),
  new OverlayfsHandler(),
  new BindHandler(),
];

/** Builds a table from handlers; a driver name served twice is a programming error. */
export function buildHandlerTable(handlers: readonly StorageHandler[]): StorageHandlerTable {
  const table = new Map<string, StorageHandler>();
  for (const handler of handlers) {
    for (const driver of handler.driverTypes) {
      if (table.has(driver)) throw new Error(`storage driver ${JSON.stringify(driver)} has two handlers`);
      table.set(driver, handler);
    }
  }
  return table;
}

/** The agent's storage handlers. */
export const STORAGE_HANDLERS: StorageHandlerTable = buildHandlerTable(DEFAULT_HANDLERS);

/** The driver names the agent supports, sorted (GetGuestDetails agent_details.storage_handlers). */
export function storageHandlerNames(table: StorageHandlerTable = STORAGE_HANDLERS): string[] {
  return [...table.keys()].sort();
}

/** The handler of `driver`; UnknownStorageDriverError (field "driver") if there is none. */
export function storageHandlerFor(driver: string, table: StorageHandlerTable = STORAGE_HANDLERS): StorageHandler {
  const handler = table.get(driver);
  if (handler === undefined) throw new UnknownStorageDriverError(driver);
  return handler;
}
