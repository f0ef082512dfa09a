// Reading and validating the configuration file.
//
//   const config = await loadConfig();                 // /etc/kata-ts/configuration.toml if it exists
//   const config = await loadConfig('/my/config.toml'); // this file, which must exist
//
// Errors name the file and the key: `configuration.toml: hypervisor.qemu.default_memory: must be at least 64 (MiB)`.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { DEFAULT_CONFIG_PATH, DEFAULTS, defaultImageDir, imagePaths } from './defaults.js';
import { ConfigFileSchema, type ConfigFile, type RuntimeConfig } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** "a.b[2].c" for a zod issue path. */
function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${keyPath([...issue.path, k])}: unknown key`).join('; ');
  }
  return `${keyPath(issue.path)}: ${issue.message}`;
}

/** Validates an already parsed document (the TOML as a plain object) and fills in defaults. */
export function resolveConfig(doc: unknown, source?: string): RuntimeConfig {
  const result = ConfigFileSchema.safeParse(doc);
  const where = source ?? 'configuration';
  if (!result.success) {
    throw new ConfigError(`${where}: ${result.error.issues.map(describeIssue).join('; ')}`);
  }
  return withDefaults(result.data, source);
}

function withDefaults(file: ConfigFile, source: string | undefined): RuntimeConfig {
  const q = file.hypervisor?.qemu ?? {};
  const a = file.agent ?? {};
  const image = imagePaths(defaultImageDir());
  // Relative paths in a file are taken relative to the current directory, as on a command line.
  const path = (p: string | undefined, fallback: string) => resolve(p ?? fallback);
  return {
    qemu: {
      path: q.path ?? DEFAULTS.qemuPath,
      kernel: path(q.kernel, image.kernel),
      initrd: path(q.initrd, image.initrd),
      vcpus: q.default_vcpus ?? DEFAULTS.vcpus,
      memoryMiB: q.default_memory ?? DEFAULTS.memoryMiB,
      sharedFs: q.shared_fs ?? DEFAULTS.sharedFs,
      virtioFsDaemon: q.virtio_fs_daemon ?? DEFAULTS.virtioFsDaemon,
      msize9p: q.msize_9p ?? DEFAULTS.msize9p,
      pcieRootPorts: q.pcie_root_port ?? DEFAULTS.pcieRootPorts,
      accel: q.accel ?? DEFAULTS.accel,
      kernelParams: (q.kernel_params ?? '').split(/\s+/).filter((w) => w !== ''),
      debug: q.debug ?? false,
    },
    agent: {
      dialTimeoutMs: Math.round((a.dial_timeout ?? DEFAULTS.dialTimeoutS) * 1000),
      hotplugTimeoutMs: Math.round((a.hotplug_timeout ?? DEFAULTS.hotplugTimeoutS) * 1000),
      debugConsole: a.debug_console ?? false,
      channel: a.channel ?? DEFAULTS.agentChannel,
      ...(a.vsock_guest_cid !== undefined ? { vsockGuestCid: a.vsock_guest_cid } : {}),
    },
    source,
  };
}

/** Parses TOML text; syntax errors carry the line and column. */
export function parseConfigText(text: string, source?: string): RuntimeConfig {
  let doc: unknown;
  try {
    doc = parseToml(text);
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0];
      throw new ConfigError(`${source ?? 'configuration'}:${err.line}:${err.column}: ${first}`, { cause: err });
    }
    throw err;
  }
  return resolveConfig(doc, source);
}

/**
 * Loads `file`, or the system-wide file when none is given. A missing
 * system-wide file means built-in defaults; a missing explicit file is an error.
 */
export async function loadConfig(file?: string): Promise<RuntimeConfig> {
  const path = file ?? DEFAULT_CONFIG_PATH;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (file === undefined && code === 'ENOENT') return resolveConfig({}, undefined);
    throw new ConfigError(`cannot read configuration file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseConfigText(text, path);
}
