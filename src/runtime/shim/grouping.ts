// Which shim serves a container. Kubernetes runs a pod's containers in one
// sandbox; the CRI plugin says which with two annotations in each
// container's spec:
//
//   io.kubernetes.cri.container-type   "sandbox" (the pause container, first)
//                                      or "container" (every other one)
//   io.kubernetes.cri.sandbox-id       the sandbox container's id
//
// The sandbox container gets a shim (and a VM) of its own; a "container"
// joins its sandbox's shim, so the whole pod shares one VM. Anything else
// (`ctr run`, a container without those annotations) has a shim and a VM
// to itself.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CRI_CONTAINER_TYPE = 'io.kubernetes.cri.container-type';
export const CRI_SANDBOX_ID = 'io.kubernetes.cri.sandbox-id';

export type Grouping =
  /** The container's own shim (a pod sandbox, or a container on its own). */
  | { kind: 'own'; groupId: string }
  /** The shim of sandbox `sandboxId`, which must be running. */
  | { kind: 'pod-member'; groupId: string; sandboxId: string };

export function groupingOf(id: string, annotations: Readonly<Record<string, string>>): Grouping {
  const type = annotations[CRI_CONTAINER_TYPE];
  const sandboxId = annotations[CRI_SANDBOX_ID];
  if (type === 'container') {
    if (sandboxId === undefined || sandboxId === '') {
      throw new Error(`annotation ${CRI_CONTAINER_TYPE}=container needs ${CRI_SANDBOX_ID} to name the pod's sandbox`);
    }
    if (sandboxId !== id) return { kind: 'pod-member', groupId: sandboxId, sandboxId };
  }
  return { kind: 'own', groupId: id };
}

export interface BundleFacts {
  annotations: Record<string, string>;
  hostname?: string;
}

/**
 * The parts of <bundle>/config.json the shim needs before containerd's
 * Create (which checks the whole spec): annotations and hostname.
 */
export function readBundleFacts(bundle: string): BundleFacts {
  const file = join(bundle, 'config.json');
  let spec: unknown;
  try {
    spec = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the bundle's spec ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof spec !== 'object' || spec === null) throw new Error(`${file}: not a JSON object`);
  const { annotations, hostname } = spec as { annotations?: unknown; hostname?: unknown };
  const out: BundleFacts = { annotations: {} };
  if (annotations !== undefined && annotations !== null) {
    if (typeof annotations !== 'object' || Array.isArray(annotations)) throw new Error(`${file}: annotations: not an object`);
    for (const [k, v] of Object.entries(annotations)) {
      if (typeof v !== 'string') throw new Error(`${file}: annotations.${k}: not a string`);
      out.annotations[k] = v;
    }
  }
  if (typeof hostname === 'string' && hostname !== '') out.hostname = hostname;
  return out;
}
