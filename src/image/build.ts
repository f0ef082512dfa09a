// `kata-ts-image build`: the whole build, and the check that makes a second
// build with the same inputs do nothing.
//
// Steps: resolve the kernel package; compare the inputs with the existing
// manifest (up to date: stop); prepare the kernel stage (cached per kernel
// package, see kernel-stage.ts); assemble the guest tree; boot it once under
// QEMU to make the agent's startup snapshot (startup-snapshot.ts) and add
// it; pack the tree as a newc cpio; write vmlinux, initrd.img,
// kernel-version and manifest.json. Every output is written under a
// temporary name and renamed into place, and the old manifest is removed
// first, so an interrupted build is never taken for a complete one.
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installedVersions, owningPackages, resolveKernelPackageCached, type PackageInfo } from './debian.js';
import { assembleGuestRootfs, GUEST_AGENT_SNAPSHOT } from './guest-rootfs.js';
import { sha256File } from './hashing.js';
import { defaultImageConfig, type ImageConfig } from './image-config.js';
import { writeNewcCpio } from './initrd-cpio.js';
import { prepareKernelStage } from './kernel-stage.js';
import { computeInputKey, hashInputs, MANIFEST_FORMAT, outputsPresent, readManifest, type Manifest } from './manifest.js';
import { defaultCacheDir, defaultImageDir, IMAGE_FILES, imagePaths, repoRoot } from './paths.js';
import { silentProgress, timed, type Progress } from './progress.js';
import { layoutToCpio } from './rootfs-layout.js';
import { makeAgentSnapshot, type SnapshotRecord } from './startup-snapshot.js';

export interface BuildOptions {
  /** Image directory (default defaultImageDir()). */
  outDir?: string;
  /** Download and kernel stage cache (default defaultCacheDir()). */
  cacheDir?: string;
  /** Build even if up to date. */
  force?: boolean;
  /** Overrides of the default configuration. */
  config?: Partial<ImageConfig>;
  progress?: Progress;
  /** The checkout to build from (default: this one). */
  root?: string;
}

export interface BuildResult {
  /** True if nothing was done because the image matched its inputs. */
  upToDate: boolean;
  outDir: string;
  manifest: Manifest;
}

/** The builder's own sources: a change to any of them rebuilds the image. */
const BUILDER_DIR = 'src/image';
/** The sources that shape the kernel stage: a change to one of them rebuilds the stage. */
const KERNEL_STAGE_SOURCES = ['command.ts', 'debian.ts', 'elf.ts', 'kernel.ts', 'kernel-stage.ts', 'modules.ts'];

export async function buildImage(options: BuildOptions = {}): Promise<BuildResult> {
  const root = options.root ?? repoRoot();
  const outDir = options.outDir ?? defaultImageDir();
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const progress = options.progress ?? silentProgress;
  const base = defaultImageConfig();
  const config: ImageConfig = { ...base, ...options.config };
  const paths = imagePaths(outDir);

  const previous = options.force ? undefined : await readManifest(paths.manifest);
  const kernelPackage = await resolveKernelPackageCached(cacheDir, { name: config.kernelPackage, hint: previous?.kernel.package.name });
  const recordedConfig = { ...config, kernelPackage: kernelPackage.name };
  const builderFiles = await builderSources(root);

  if (previous) {
    const files = await hashInputs(root, [...previous.inputs.files.map((f) => f.path), ...builderFiles], previous.inputs.files);
    if (computeInputKey(recordedConfig, kernelPackage, files) === previous.inputKey && (await outputsPresent(outDir, previous))) {
      progress(`up to date: ${outDir}`);
      return { upToDate: true, outDir, manifest: previous };
    }
  }

  const started = performance.now();
  const builderKey = await kernelStageBuilderKey(root);
  const stage = await prepareKernelStage({ cacheDir, kernelPackage, modules: config.modules, builderKey, progress });

  await mkdir(outDir, { recursive: true });
  const workDir = await mkdtemp(join(tmpdir(), 'kata-ts-image-'));
  try {
    const guest = await timed(progress, 'collecting the guest files', () => assembleGuestRootfs({ root, config, stage, workDir, progress }));
    let snapshot: SnapshotRecord = { built: false, reason: 'startupSnapshot is off in the configuration' };
    if (config.startupSnapshot) {
      const made = await makeAgentSnapshot({ layout: guest.layout, kernel: stage.vmlinux, qemu: config.qemu, workDir, progress });
      snapshot = made.record;
      if (made.blob !== undefined) guest.layout.addFile(GUEST_AGENT_SNAPSHOT, made.blob, 0o644);
    }
    // QEMU is an input when it makes the snapshot: a new QEMU may give TCG guests another CPU.
    const inputs = await hashInputs(root, [...guest.checkoutFiles, ...builderFiles, ...guest.hostFiles, ...(config.startupSnapshot ? [config.qemu] : [])]);

    await rm(paths.manifest, { force: true });
    const initrdTmp = `${paths.initrd}.tmp-${process.pid}`;
    const cpio = await timed(progress, `packing ${IMAGE_FILES.initrd}`, () => writeNewcCpio(layoutToCpio(guest.layout.entries()), initrdTmp));
    await rename(initrdTmp, paths.initrd);
    const kernelTmp = `${paths.kernel}.tmp-${process.pid}`;
    await copyFile(stage.vmlinux, kernelTmp);
    await rename(kernelTmp, paths.kernel);
    await writeFile(paths.kernelVersion, `${stage.release}\n`);

    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      tool: 'kata-ts-image',
      builtAt: new Date().toISOString(),
      buildSeconds: 0,
      inputKey: computeInputKey(recordedConfig, kernelPackage, inputs),
      config: recordedConfig,
      kernel: { package: kernelPackage, release: stage.release, compression: stage.compression },
      debianPackages: await debianPackagesOf(guest.hostFiles),
      npmPackages: guest.bundle.npmPackages,
      inputs: { files: inputs },
      modules: { loadOrder: stage.modules.loadOrder, builtin: stage.modules.builtin, bytes: stage.modules.bytes },
      initrd: { members: cpio.members, format: 'newc' },
      startupSnapshot: snapshot,
      outputs: {
        [IMAGE_FILES.kernel]: { bytes: (await stat(paths.kernel)).size, sha256: await sha256File(paths.kernel) },
        [IMAGE_FILES.initrd]: { bytes: cpio.bytes, sha256: cpio.sha256 },
        [IMAGE_FILES.kernelVersion]: { bytes: (await stat(paths.kernelVersion)).size, sha256: await sha256File(paths.kernelVersion) },
      },
    };
    manifest.buildSeconds = Math.round(performance.now() - started) / 1000;
    const manifestTmp = `${paths.manifest}.tmp-${process.pid}`;
    await writeFile(manifestTmp, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(manifestTmp, paths.manifest);
    progress(`built ${outDir} in ${manifest.buildSeconds.toFixed(1)} s (initrd ${mib(cpio.bytes)}, vmlinux ${mib(manifest.outputs[IMAGE_FILES.kernel]!.bytes)})`);
    return { upToDate: false, outDir, manifest };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Identifies the code that prepares kernel stages (see prepareKernelStage). */
export async function kernelStageBuilderKey(root = repoRoot()): Promise<string> {
  return (await hashInputs(root, KERNEL_STAGE_SOURCES.map((f) => `${BUILDER_DIR}/${f}`))).map((f) => f.sha256).join(',');
}

/** The builder's source files, relative to the checkout. */
async function builderSources(root: string): Promise<string[]> {
  const names = await readdir(join(root, BUILDER_DIR));
  return names.filter((n) => n.endsWith('.ts')).map((n) => `${BUILDER_DIR}/${n}`);
}

/** The installed Debian packages the host files come from, with versions. */
async function debianPackagesOf(hostFiles: readonly string[]): Promise<{ name: string; version: string }[]> {
  const owners = await owningPackages(hostFiles);
  const names = [...new Set(owners.values())].sort();
  const versions = await installedVersions(names);
  return names.map((name) => ({ name, version: versions.get(name) ?? 'unknown' }));
}

function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

export type { PackageInfo };
