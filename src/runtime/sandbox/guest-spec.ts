// The container's OCI spec as the agent must see it, in the spirit of Kata's
// constraintGRPCSpec: what names host things is removed or rewritten.
//
// - root.path becomes the guest path of the shared rootfs,
//   /run/kata-containers/shared/containers/<cid>/rootfs;
// - hooks are dropped (they are host programs);
// - ociVersion becomes GUEST_OCI_VERSION: the guest's crun (1.8) refuses a
//   version without "1.0" in it, and what it runs is the same for any 1.x;
// - the cgroup namespace is removed (the agent makes the cgroups); the
//   network namespace becomes the guest's own (the VM is the pod's network,
//   and crun wants the entry for net.* sysctls); other namespaces lose their
//   path (host paths mean nothing in the guest). A pid namespace with a path
//   means "share the sandbox's": when the sandbox has one it is removed and
//   reported as sandboxPidns, otherwise the container gets a new one;
// - cpuset cpus/mems (the host's numbering) and kernel memory limits (none
//   in the guest's cgroup v2) are dropped;
// - resources that name host devices or host limits (pids, blockIO,
//   hugepageLimits, network) are dropped; linux.resources.devices stay, with
//   the host numbers: the agent rewrites them to the guest's;
// - a systemd cgroupsPath "slice:prefix:name" becomes "/prefix/name";
// - seccomp stays only if the agent supports it; process.selinuxLabel goes;
// - an annotation tells our agent that device-rule wildcards are sent as -1,
//   so a rule for a real minor 0 (b 254:0) keeps its meaning.
//
// Pure: the input spec is not modified.
import type { Spec } from '../../oci/spec.js';
import { DEVICE_RULE_WILDCARD_ANNOTATION } from '../../oci/annotations.js';

/** Where the guest mounts the shared filesystem (CreateSandbox's storage). */
export const GUEST_SHARED_DIR = '/run/kata-containers/shared/containers/';

/** The guest path of a container's rootfs on the shared filesystem. */
export function guestRootfsPath(containerId: string): string {
  return `${GUEST_SHARED_DIR}${containerId}/rootfs`;
}

export interface GuestSpecOptions {
  containerId: string;
  /** GetGuestDetails' agent_details.supports_seccomp. */
  seccompSupported: boolean;
  /** The spec's bind mounts rewritten to guest paths (index in spec.mounts -> guest source). */
  mountSources?: ReadonlyMap<number, string>;
  /** Whether the sandbox has a pid namespace containers can share (CreateSandbox's sandbox_pidns). */
  sandboxPidns?: boolean;
}

export interface GuestSpec {
  spec: Spec;
  /** CreateContainerRequest.sandbox_pidns. */
  sandboxPidns: boolean;
}

const DROPPED_NAMESPACES = new Set(['cgroup']);

/** The guest's own network namespace, as the OCI runtime in the guest resolves it. */
export const GUEST_OWN_NETNS = '/proc/self/ns/net';

/** "system.slice:docker:abc" -> "/docker/abc"; other paths unchanged. */
export function systemdCgroupsPathToFs(path: string): string {
  const parts = path.split(':');
  if (parts.length !== 3 || path.startsWith('/')) return path;
  return `/${parts[1]}/${parts[2]}`;
}

/** The spec version the guest's OCI runtime is given. */
export const GUEST_OCI_VERSION = '1.0.2-dev';

export function toGuestSpec(input: Spec, opts: GuestSpecOptions): GuestSpec {
  const spec = structuredClone(input);
  let sandboxPidns = false;

  spec.root = { ...(spec.root ?? {}), path: guestRootfsPath(opts.containerId) };
  spec.ociVersion = GUEST_OCI_VERSION;
  delete spec.hooks;
  if (spec.process) delete spec.process.selinuxLabel;

  if (opts.mountSources && spec.mounts) {
    spec.mounts = spec.mounts.map((m, i) => {
      const source = opts.mountSources!.get(i);
      return source === undefined ? m : { ...m, source };
    });
  }

  const linux = spec.linux;
  if (linux) {
    if (linux.namespaces) {
      const kept = [];
      for (const ns of linux.namespaces) {
        if (ns.type === 'network') {
          // The guest's network namespace is the pod's: the container joins
          // it (crun wants a network entry for net.* sysctls).
          kept.push({ type: 'network', path: GUEST_OWN_NETNS });
          continue;
        }
        if (DROPPED_NAMESPACES.has(ns.type)) continue;
        if (ns.type === 'pid' && ns.path && opts.sandboxPidns) {
          sandboxPidns = true;
          continue;
        }
        const { path: _hostPath, ...rest } = ns;
        kept.push(rest);
      }
      linux.namespaces = kept;
    }
    if (linux.resources) {
      // CPUs and memory nodes are the host's numbering; the guest has its own
      // (as Kata). cgroup v2 in the guest has no kernel memory limits.
      if (linux.resources.cpu) {
        delete linux.resources.cpu.cpus;
        delete linux.resources.cpu.mems;
      }
      if (linux.resources.memory) {
        delete linux.resources.memory.kernel;
        delete linux.resources.memory.kernelTCP;
      }
      delete linux.resources.pids;
      delete linux.resources.blockIO;
      delete linux.resources.hugepageLimits;
      delete linux.resources.network;
    }
    if (linux.cgroupsPath !== undefined) linux.cgroupsPath = systemdCgroupsPathToFs(linux.cgroupsPath);
    if (!opts.seccompSupported) delete linux.seccomp;
  }
  spec.annotations = { ...(spec.annotations ?? {}), [DEVICE_RULE_WILDCARD_ANNOTATION]: '-1' };
  return { spec, sandboxPidns };
}
