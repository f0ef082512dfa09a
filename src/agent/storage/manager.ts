// Storages are shared: the sandbox's (the shared directory, /dev/shm) serve
// every container, and two containers can name the same block volume. The
// manager keeps one record per mount point with the set of its users (a
// container id, or SANDBOX_OWNER) and mounts a storage only for its first
// user:
// - add(storages, owner) mounts what is new, in order, all or nothing: if one
//   fails, the mounts this call made are undone, the directories it created
//   removed, and the references it took dropped again;
// - release(owner) drops the owner's references and unmounts the storages
//   nobody uses any more (detaching busy ones lazily); storages sent with
//   shared=true stay until releaseAll();
// - releaseAll() (DestroySandbox) unmounts everything, newest first.
// Calls are serialised: one add or release runs at a time.
import { lstat, mkdir, rmdir, unlink } from 'node:fs/promises';

import { silentLogger, type Logger } from '../../common/logger.js';
import type { Storage } from '../../protocols/gen/agent_pb.js';
import { errnoCode, isMountPoint, nativeMountSyscalls, unmount, type MountSyscalls } from '../mount/mount.js';
import { InvalidStorageError, StorageError, StorageMountError, StorageReleaseError } from './errors.js';
import type { StorageContext, StorageEnvironment } from './handler.js';
import { checkAbsolutePath, resolveInRoot } from './paths.js';
import { STORAGE_HANDLERS, storageHandlerFor, type StorageHandlerTable } from './registry.js';

/** The owner of the sandbox's own storages (CreateSandbox). */
export const SANDBOX_OWNER = 'sandbox';

export const DEFAULT_STORAGE_ENVIRONMENT: Readonly<Omit<StorageEnvironment, 'logger' | 'resolveBlockDevice' | 'syscalls'>> = {
  rootDir: '/run/kata-containers',
  sysfsRoot: '/sys',
  devRoot: '/dev',
};

export interface StorageManagerOptions extends Partial<StorageEnvironment> {
  /** Replaces the driver table (tests). */
  handlers?: StorageHandlerTable;
}

/** What list() reports about one storage. */
export interface StorageInfo {
  /** Storage.mount_point as first requested. */
  mountPoint: string;
  /** The canonical path the handler made available. */
  path: string;
  driver: string;
  shared: boolean;
  /** Users, in the order they came. */
  owners: string[];
}

interface StorageRecord {
  mountPoint: string;
  path: string;
  driver: string;
  shared: boolean;
  owners: Set<string>;
  /** What the handler created (parents first); removed when the storage goes. */
  createdPaths: string[];
}

/** One step of add() to undo if a later storage fails. */
type UndoStep = { kind: 'mounted'; path: string } | { kind: 'referenced'; path: string; wasShared: boolean };

export class StorageManager {
  private readonly env: StorageEnvironment & { logger: Logger };
  private readonly handlers: StorageHandlerTable;
  /** Keyed by canonical path, in the order the storages were mounted. */
  private readonly records = new Map<string, StorageRecord>();
  private tail: Promise<unknown> = Promise.resolve();

  constructor(options: StorageManagerOptions = {}) {
    const { handlers, ...env } = options;
    this.env = { ...DEFAULT_STORAGE_ENVIRONMENT, ...env, logger: env.logger ?? silentLogger };
    this.handlers = handlers ?? STORAGE_HANDLERS;
  }

  /** The root every storage path must stay below. */
  get rootDir(): string {
    return this.env.rootDir;
  }

  /**
   * Makes `storages` available for `owner` and returns their canonical paths,
   * in order. Throws a StorageError naming storages[i] and its field; then
   * nothing this call did remains.
   */
  add(storages: readonly Storage[], owner: string): Promise<string[]> {
    return this.serialise(() => this.addNow(storages, owner));
  }

  /** Drops `owner`'s references; unmounts storages left without users (unless shared). */
  release(owner: string): Promise<void> {
    return this.serialise(async () => {
      const gone: StorageRecord[] = [];
      for (const rec of this.records.values()) {
        if (!rec.owners.delete(owner)) continue;
        if (rec.owners.size === 0 && !rec.shared) gone.push(rec);
      }
      await this.remove(gone.reverse());
    });
  }

  /** Unmounts every storage, shared ones included, newest first (DestroySandbox). */
  releaseAll(): Promise<void> {
    return this.serialise(() => this.remove([...this.records.values()].reverse()));
  }

  /** The storages now held, oldest first. */
  list(): StorageInfo[] {
    return [...this.records.values()].map((r) => ({
      mountPoint: r.mountPoint,
      path: r.path,
      driver: r.driver,
      shared: r.shared,
      owners: [...r.owners],
    }));
  }

  /** Canonical paths of the storages `owner` uses. */
  pathsOf(owner: string): string[] {
    return [...this.records.values()].filter((r) => r.owners.has(owner)).map((r) => r.path);
  }

  private serialise<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async addNow(storages: readonly Storage[], owner: string): Promise<string[]> {
    if (owner === '') throw new InvalidStorageError('container_id', 'must not be empty');
    // Reject what can be judged without touching anything before mounting anything.
    storages.forEach((s, i) => {
      try {
        storageHandlerFor(s.driver, this.handlers);
        checkAbsolutePath(s.mountPoint, 'mount_point');
      } catch (err) {
        throw err instanceof StorageError ? err.atIndex(i) : err;
      }
    });
    await mkdir(this.env.rootDir, { recursive: true, mode: 0o755 });
    // Mount points leading out of the root through what exists now are refused
    // before anything is mounted. (Each is walked again when its turn comes,
    // as an earlier storage of this call may have changed the tree.)
    for (const [i, s] of storages.entries()) {
      try {
        await resolveInRoot(this.env.rootDir, s.mountPoint, 'mount_point');
      } catch (err) {
        throw err instanceof StorageError ? err.atIndex(i) : err;
      }
    }

    const undo: UndoStep[] = [];
    const paths: string[] = [];
    for (const [i, storage] of storages.entries()) {
      try {
        paths.push(await this.addOne(storage, owner, undo));
      } catch (err) {
        await this.rollback(undo, owner);
        if (err instanceof StorageError) throw err.atIndex(i);
        throw new StorageMountError(undefined, (err as Error).message, { cause: err }).atIndex(i);
      }
    }
    return paths;
  }

  private async addOne(storage: Storage, owner: string, undo: UndoStep[]): Promise<string> {
    const { path: canonical } = await resolveInRoot(this.env.rootDir, storage.mountPoint, 'mount_point');
    const existing = this.records.get(canonical);
    if (existing !== undefined) {
      if (!existing.owners.has(owner)) {
        undo.push({ kind: 'referenced', path: canonical, wasShared: existing.shared });
        existing.owners.add(owner);
        existing.shared ||= storage.shared;
      }
      return existing.path;
    }

    const ctx: StorageContext = {
      ...this.env,
      logger: this.env.logger.child({ subsystem: 'storage', driver: storage.driver, mountPoint: storage.mountPoint }),
      syscalls: this.syscalls(),
      containerId: owner === SANDBOX_OWNER ? undefined : owner,
      createdPaths: [],
    };
    let path: string;
    try {
      path = await storageHandlerFor(storage.driver, this.handlers).mount(storage, ctx);
    } catch (err) {
      await this.removeCreated(ctx.createdPaths);
      throw err;
    }
    this.records.set(path, {
      mountPoint: storage.mountPoint,
      path,
      driver: storage.driver,
      shared: storage.shared,
      owners: new Set([owner]),
      createdPaths: ctx.createdPaths,
    });
    undo.push({ kind: 'mounted', path });
    return path;
  }

  private async rollback(undo: UndoStep[], owner: string): Promise<void> {
    for (const step of undo.reverse()) {
      const rec = this.records.get(step.path);
      if (rec === undefined) continue;
      if (step.kind === 'referenced') {
        rec.owners.delete(owner);
        rec.shared = step.wasShared;
        continue;
      }
      this.records.delete(step.path);
      try {
        await this.cleanUp(rec);
      } catch (err) {
        this.env.logger.error({ path: rec.path, err }, 'rollback could not remove a storage');
      }
    }
  }

  /** Unmounts and forgets `records` in the given order; reports all failures at the end. */
  private async remove(records: readonly StorageRecord[]): Promise<void> {
    const failures: Array<{ mountPoint: string; error: Error }> = [];
    for (const rec of records) {
      this.records.delete(rec.path);
      try {
        await this.cleanUp(rec);
      } catch (err) {
        failures.push({ mountPoint: rec.mountPoint, error: err as Error });
      }
    }
    if (failures.length > 0) throw new StorageReleaseError(failures);
  }

  private async cleanUp(rec: StorageRecord): Promise<void> {
    if (await isMountPoint(rec.path)) {
      const how = unmount(rec.path, { sys: this.syscalls(), detachIfBusy: true });
      if (how === 'detached') this.env.logger.warn({ path: rec.path }, 'storage was busy; detached it lazily');
    }
    await this.removeCreated(rec.createdPaths);
  }

  /** Removes created paths, children first; leaves (and logs) what is not empty. */
  private async removeCreated(paths: readonly string[]): Promise<void> {
    for (const p of [...paths].reverse()) {
      try {
        if ((await lstat(p)).isDirectory()) await rmdir(p);
        else await unlink(p);
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOENT') continue;
        this.env.logger.warn({ path: p, code }, 'left a storage path in place');
      }
    }
  }

  private syscalls(): MountSyscalls {
    return this.env.syscalls ?? nativeMountSyscalls();
  }
}
