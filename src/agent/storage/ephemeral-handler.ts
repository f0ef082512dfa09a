// Memory-backed volumes made inside the guest:
//   tmpfs      the sandbox /dev/shm (source "shm", options noexec,nosuid,
//              nodev,mode=1777,size=N) and Kubernetes emptyDir medium Memory;
//   hugetlbfs  emptyDir medium HugePages (source "nodev", one option
//              "pagesize=<bytes>,size=<bytes>"). The pool of that page size is
//              first sized to size/pagesize pages through
//              <sysfs>/kernel/mm/hugepages/hugepages-<pagesize in kB>kB/nr_hugepages,
//              and the write is read back: the kernel may grant fewer pages.
// The option fsgid=<gid> is not for the kernel: after mounting, the root of
// the volume gets that group and the setgid bit.
// An existing mount at the mount point is kept rather than stacked on.
import { chmod, chown, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Storage } from '../../protocols/gen/agent_pb.js';
import { unmount } from '../mount/mount.js';
import { optionValue } from '../mount/options.js';
import { mountStorage, optionWords, parseGidOption, withoutOption } from './common.js';
import { InvalidMountOptionError, InvalidStorageError, StorageMountError } from './errors.js';
import type { StorageContext, StorageHandler } from './handler.js';
import { resolveInRoot } from './paths.js';

export const FS_TYPE_TMPFS = 'tmpfs';
export const FS_TYPE_HUGETLBFS = 'hugetlbfs';
const SETGID = 0o2000;

/** Sizes as hugetlbfs accepts them: bytes, optionally with a K/M/G/T suffix (powers of 1024). */
function parseSize(value: string, option: string): bigint {
  const m = /^([0-9]+)([kKmMgGtT]?)$/.exec(value);
  if (m === null) throw new InvalidMountOptionError('options', `${option}=${value}`, 'must be a size in bytes (optionally with a K, M, G or T suffix)');
  const shift = { '': 0n, k: 10n, m: 20n, g: 30n, t: 40n }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return BigInt(m[1]!) << shift;
}

/** The page size and total size a hugetlbfs storage asks for. */
export interface HugepageRequest {
  pageSizeBytes: bigint;
  sizeBytes: bigint;
}

/** Reads pagesize= and size= from option words (both required). */
export function parseHugepageOptions(words: readonly string[]): HugepageRequest {
  const pagesize = optionValue(words, 'pagesize');
  const size = optionValue(words, 'size');
  if (pagesize === undefined || size === undefined) {
    throw new InvalidStorageError('options', 'a hugetlbfs storage needs both pagesize= and size= options');
  }
  const pageSizeBytes = parseSize(pagesize, 'pagesize');
  const sizeBytes = parseSize(size, 'size');
  if (pageSizeBytes < 4096n || pageSizeBytes % 1024n !== 0n) {
    throw new InvalidMountOptionError('options', `pagesize=${pagesize}`, 'is not a page size');
  }
  return { pageSizeBytes, sizeBytes };
}

/**
 * Sets the hugepage pool of the requested page size to size/pagesize pages
 * and checks that the kernel granted them all.
 */
export async function allocateHugepages(sysfsRoot: string, req: HugepageRequest): Promise<{ file: string; pages: bigint }> {
  const kb = req.pageSizeBytes / 1024n;
  const pages = req.sizeBytes / req.pageSizeBytes;
  const file = join(sysfsRoot, 'kernel/mm/hugepages', `hugepages-${kb}kB`, 'nr_hugepages');
  try {
    await writeFile(file, `${pages}`);
  } catch (err) {
    throw new StorageMountError('options', `cannot allocate ${pages} hugepages of ${kb} kB through ${file}: ${(err as Error).message}`, { cause: err });
  }
  const text = (await readFile(file, 'utf8')).trim();
  if (!/^[0-9]+$/.test(text)) throw new StorageMountError('options', `unexpected content ${JSON.stringify(text)} in ${file}`);
  if (BigInt(text) !== pages) {
    throw new StorageMountError('options', `only ${text} of ${pages} hugepages of ${kb} kB could be allocated`);
  }
  return { file, pages };
}

export class EphemeralHandler implements StorageHandler {
  readonly driverTypes = ['ephemeral'] as const;

  async mount(storage: Storage, ctx: StorageContext): Promise<string> {
    const fstype = storage.fstype === '' ? FS_TYPE_TMPFS : storage.fstype;
    if (fstype !== FS_TYPE_TMPFS && fstype !== FS_TYPE_HUGETLBFS) {
      throw new InvalidStorageError('fstype', `${JSON.stringify(fstype)} is not an ephemeral filesystem (tmpfs or hugetlbfs)`);
    }
    const words = optionWords(storage.options);
    const fsgidValue = optionValue(words, 'fsgid');
    const fsgid = fsgidValue === undefined ? undefined : parseGidOption(fsgidValue, 'options');
    const kernelWords = withoutOption(words, 'fsgid');

    if (fstype === FS_TYPE_HUGETLBFS) {
      // Check the mount point before touching the page pool.
      await resolveInRoot(ctx.rootDir, storage.mountPoint, 'mount_point');
      const allocated = await allocateHugepages(ctx.sysfsRoot, parseHugepageOptions(kernelWords));
      ctx.logger.info(allocated, 'hugepages allocated');
    }

    const path = await mountStorage(storage, ctx, {
      fstype,
      source: storage.source === '' ? fstype : storage.source,
      options: kernelWords,
      pathSource: 'forbid',
      skipIfMounted: true,
    });

    if (fsgid !== undefined) {
      try {
        await chown(path, -1, fsgid);
        await chmod(path, ((await stat(path)).mode & 0o7777) | SETGID);
      } catch (err) {
        try {
          unmount(path, { sys: ctx.syscalls });
        } catch (undoErr) {
          ctx.logger.error({ path, err: undoErr }, 'could not unmount after fsgid failed');
        }
        throw new StorageMountError('options', `cannot give ${JSON.stringify(path)} group ${fsgid}: ${(err as Error).message}`, { cause: err });
      }
    }
    return path;
  }
}
