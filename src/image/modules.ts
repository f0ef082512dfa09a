// The kernel modules the guest loads at boot, taken from the kernel package.
//
// depmod computes the dependency index for the unpacked package, modprobe
// --show-depends turns each wanted module into the insmod sequence that
// loads it with its dependencies (and soft dependencies), and the modules
// are copied into the guest tree decompressed and without their signature:
// checking RSA signatures of some thirty modules costs a noticeable part of a
// TCG boot, and an unsigned module only taints the kernel.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { run, runText } from './command.js';
import { ImageBuildError } from './errors.js';

/**
 * What the guest needs beyond the kernel proper: PCI virtio transport, block
 * devices (virtio-blk, virtio-scsi + sd), the agent's channels (virtio-serial
 * console ports, vsock), shared filesystems (9p, virtio-fs), container root
 * filesystems (overlay, ext4, loop), and virtio-net for sandbox networking.
 */
export const GUEST_MODULES: readonly string[] = [
  'virtio_pci',
  'virtio_blk',
  'virtio_console',
  'virtio_scsi',
  'sd_mod',
  'virtio_net',
  '9p',
  '9pnet_virtio',
  'fuse',
  'virtiofs',
  'overlay',
  'vmw_vsock_virtio_transport',
  'loop',
  'ext4',
];

/** The files depmod writes besides the ones we copy; busybox modprobe reads modules.dep. */
const INDEX_FILES = ['modules.order', 'modules.builtin', 'modules.builtin.modinfo'];

/** Module names treat "-" and "_" alike; the kernel uses "_". */
export function normalizeModuleName(name: string): string {
  return name.replace(/-/g, '_');
}

/** The module name of a file such as "kernel/arch/x86/crypto/crc32c-intel.ko.xz" ("crc32c_intel"). */
export function moduleNameOfPath(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return normalizeModuleName(base.replace(/\.ko(\.(xz|zst|gz))?$/, ''));
}

/** Names of the modules built into the kernel, from a modules.builtin file. */
export function parseBuiltinModules(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) if (line.trim() !== '') names.add(moduleNameOfPath(line.trim()));
  return names;
}

export type ShowDependsStep = { kind: 'insmod'; path: string } | { kind: 'builtin'; name: string };

/** Parses `modprobe --show-depends` output: "insmod /path/x.ko [params]" and "builtin name" lines. */
export function parseShowDepends(text: string): ShowDependsStep[] {
  const steps: ShowDependsStep[] = [];
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'insmod' && words[1] !== undefined) steps.push({ kind: 'insmod', path: words[1] });
    else if (words[0] === 'builtin' && words[1] !== undefined) steps.push({ kind: 'builtin', name: normalizeModuleName(words[1]) });
    else if (line.trim() !== '') throw new ImageBuildError(`unexpected modprobe --show-depends line: ${JSON.stringify(line)}`);
  }
  return steps;
}

export interface LoadPlan {
  /** Module files to insmod, in order, each once. */
  files: string[];
  /** Requested or needed modules that are built into the kernel. */
  builtin: string[];
}

/** Concatenates the per-module sequences, keeping each file's first position. */
export function mergeLoadSequences(sequences: readonly ShowDependsStep[][]): LoadPlan {
  const files: string[] = [];
  const builtin: string[] = [];
  for (const seq of sequences) {
    for (const step of seq) {
      if (step.kind === 'insmod') {
        if (!files.includes(step.path)) files.push(step.path);
      } else if (!builtin.includes(step.name)) {
        builtin.push(step.name);
      }
    }
  }
  return { files, builtin };
}

const SIGNATURE_MAGIC = Buffer.from('~Module signature appended~\n', 'latin1');
/** struct module_signature: algo, hash, id_type, signer_len, key_id_len (u8 each), 3 pad bytes, sig_len (be32). */
const SIGNATURE_INFO_SIZE = 12;

/**
 * Removes the signature the kernel's sign-file appends to a module:
 * [module ELF][signer][key id][signature][module_signature][magic].
 * A module without one is returned as is.
 */
export function stripModuleSignature(module: Buffer): { data: Buffer; stripped: boolean } {
  if (module.length < SIGNATURE_MAGIC.length || !module.subarray(module.length - SIGNATURE_MAGIC.length).equals(SIGNATURE_MAGIC)) {
    return { data: module, stripped: false };
  }
  const infoAt = module.length - SIGNATURE_MAGIC.length - SIGNATURE_INFO_SIZE;
  if (infoAt < 0) throw new ImageBuildError('module signature trailer is truncated');
  const signerLen = module[infoAt + 3]!;
  const keyIdLen = module[infoAt + 4]!;
  const sigLen = module.readUInt32BE(infoAt + 8);
  const end = infoAt - sigLen - signerLen - keyIdLen;
  if (end <= 0) throw new ImageBuildError(`module signature claims ${sigLen} bytes, more than the file holds`);
  return { data: module.subarray(0, end), stripped: true };
}

/** A module file's contents, decompressed if it is .ko.xz, .ko.zst or .ko.gz. */
export async function readModule(path: string): Promise<Buffer> {
  if (path.endsWith('.ko')) return readFile(path);
  const tool = path.endsWith('.ko.xz') ? 'xz' : path.endsWith('.ko.zst') ? 'zstd' : path.endsWith('.ko.gz') ? 'gzip' : undefined;
  if (tool === undefined) throw new ImageBuildError(`${path}: not a kernel module file name`);
  return (await run(tool, ['-dcq', path])).stdout;
}

export interface StagedModules {
  /** Kernel release, e.g. "6.1.0-56-amd64". */
  release: string;
  /** Guest paths of the module files, in load order. */
  loadOrder: string[];
  /** Wanted or needed modules that the kernel has built in (nothing to load). */
  builtin: string[];
  /** Bytes of module files in the guest. */
  bytes: number;
}

/** The modules directory of a kernel tree: <root>/lib/modules/<release>. */
export function modulesDir(root: string, release: string): string {
  return join(root, 'lib', 'modules', release);
}

/**
 * Copies `names` and their dependencies from the unpacked kernel package at
 * `kernelRoot` into `destRoot` (same layout: lib/modules/<release>/...), and
 * indexes them there with depmod so that modprobe works in the guest too.
 */
export async function stageModules(kernelRoot: string, release: string, names: readonly string[], destRoot: string): Promise<StagedModules> {
  const srcDir = modulesDir(kernelRoot, release);
  const destDir = modulesDir(destRoot, release);
  const builtinNames = parseBuiltinModules(await readFile(join(srcDir, 'modules.builtin'), 'utf8').catch(() => ''));

  // -C /dev/null: the host's /etc/modprobe.d and /etc/depmod.d (blacklists,
  // install commands, options) have no say in what the guest loads.
  await run('depmod', ['-C', '/dev/null', '-b', kernelRoot, release]);
  const sequences: ShowDependsStep[][] = [];
  for (const name of names) {
    if (builtinNames.has(normalizeModuleName(name))) {
      sequences.push([{ kind: 'builtin', name: normalizeModuleName(name) }]);
      continue;
    }
    let text: string;
    try {
      text = await runText('modprobe', ['-C', '/dev/null', '-d', kernelRoot, '-S', release, '--show-depends', name]);
    } catch (err) {
      throw new ImageBuildError(`kernel module ${name}: not found in ${release} (${(err as Error).message})`, { cause: err });
    }
    sequences.push(parseShowDepends(text));
  }
  const plan = mergeLoadSequences(sequences);

  const loadOrder: string[] = [];
  let bytes = 0;
  for (const file of plan.files) {
    const rel = relative(srcDir, file);
    if (rel.startsWith('..')) throw new ImageBuildError(`modprobe named a module outside ${srcDir}: ${file}`);
    const guestRel = rel.replace(/\.ko\.(xz|zst|gz)$/, '.ko');
    const { data } = stripModuleSignature(await readModule(file));
    await mkdir(dirname(join(destDir, guestRel)), { recursive: true });
    await writeFile(join(destDir, guestRel), data);
    loadOrder.push(`/lib/modules/${release}/${guestRel}`);
    bytes += data.length;
  }
  for (const index of INDEX_FILES) {
    await copyFile(join(srcDir, index), join(destDir, index)).catch(() => {});
  }
  await run('depmod', ['-C', '/dev/null', '-b', destRoot, release]);
  return { release, loadOrder, builtin: plan.builtin, bytes };
}

/**
 * The guest modules the agent needs before it can listen: the PCI virtio
 * transport and its two channels (virtio-serial ports, vsock). The rest are
 * loaded while the agent starts (see init-script.ts).
 */
export const EARLY_GUEST_MODULES: readonly string[] = ['virtio_pci', 'virtio_console', 'vmw_vsock_virtio_transport'];

/**
 * Splits `loadOrder` (guest paths, dependencies first) into the modules that
 * `earlyNames` need, with their dependencies from `modulesDep` (depmod's
 * modules.dep: "kernel/x.ko: kernel/dep.ko ..."), and the rest. Both keep the
 * load order. Early names absent from `loadOrder` (built in) are ignored.
 */
export function splitEarlyModules(loadOrder: readonly string[], modulesDep: string, earlyNames: readonly string[]): { early: string[]; late: string[] } {
  const deps = new Map<string, string[]>(); // module name -> names of its dependencies
  for (const line of modulesDep.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = moduleNameOfPath(line.slice(0, colon).trim());
    deps.set(name, line.slice(colon + 1).trim().split(/\s+/).filter((d) => d !== '').map(moduleNameOfPath));
  }
  const needed = new Set<string>();
  const pending = earlyNames.map(normalizeModuleName);
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (needed.has(name)) continue;
    needed.add(name);
    pending.push(...(deps.get(name) ?? []));
  }
  const early: string[] = [];
  const late: string[] = [];
  for (const path of loadOrder) (needed.has(moduleNameOfPath(path)) ? early : late).push(path);
  return { early, late };
}
