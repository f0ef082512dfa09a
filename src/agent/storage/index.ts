// The guest agent's storage layer, as the RPC layer uses it: a manager that
// mounts the storages of CreateSandbox/CreateContainer and releases them, the
// driver table (GetGuestDetails lists its names), and the named errors.
export { DEFAULT_STORAGE_ENVIRONMENT, SANDBOX_OWNER, StorageManager } from './manager.js';
export type { StorageInfo, StorageManagerOptions } from './manager.js';
export { STORAGE_HANDLERS, buildHandlerTable, storageHandlerFor, storageHandlerNames } from './registry.js';
export type { StorageHandlerTable } from './registry.js';
export type { StorageContext, StorageEnvironment, StorageHandler } from './handler.js';
export {
  InvalidMountOptionError,
  InvalidStorageError,
  PathEscapeError,
  StorageError,
  StorageMountError,
  StorageReleaseError,
  UnknownStorageDriverError,
} from './errors.js';
export type { StorageErrorCode } from './errors.js';
