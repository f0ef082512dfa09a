// Namespace paths in a spec name host namespaces: the guest cannot join
// them, but a path of the wrong kind is still a bad spec, and the runtime
// spec says to refuse it. Checked on the host before anything is created.
import { readlink } from 'node:fs/promises';
import type { Spec } from '../../oci/spec.js';
import { SandboxError } from './errors.js';

/** The kernel's name for each OCI namespace type (the start of /proc/<pid>/ns/<x> link targets). */
const KERNEL_NAMES: Record<string, string> = {
  pid: 'pid',
  network: 'net',
  mount: 'mnt',
  ipc: 'ipc',
  uts: 'uts',
  user: 'user',
  cgroup: 'cgroup',
  time: 'time',
};

export async function checkNamespacePaths(spec: Spec): Promise<void> {
  for (const [i, ns] of (spec.linux?.namespaces ?? []).entries()) {
    if (!ns.path) continue;
    const field = `linux.namespaces[${i}].path`;
    let target: string;
    try {
      target = await readlink(ns.path);
    } catch (err) {
      throw new SandboxError(`${field}: ${ns.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const want = KERNEL_NAMES[ns.type];
    if (want !== undefined && !target.startsWith(`${want}:[`)) {
      throw new SandboxError(`${field}: ${ns.path} is ${target}, not a ${ns.type} namespace`);
    }
  }
}
