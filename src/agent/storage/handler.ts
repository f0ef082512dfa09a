// What a storage driver implements, and what it is given. One handler per
// driver family (fs-handler.ts, block-handler.ts, ...); registry.ts maps the
// driver names of Storage.driver to them.
import type { Logger } from '../../common/logger.js';
import type { Storage } from '../../protocols/gen/agent_pb.js';
import type { MountSyscalls } from '../mount/mount.js';

/** Settings of the storage layer (one set per agent). */
export interface StorageEnvironment {
  /**
   * Every mount point and every path-like source must stay below this
   * directory ("/run/kata-containers"; a temporary directory in tests).
   */
  rootDir: string;
  /** Where sysfs is mounted ("/sys"): hugepage pools are allocated there. */
  sysfsRoot: string;
  /** Where device nodes live ("/dev"): block sources not resolved by resolveBlockDevice must be below it. */
  devRoot: string;
  logger?: Logger;
  /**
   * Turns the source of a blk/scsi/nvdimm/mmioblk storage (a PCI path, a SCSI
   * address, ...) into a block device node once it has appeared (the device
   * layer waits for its uevent). Without it, only sources that already are
   * block device nodes below devRoot are accepted.
   */
  resolveBlockDevice?: (storage: Storage) => Promise<string>;
  /** mount(2)/umount2(2); the native addon unless a test injects its own. */
  syscalls?: MountSyscalls;
}

/** What a handler gets for one storage. */
export interface StorageContext extends StorageEnvironment {
  logger: Logger;
  syscalls: MountSyscalls;
  /** Container the storage is added for; undefined for the sandbox's own storages. */
  containerId: string | undefined;
  /**
   * Paths (directories, or the file created as a bind mount target) that the
   * handler created, parent before child. The manager removes them (when
   * empty) on rollback and on release.
   */
  createdPaths: string[];
}

export interface StorageHandler {
  /** The Storage.driver values this handler serves. */
  readonly driverTypes: readonly string[];
  /**
   * Makes the storage available (mounts it, or creates its directory) and
   * returns its canonical path in the guest. Throws a StorageError naming the
   * bad field; on failure it leaves nothing mounted (paths it created are in
   * ctx.createdPaths for the caller to remove).
   */
  mount(storage: Storage, ctx: StorageContext): Promise<string>;
}
