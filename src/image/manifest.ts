// manifest.json: what an image was built from and what came out.
//
// The inputs are summed up in `inputKey`, a SHA-256 over the configuration,
// the kernel package (name, version, archive checksum) and every input file's
// SHA-256 (checkout files by relative path, host files by absolute path).
// A build whose inputs give the same key as the manifest's is up to date.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, sha256, sha256File } from './hashing.js';
import type { PackageInfo } from './debian.js';
import type { SnapshotRecord } from './startup-snapshot.js';

export const MANIFEST_FORMAT = 1;

export interface FileInput {
  /** Checkout-relative ("src/agent/main.ts") or absolute host path ("/usr/bin/node"). */
  path: string;
  /** Hex SHA-256 of the contents, or "missing". */
  sha256: string;
  /** Size and modification time when hashed: an unchanged stat means an unchanged hash. */
  bytes?: number;
  mtimeMs?: number;
}

export interface OutputFile {
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: number;
  tool: 'kata-ts-image';
  /** ISO 8601 time the build finished. */
  builtAt: string;
  buildSeconds: number;
  inputKey: string;
  /** The build configuration (see image-config.ts). */
  config: unknown;
  kernel: { package: PackageInfo; release: string; compression: string };
  /** Debian packages whose files the guest got, with installed versions (the kernel package is above). */
  debianPackages: { name: string; version: string }[];
  npmPackages: { name: string; version: string }[];
  inputs: { files: FileInput[] };
  modules: { loadOrder: string[]; builtin: string[]; bytes: number };
  initrd: { members: number; format: 'newc' };
  /** The agent's V8 startup snapshot in the initrd (/opt/kata-ts/agent.blob), or why there is none. */
  startupSnapshot?: SnapshotRecord;
  outputs: Record<string, OutputFile>;
}

/** The key summing up a build's inputs. `files` may come in any order. */
export function computeInputKey(config: unknown, kernelPackage: PackageInfo, files: readonly FileInput[]): string {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return sha256(
    canonicalJson({
      format: MANIFEST_FORMAT,
      config,
      kernel: { name: kernelPackage.name, version: kernelPackage.version, sha256: kernelPackage.sha256 },
      files: sorted.map((f) => [f.path, f.sha256]),
    }),
  );
}

/**
 * Hashes input files; relative paths are taken from `root`. A missing file
 * hashes as "missing". A file whose size and modification time match its
 * entry in `known` keeps the known hash instead of being read again.
 */
export async function hashInputs(root: string, paths: Iterable<string>, known: readonly FileInput[] = []): Promise<FileInput[]> {
  const previous = new Map(known.map((f) => [f.path, f]));
  const unique = [...new Set(paths)].sort();
  return Promise.all(
    unique.map(async (path): Promise<FileInput> => {
      const file = path.startsWith('/') ? path : join(root, path);
      let st;
      try {
        st = await stat(file);
      } catch {
        return { path, sha256: 'missing' };
      }
      const prev = previous.get(path);
      if (prev !== undefined && prev.bytes === st.size && prev.mtimeMs === st.mtimeMs && prev.sha256 !== 'missing') {
        return prev;
      }
      return { path, sha256: await sha256File(file), bytes: st.size, mtimeMs: st.mtimeMs };
    }),
  );
}

/** The manifest in `dir`, or undefined if there is none or it is not one we can read. */
export async function readManifest(path: string): Promise<Manifest | undefined> {
  try {
    const m = JSON.parse(await readFile(path, 'utf8')) as Manifest;
    if (m.format !== MANIFEST_FORMAT || typeof m.inputKey !== 'string' || !Array.isArray(m.inputs?.files)) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

/** True if every output the manifest lists exists in `dir` with the recorded size. */
export async function outputsPresent(dir: string, manifest: Manifest): Promise<boolean> {
  const names = Object.keys(manifest.outputs ?? {});
  if (names.length === 0) return false;
  for (const name of names) {
    try {
      if ((await stat(join(dir, name))).size !== manifest.outputs[name]!.bytes) return false;
    } catch {
      return false;
    }
  }
  return true;
}
