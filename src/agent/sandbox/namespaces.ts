// Whether the agent may change machine-wide settings (hostname, the mount of
// /etc/resolv.conf). In the VM the agent is pid 1 and owns the guest; run
// directly on a host ("host mode") it must not change the host's own
// settings, so it only does where it runs in namespaces of its own.
import { readlink } from 'node:fs/promises';

export type NamespaceKind = 'uts' | 'mnt' | 'pid' | 'net';

/** True when the agent is init, or its `kind` namespace differs from init's. */
export async function ownsNamespace(kind: NamespaceKind, procRoot = '/proc'): Promise<boolean> {
  if (process.pid === 1) return true;
  try {
    const [mine, init] = await Promise.all([readlink(`${procRoot}/self/ns/${kind}`), readlink(`${procRoot}/1/ns/${kind}`)]);
    return mine !== init;
  } catch {
    return false; // cannot tell: be careful
  }
}
