// `kata-ts-runtime env`: the effective configuration and the versions of
// everything involved, as one JSON object (for bug reports and scripts).
//
// The agent's version is that of this checkout: the image builder bundles
// the agent from the same tree (the manifest says when it did).
import { arch, release } from 'node:os';
import { AGENT_API_VERSION, KATA_TS_VERSION } from '../../common/version.js';
import type { RuntimeConfig } from '../config/schema.js';
import { guestOciRuntime, readImageFacts, type ImageFile } from './image-facts.js';
import { queryQemu } from './qemu-facts.js';

export interface EnvReport {
  kataTs: { version: string };
  /** The configuration in effect, every value filled in. */
  config: {
    /** The file read, or null for built-in defaults. */
    source: string | null;
    qemu: RuntimeConfig['qemu'];
    agent: RuntimeConfig['agent'];
  };
  hypervisor: {
    path: string;
    /** "7.2.22", or null when QEMU could not be run. */
    version: string | null;
    versionLine: string | null;
    accelerators: string[];
    error?: string;
  };
  image: {
    kernel: ImageFile;
    initrd: ImageFile;
    /** manifest.json, or null for an image without one. */
    manifest: string | null;
    builtAt: string | null;
    /** The guest kernel release, from the manifest. */
    kernelRelease: string | null;
    kernelPackage: string | null;
    /** The guest's OCI runtime and its version, e.g. "crun 1.8.1". */
    ociRuntime: string | null;
  };
  agent: {
    version: string;
    /** The agent API version reported by Health.Version. */
    apiVersion: string;
  };
  host: {
    kernel: string;
    arch: string;
    node: string;
  };
}

/** Collects the env report for `config` (runs QEMU once for its version). */
export async function collectEnv(config: RuntimeConfig): Promise<EnvReport> {
  const [qemu, image] = await Promise.all([queryQemu(config.qemu.path), readImageFacts(config)]);
  const m = image.manifest;
  return {
    kataTs: { version: KATA_TS_VERSION },
    config: { source: config.source ?? null, qemu: config.qemu, agent: config.agent },
    hypervisor: {
      path: config.qemu.path,
      version: qemu.version ?? null,
      versionLine: qemu.versionLine ?? null,
      accelerators: qemu.accelerators,
      ...(qemu.error !== undefined ? { error: qemu.error } : {}),
    },
    image: {
      kernel: image.kernel,
      initrd: image.initrd,
      manifest: m?.path ?? null,
      builtAt: m?.builtAt ?? null,
      kernelRelease: m?.kernelRelease ?? null,
      kernelPackage: m?.kernelPackage ?? null,
      ociRuntime: guestOciRuntime(image) ?? null,
    },
    agent: { version: KATA_TS_VERSION, apiVersion: AGENT_API_VERSION },
    host: { kernel: release(), arch: arch(), node: process.version },
  };
}
