// Whether the agent may change machine-wide settings (hostname, the mount of
// /etc/resolv.conf, the clock). In the VM the agent owns the guest: it is
// pid 1, or it was started by the guest image's init with --guest. Run
// directly on a host ("host mode") it must not change the host's own
// settings, so it only does where it runs in namespaces of its own.
import { readlink } from 'node:fs/promises';

let guestAgent = false;

/** Declares this agent the guest's own (the --guest flag): the machine is its to configure. */
export function setGuestAgent(value: boolean): void {
  guestAgent = value;
}

/** True when the agent owns the machine: pid 1, or declared the guest's agent. */
export function ownsMachine(): boolean {
  return process.pid === 1 || guestAgent;
}

export type NamespaceKind = 'uts' | 'mnt' | 'pid' | 'net';

/** True when the agent owns the machine, or its `kind` namespace differs from init's. */
export async function ownsNamespace(kind: NamespaceKind, procRoot = '/proc'): Promise<boolean> {
  if (ownsMachine()) return true;
  try {
    const [mine, init] = await Promise.all([readlink(`${procRoot}/self/ns/${kind}`), readlink(`${procRoot}/1/ns/${kind}`)]);
    return mine !== init;
  } catch {
    return false; // cannot tell: be careful
  }
}
