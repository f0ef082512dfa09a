// The host directory shared with the guest (as "kataShared", mounted at
// /run/kata-containers/shared/containers/ in the guest). Each container's
// rootfs is bind-mounted into it as <cid>/rootfs, and each bind mount of a
// host path as <cid>-mount-<n>-<name>.
//
// The directory is first bind-mounted onto itself and made a shared mount:
// virtiofsd runs in its own mount namespace (a slave copy of ours), and only
// mounts made under a shared mount propagate into it, so containers created
// after the VM started are visible to the guest too. (9p is served by QEMU
// in our own namespace and would not need this.)
//
// Without the privilege to mount (not root), rootfs and bind sources are
// copied instead.
import { cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { silentLogger } from '../../common/logger.js';
import { errnoCode, MNT, nativeMountSyscalls, unmount } from '../../agent/mount/mount.js';
import { MS } from '../../agent/mount/options.js';
import { GUEST_SHARED_DIR } from './guest-spec.js';

export class SharedDirError extends Error {
  override name = 'SharedDirError';
}

export class SharedDir {
  /** Mount points we made, per container, in the order made. */
  private readonly mounts = new Map<string, string[]>();
  private selfMounted = false;
  private canMount = true;

  private constructor(
    readonly hostDir: string,
    private readonly logger: Logger,
  ) {}

  /** Creates `hostDir` (which must not exist) and prepares it for sharing. */
  static async create(hostDir: string, logger: Logger = silentLogger): Promise<SharedDir> {
    await mkdir(hostDir, { mode: 0o755 });
    const dir = new SharedDir(hostDir, logger);
    const sys = nativeMountSyscalls();
    try {
      sys.mount(hostDir, hostDir, null, MS.BIND, null);
      dir.selfMounted = true;
      sys.mount(null, hostDir, null, MS.SHARED, null);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'EPERM' && code !== 'EACCES') {
        await dir.destroy();
        throw new SharedDirError(`cannot prepare the shared directory ${hostDir}: ${(err as Error).message}`, { cause: err });
      }
      dir.canMount = false;
      logger.warn({ hostDir }, 'no privilege to mount: container files will be copied into the shared directory');
    }
    return dir;
  }

  /** Where the guest sees a path below the shared directory. */
  static guestPath(relative: string): string {
    return `${GUEST_SHARED_DIR}${relative}`;
  }

  /** Shares a container's root filesystem as <cid>/rootfs. */
  async shareRootfs(containerId: string, hostRootfs: string): Promise<void> {
    const st = await stat(hostRootfs).catch(() => null);
    if (!st?.isDirectory()) throw new SharedDirError(`root.path: ${hostRootfs} is not a directory`);
    const target = join(this.hostDir, containerId, 'rootfs');
    await mkdir(target, { recursive: true });
    await this.bindOrCopy(containerId, hostRootfs, target, true);
  }

  /**
   * Shares the source of the spec's mount number `index` (a host file or
   * directory); returns its guest path.
   */
  async shareMountSource(containerId: string, index: number, hostSource: string): Promise<string> {
    const st = await stat(hostSource).catch(() => null);
    if (!st) throw new SharedDirError(`mounts[${index}].source: ${hostSource} does not exist`);
    // <cid>-mount-<n>/<basename>: the guest then sees the source's own name
    // at the end of the mount's root, as with a bind mount on the host.
    const name = `${containerId}-mount-${index}/${basename(hostSource) || 'root'}`;
    const target = join(this.hostDir, name);
    await mkdir(join(this.hostDir, `${containerId}-mount-${index}`));
    if (st.isDirectory()) await mkdir(target);
    else await writeFile(target, '');
    await this.bindOrCopy(containerId, hostSource, target, st.isDirectory());
    return SharedDir.guestPath(name);
  }

  /**
   * Removes what was shared for a container. If a bind mount cannot be
   * undone, nothing is deleted (deleting through it would delete the
   * container's own files) and an error is thrown.
   */
  async unshareContainer(containerId: string): Promise<void> {
    const made = this.mounts.get(containerId) ?? [];
    const stuck: string[] = [];
    for (const target of [...made].reverse()) {
      try {
        unmount(target);
      } catch (err) {
        this.logger.warn({ err, target }, 'cannot unmount a shared path');
        stuck.push(target);
      }
    }
    if (stuck.length > 0) {
      this.mounts.set(containerId, stuck);
      throw new SharedDirError(`cannot unmount ${stuck.join(', ')}; left in place`);
    }
    this.mounts.delete(containerId);
    await rm(join(this.hostDir, containerId), { recursive: true, force: true });
    const prefix = `${containerId}-mount-`;
    for (const name of await readdir(this.hostDir).catch(() => [] as string[])) {
      if (name.startsWith(prefix)) await rm(join(this.hostDir, name), { recursive: true, force: true });
    }
  }

  /** Unshares every container, undoes the self bind mount and removes the directory. */
  async destroy(): Promise<void> {
    let stuck = false;
    for (const id of [...this.mounts.keys()]) {
      await this.unshareContainer(id).catch(() => (stuck = true));
    }
    if (this.selfMounted) {
      try {
        nativeMountSyscalls().umount2(this.hostDir, MNT.DETACH);
        this.selfMounted = false;
      } catch (err) {
        this.logger.warn({ err, hostDir: this.hostDir }, 'cannot unmount the shared directory');
      }
    }
    // Never delete through a mount we could not undo.
    if (stuck || this.selfMounted) throw new SharedDirError(`shared directory ${this.hostDir} still has mounts; left in place`);
    await rm(this.hostDir, { recursive: true, force: true });
  }

  private async bindOrCopy(containerId: string, source: string, target: string, isDir: boolean): Promise<void> {
    if (this.canMount) {
      try {
        nativeMountSyscalls().mount(source, target, null, MS.BIND | MS.REC, null);
        const list = this.mounts.get(containerId) ?? [];
        list.push(target);
        this.mounts.set(containerId, list);
        return;
      } catch (err) {
        throw new SharedDirError(`cannot bind ${source} into the shared directory: ${(err as Error).message}`, { cause: err });
      }
    }
    await cp(source, target, { recursive: isDir, force: true, verbatimSymlinks: true, preserveTimestamps: true });
  }
}
