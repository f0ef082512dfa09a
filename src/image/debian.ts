// Debian packages: which kernel package to use, downloading it with the
// ordinary apt client into a cache, unpacking it, and which installed
// package a host file comes from (for the manifest).
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './command.js';
import { ImageBuildError } from './errors.js';
import { canonicalJson, sha256, sha256File } from './hashing.js';
import type { Progress } from './progress.js';

/** The metapackage whose dependency names the current kernel image package. */
export const KERNEL_METAPACKAGE = 'linux-image-amd64';

export interface PackageInfo {
  name: string;
  version: string;
  architecture: string;
  /** SHA-256 of the .deb, from the archive's index. */
  sha256: string;
}

/** Splits `apt-cache show` output into stanzas keyed by package name. */
export function parsePackageStanzas(text: string): Map<string, string> {
  const stanzas = new Map<string, string>();
  for (const stanza of text.split(/\n\s*\n/)) {
    const name = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    if (name !== undefined && !stanzas.has(name)) stanzas.set(name, stanza);
  }
  return stanzas;
}

/** Parses one `apt-cache show` stanza. */
export function parsePackageStanza(text: string, name: string): PackageInfo {
  const field = (key: string): string | undefined => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(text)?.[1];
  const version = field('Version');
  const architecture = field('Architecture');
  const sha = field('SHA256');
  if (version === undefined || architecture === undefined || sha === undefined) {
    throw new ImageBuildError(`apt-cache show ${name}: no Version/Architecture/SHA256 field (is the package known to apt? run apt-get update)`);
  }
  return { name, version, architecture, sha256: sha };
}

/** The first linux-image-* package a metapackage stanza depends on. */
export function kernelDependency(stanza: string, metapackage: string): string {
  const depends = /^Depends:\s*(.*)$/m.exec(stanza)?.[1] ?? '';
  const m = /(?:^|[,|]\s*)(linux-image-[^\s,(|]+)/.exec(depends);
  if (!m) throw new ImageBuildError(`${metapackage} depends on no linux-image-* package`);
  return m[1]!;
}

/** `apt-cache show` of candidate versions; packages apt does not know are left out. */
async function aptShow(names: readonly string[]): Promise<Map<string, string>> {
  const out = await run('apt-cache', ['show', '--no-all-versions', ...names], { okCodes: [100] });
  return parsePackageStanzas(out.stdout.toString('utf8'));
}

/**
 * What apt would download for the kernel: `name` if given, else the package
 * the metapackage depends on. `hint` (the package used last time) is looked up
 * in the same apt-cache run, which saves a second one when it is still current.
 */
export async function resolveKernelPackage(opts: { name?: string; hint?: string; metapackage?: string } = {}): Promise<PackageInfo> {
  const meta = opts.metapackage ?? KERNEL_METAPACKAGE;
  if (opts.name !== undefined) return packageInfo(opts.name);
  const stanzas = await aptShow(opts.hint !== undefined ? [meta, opts.hint] : [meta]);
  const metaStanza = stanzas.get(meta);
  if (metaStanza === undefined) throw new ImageBuildError(`package ${meta} is unknown to apt (run apt-get update?)`);
  const name = kernelDependency(metaStanza, meta);
  const stanza = stanzas.get(name);
  return stanza !== undefined ? parsePackageStanza(stanza, name) : packageInfo(name);
}

/** What apt's answers depend on: package indexes, installed packages, sources and pins. */
const APT_STATE_PATHS = ['/var/lib/apt/lists', '/var/lib/dpkg/status', '/etc/apt/sources.list', '/etc/apt/sources.list.d', '/etc/apt/preferences', '/etc/apt/preferences.d'];

/** A digest of the size and modification time of apt's state files: equal digests, equal apt answers. */
export async function aptStateDigest(paths: readonly string[] = APT_STATE_PATHS): Promise<string> {
  const seen: [string, number, number][] = [];
  const visit = async (path: string, depth: number) => {
    let st;
    try {
      st = await stat(path);
    } catch {
      return;
    }
    seen.push([path, st.size, st.mtimeMs]);
    if (st.isDirectory() && depth > 0) {
      for (const name of (await readdir(path)).sort()) await visit(`${path}/${name}`, depth - 1);
    }
  };
  for (const p of paths) await visit(p, 1);
  return sha256(canonicalJson(seen));
}

/**
 * resolveKernelPackage, remembered in `<cacheDir>/apt-kernel.json` for as
 * long as apt's state is unchanged: apt-cache parses every package index on
 * each run, which takes seconds where apt keeps no binary cache (containers).
 */
export async function resolveKernelPackageCached(cacheDir: string, opts: { name?: string; hint?: string } = {}): Promise<PackageInfo> {
  const file = join(cacheDir, 'apt-kernel.json');
  const key = sha256(canonicalJson({ state: await aptStateDigest(), name: opts.name ?? null }));
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as { key?: string; pkg?: PackageInfo };
    if (saved.key === key && saved.pkg) return saved.pkg;
  } catch {
    // no usable record: ask apt
  }
  const pkg = await resolveKernelPackage(opts);
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify({ key, pkg }, null, 2)}\n`);
  await rename(tmp, file);
  return pkg;
}

/** What apt would download for `name` (its candidate version). */
export async function packageInfo(name: string): Promise<PackageInfo> {
  const stanza = (await aptShow([name])).get(name);
  if (stanza === undefined) throw new ImageBuildError(`package ${name} is unknown to apt (run apt-get update?)`);
  return parsePackageStanza(stanza, name);
}

/**
 * The .deb of `pkg` in `<cacheDir>/debs`, downloaded with `apt-get download`
 * unless a copy with the right SHA-256 is already there.
 */
export async function downloadPackage(pkg: PackageInfo, cacheDir: string, progress: Progress): Promise<string> {
  const debDir = join(cacheDir, 'debs');
  const target = join(debDir, `${pkg.name}_${pkg.version.replace(/:/g, '%3a')}_${pkg.architecture}.deb`);
  if (await exists(target)) {
    if ((await sha256File(target)) === pkg.sha256) return target;
    progress(`${target}: checksum mismatch, downloading again`);
  }
  await mkdir(debDir, { recursive: true });
  // apt-get download writes into the current directory: give it a private one
  // so that concurrent builds never see a half-written file.
  const tmp = await mkdtemp(join(debDir, '.download-'));
  try {
    progress(`downloading ${pkg.name} ${pkg.version}`);
    await run('apt-get', ['download', '-q', `${pkg.name}=${pkg.version}`], { cwd: tmp });
    const debs = (await readdir(tmp)).filter((f) => f.endsWith('.deb'));
    if (debs.length !== 1) throw new ImageBuildError(`apt-get download ${pkg.name}: expected one .deb, found ${debs.length}`);
    const file = join(tmp, debs[0]!);
    const actual = await sha256File(file);
    if (actual !== pkg.sha256) throw new ImageBuildError(`${debs[0]}: SHA-256 ${actual} does not match the archive's ${pkg.sha256}`);
    await rename(file, target);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return target;
}

/** Unpacks a .deb's files (not its maintainer scripts) into `dir`. */
export async function extractDeb(deb: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await run('dpkg-deb', ['-x', deb, dir]);
}

/** Parses `dpkg -S` output into path -> package (architecture qualifiers dropped). */
export function parseDpkgSearch(text: string): Map<string, string> {
  const owners = new Map<string, string>();
  for (const line of text.split('\n')) {
    // "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6"; diversions start with "diversion by".
    const m = /^([^\s:]+)(?::[a-z0-9]+)?(?:, [^:]+)*: (\/.*)$/.exec(line);
    if (m) owners.set(m[2]!, m[1]!);
  }
  return owners;
}

/**
 * With merged /usr, /bin, /sbin and /lib* are links into /usr, but packages
 * still name their files by either form: the other spelling of a path.
 */
export function usrMergeAlias(path: string): string | undefined {
  const m = /^(\/usr)?(\/(?:bin|sbin|lib|lib32|lib64|libx32)\/.*)$/.exec(path);
  if (!m) return undefined;
  return m[1] ? m[2] : `/usr${m[2]}`;
}

/** The installed package owning each path (paths that no package owns are left out). */
export async function owningPackages(paths: readonly string[]): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  if (paths.length === 0) return result;
  const queries = [...new Set(paths.flatMap((p) => [p, usrMergeAlias(p)].filter((q): q is string => q !== undefined)))];
  const out = await run('dpkg', ['-S', ...queries], { okCodes: [1] });
  const owners = parseDpkgSearch(out.stdout.toString('utf8'));
  for (const p of paths) {
    const alias = usrMergeAlias(p);
    const owner = owners.get(p) ?? (alias !== undefined ? owners.get(alias) : undefined);
    if (owner !== undefined) result.set(p, owner);
  }
  return result;
}

/** Installed versions of packages, by name. */
export async function installedVersions(names: readonly string[]): Promise<Map<string, string>> {
  const versions = new Map<string, string>();
  if (names.length === 0) return versions;
  const out = await run('dpkg-query', ['-W', '-f', '${Package}\\t${Version}\\n', ...names], { okCodes: [1] });
  for (const line of out.stdout.toString('utf8').split('\n')) {
    const [name, version] = line.split('\t');
    if (name && version) versions.set(name, version);
  }
  return versions;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
