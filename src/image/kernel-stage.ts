// The kernel half of the image, prepared once per kernel package and module
// list and kept in the cache directory: vmlinux, plus the guest's modules
// tree with its load order. Building it means downloading and unpacking a
// 70 MB package (400 MB unpacked), so images built later from the same
// kernel (a changed agent, say) reuse it.
//
//   <cache>/kernel/<package>_<version>-<key>/
//     vmlinux
//     modules/lib/modules/<release>/...   (the guest's modules tree)
//     stage.json                          (written last: the stage is complete)
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadPackage, extractDeb, type PackageInfo } from './debian.js';
import { ImageBuildError } from './errors.js';
import { canonicalJson, sha256 } from './hashing.js';
import { extractBootableVmlinux } from './kernel.js';
import { modulesDir, stageModules, type StagedModules } from './modules.js';
import { timed, type Progress } from './progress.js';

/** Bump when what a stage contains changes, so that old stages are not reused. */
const STAGE_FORMAT = 1;
/** Stages kept in the cache (the most recently used ones); each is about 70 MB. */
export const STAGES_KEPT = 3;

export interface KernelStage {
  /** The stage directory. */
  dir: string;
  kernelPackage: PackageInfo;
  /** Kernel release, e.g. "6.1.0-56-amd64". */
  release: string;
  /** How the bzImage was compressed. */
  compression: string;
  /** The uncompressed ELF kernel. */
  vmlinux: string;
  /** Root of the guest modules tree (contains lib/modules/<release>). */
  modulesRoot: string;
  modules: StagedModules;
}

/** What stage.json holds (paths are recomputed from the directory). */
type StageRecord = Omit<KernelStage, 'dir' | 'vmlinux' | 'modulesRoot'> & { format: number };

/** The stage directory for a kernel package and module list. */
export function stageDir(cacheDir: string, pkg: PackageInfo, modules: readonly string[], builderKey: string): string {
  const key = sha256(canonicalJson({ STAGE_FORMAT, sha256: pkg.sha256, modules, builderKey })).slice(0, 16);
  return join(cacheDir, 'kernel', `${pkg.name}_${pkg.version.replace(/:/g, '%3a')}-${key}`);
}

/**
 * The prepared kernel stage for `pkg` with `modules`, built if missing.
 * `builderKey` identifies the code that builds stages (a change rebuilds them).
 */
export async function prepareKernelStage(opts: {
  cacheDir: string;
  kernelPackage: PackageInfo;
  modules: readonly string[];
  builderKey: string;
  progress: Progress;
}): Promise<KernelStage> {
  const dir = stageDir(opts.cacheDir, opts.kernelPackage, opts.modules, opts.builderKey);
  const existing = await readStage(dir);
  if (existing) {
    await markUsed(existing);
    return existing;
  }

  const deb = await downloadPackage(opts.kernelPackage, opts.cacheDir, opts.progress);
  await mkdir(join(opts.cacheDir, 'kernel'), { recursive: true });
  // Built under a temporary name and renamed when complete, so that a
  // concurrent or interrupted build never leaves a half stage behind.
  const tmp = await mkdtemp(join(opts.cacheDir, 'kernel', '.stage-'));
  try {
    const unpacked = join(tmp, 'package');
    const staging = join(tmp, 'stage');
    await timed(opts.progress, `unpacking ${opts.kernelPackage.name}`, () => extractDeb(deb, unpacked));
    const release = await kernelRelease(unpacked, opts.kernelPackage.name);

    const bzImage = await readFile(join(unpacked, 'boot', `vmlinuz-${release}`)).catch((err: unknown) => {
      throw new ImageBuildError(`${opts.kernelPackage.name} has no boot/vmlinuz-${release}`, { cause: err });
    });
    const kernel = await timed(opts.progress, 'extracting vmlinux', () => extractBootableVmlinux(bzImage));
    await mkdir(staging, { recursive: true });
    await writeFile(join(staging, 'vmlinux'), kernel.vmlinux);

    const modules = await timed(opts.progress, `resolving ${opts.modules.length} kernel modules`, () =>
      stageModules(unpacked, release, opts.modules, join(staging, 'modules')),
    );
    const record: StageRecord = { format: STAGE_FORMAT, kernelPackage: opts.kernelPackage, release, compression: kernel.compression, modules };
    await writeFile(join(staging, 'stage.json'), `${JSON.stringify(record, null, 2)}\n`);
    await rm(unpacked, { recursive: true, force: true });
    try {
      await rename(staging, dir);
    } catch (err) {
      // Another build finished the same stage first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const stage = await readStage(dir);
  if (!stage) throw new ImageBuildError(`kernel stage ${dir} is incomplete after building it`);
  await pruneStages(join(opts.cacheDir, 'kernel'), STAGES_KEPT);
  return stage;
}

/** Records a stage's use in its stage.json's modification time. */
async function markUsed(stage: KernelStage): Promise<void> {
  const now = new Date();
  await utimes(join(stage.dir, 'stage.json'), now, now).catch(() => {});
}

/** Removes all but the `keep` most recently used stages (older builder versions, other kernels). */
export async function pruneStages(kernelDir: string, keep: number): Promise<void> {
  const stages: { dir: string; used: number }[] = [];
  for (const name of await readdir(kernelDir).catch(() => [] as string[])) {
    if (name.startsWith('.')) continue; // stages being built
    const dir = join(kernelDir, name);
    const used = await stat(join(dir, 'stage.json')).then((st) => st.mtimeMs, () => 0);
    stages.push({ dir, used });
  }
  stages.sort((a, b) => b.used - a.used);
  for (const old of stages.slice(keep)) await rm(old.dir, { recursive: true, force: true });
}

/** The release a kernel image package installs modules for (its single lib/modules/<release>). */
async function kernelRelease(unpacked: string, packageName: string): Promise<string> {
  const guess = packageName.replace(/^linux-image-/, '');
  if (await isDir(modulesDir(unpacked, guess))) return guess;
  const releases = await readdir(join(unpacked, 'lib', 'modules')).catch(() => [] as string[]);
  if (releases.length !== 1) throw new ImageBuildError(`${packageName}: expected one lib/modules/<release> directory, found ${releases.length}`);
  return releases[0]!;
}

async function readStage(dir: string): Promise<KernelStage | undefined> {
  let record: StageRecord;
  try {
    record = JSON.parse(await readFile(join(dir, 'stage.json'), 'utf8')) as StageRecord;
  } catch {
    return undefined;
  }
  if (record.format !== STAGE_FORMAT) return undefined;
  const { format: _format, ...rest } = record;
  return { ...rest, dir, vmlinux: join(dir, 'vmlinux'), modulesRoot: join(dir, 'modules') };
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
