// What the configured guest image is: its files, and what its manifest
// (written by kata-ts-image next to the kernel) says about the guest kernel
// and the programs and libraries that went into it. Used by `check`, `env`
// and `features`.
import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { IMAGE_FILES } from '../../image/paths.js';
import { readManifest } from '../../image/manifest.js';
import type { RuntimeConfig } from '../config/schema.js';

export interface ImageFile {
  path: string;
  /** A readable regular file. */
  present: boolean;
  bytes?: number;
}

export interface ImageFacts {
  kernel: ImageFile;
  initrd: ImageFile;
  /** manifest.json beside the kernel; undefined when there is none (an image not built by kata-ts-image). */
  manifest?: {
    path: string;
    builtAt: string;
    /** The guest kernel's release, e.g. "6.1.0-56-amd64". */
    kernelRelease: string;
    /** The Debian package the kernel came from, with its version. */
    kernelPackage: string;
    /** The OCI runtime the agent drives in the guest (a path, e.g. /usr/bin/crun). */
    ociRuntime?: string;
    /** Debian packages in the guest, name -> version (Debian version strings). */
    packages: Record<string, string>;
  };
}

async function imageFile(path: string): Promise<ImageFile> {
  try {
    const st = await stat(path);
    await access(path, fsConstants.R_OK);
    return { path, present: st.isFile(), bytes: st.size };
  } catch {
    return { path, present: false };
  }
}

/** Looks at the image files `config` names, and the manifest beside the kernel. */
export async function readImageFacts(config: RuntimeConfig): Promise<ImageFacts> {
  const [kernel, initrd] = await Promise.all([imageFile(config.qemu.kernel), imageFile(config.qemu.initrd)]);
  const facts: ImageFacts = { kernel, initrd };
  const manifestPath = join(dirname(config.qemu.kernel), IMAGE_FILES.manifest);
  const m = await readManifest(manifestPath);
  if (m) {
    const config = (m.config ?? {}) as { ociRuntime?: unknown };
    facts.manifest = {
      path: manifestPath,
      builtAt: m.builtAt,
      kernelRelease: m.kernel?.release ?? 'unknown',
      kernelPackage: m.kernel?.package ? `${m.kernel.package.name} ${m.kernel.package.version}` : 'unknown',
      ...(typeof config.ociRuntime === 'string' ? { ociRuntime: config.ociRuntime } : {}),
      packages: Object.fromEntries((m.debianPackages ?? []).map((p) => [p.name, p.version])),
    };
  }
  return facts;
}

/**
 * The upstream version in a Debian version string: without the epoch and
 * the Debian revision or repack suffix ("1:2.5.4-1+deb12u1" -> "2.5.4",
 * "1.1.5+ds1-1" -> "1.1.5", "1:1.2.13.dfsg-1" -> "1.2.13").
 */
export function upstreamVersion(debianVersion: string): string {
  let v = debianVersion.replace(/^\d+:/, '');
  const dash = v.lastIndexOf('-');
  if (dash > 0) v = v.slice(0, dash);
  return v.replace(/[+~.](ds|dfsg|repack)\d*$/, '');
}

/** The guest's OCI runtime with its version from the manifest, e.g. "crun 1.8.1"; undefined without a manifest. */
export function guestOciRuntime(facts: ImageFacts): string | undefined {
  const m = facts.manifest;
  if (m?.ociRuntime === undefined) return undefined;
  const name = m.ociRuntime.split('/').pop() || m.ociRuntime;
  const version = m.packages[name];
  return version === undefined ? name : `${name} ${upstreamVersion(version)}`;
}
