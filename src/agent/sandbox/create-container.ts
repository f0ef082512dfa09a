// CreateContainer, the agent's main job, in the order the Kata agent does it:
//
//   1. every hot-plugged device is found (waiting for its uevent) and turned
//      into an update; nothing is written to the spec yet;
//   2. the updates are applied to the spec in ONE step by the remapping
//      library, which resolves every lookup against the original spec (host
//      and guest numbers overlap; see docs/device-remapping.md), then the
//      PCIDEVICE_* variables are translated and the guest's root disk denied;
//   3. the container's storages are mounted (reference-counted);
//   4. the OCI runtime creates the container; its init waits for StartContainer.
//
// A failure at any step undoes the earlier ones: nothing is left behind.
import type { Spec } from '../../oci/spec.js';
import { remapSpecDevices, withGuestRootDenyRule, readGuestRootDevice } from '../../oci/devices/index.js';
import { withPciDeviceEnv } from '../../oci/pci/index.js';
import { collectDeviceUpdates } from '../device/collect.js';
import type { DeviceRequest } from '../device/handler.js';
import { createContainer as createOciContainer } from '../container/create.js';
import { ContainerError } from '../container/errors.js';
import { validateContainerId, validateExecId } from '../container/validate.js';
import { cgroupOfPid } from '../cgroups/index.js';
import type { Storage } from '../../protocols/gen/agent_pb.js';
import type { Sandbox } from './sandbox.js';
import { appendGuestHooks } from './guest-hooks.js';

export interface CreateContainerInput {
  containerId: string;
  execId: string;
  devices: readonly DeviceRequest[];
  storages: readonly Storage[];
  spec: Spec;
  /** Join the sandbox's pid namespace (CreateContainerRequest.sandbox_pidns). */
  sandboxPidns: boolean;
}

/** Applies steps 1-2 to `spec`: the spec the container will actually get. */
export async function prepareSpec(sandbox: Sandbox, input: CreateContainerInput): Promise<Spec> {
  const { updates, pciMap } = await collectDeviceUpdates(input.devices, sandbox.deviceContext());
  let spec = remapSpecDevices(input.spec, updates);
  spec = withPciDeviceEnv(spec, pciMap.size > 0 ? pciMap : undefined);
  if (pciMap.size > 0) sandbox.pciMaps.set(input.containerId, pciMap);
  if (spec.linux) spec = withGuestRootDenyRule(spec, await readGuestRootDevice());
  if (input.sandboxPidns) spec = joinSandboxPidNamespace(sandbox, spec);
  if (sandbox.guestHooks) spec = appendGuestHooks(spec, sandbox.guestHooks);
  return spec;
}

/** Points the spec's pid namespace at the sandbox's (CreateContainerRequest.sandbox_pidns). */
function joinSandboxPidNamespace(sandbox: Sandbox, spec: Spec): Spec {
  const ns = sandbox.pidNamespace;
  if (!ns) throw new ContainerError('FAILED_PRECONDITION', 'sandbox_pidns: the sandbox has no pid namespace (CreateSandbox was not asked for one)');
  const namespaces = (spec.linux?.namespaces ?? []).filter((n) => n.type !== 'pid');
  return { ...spec, linux: { ...spec.linux, namespaces: [...namespaces, { type: 'pid', path: ns.nsPath }] } };
}

export async function createContainer(sandbox: Sandbox, input: CreateContainerInput): Promise<void> {
  validateContainerId(input.containerId);
  validateExecId(input.execId || input.containerId);
  const id = input.containerId;
  if (sandbox.containers.has(id) || sandbox.creating.has(id)) {
    throw new ContainerError('ALREADY_EXISTS', `container_id: container ${JSON.stringify(id)} already exists`);
  }
  sandbox.creating.add(id);
  let storagesAdded = false;
  try {
    const spec = await prepareSpec(sandbox, input);
    if (input.storages.length > 0) {
      await sandbox.storages.add(input.storages, id);
      storagesAdded = true;
    }
    const container = await createOciContainer(sandbox.containerCtx, { id, execId: input.execId || id, spec });
    sandbox.containers.set(id, container);
    try {
      await sandbox.oom.register(id, await cgroupOfPid(container.init.pid));
    } catch (err) {
      // Stats and OOM events need the cgroup; the container works without them.
      sandbox.logger.warn({ err, container: id }, 'cannot watch the container for OOM kills');
    }
  } catch (err) {
    sandbox.pciMaps.delete(id);
    if (storagesAdded) await sandbox.storages.release(id).catch((e: unknown) => sandbox.logger.warn({ err: e }, 'storage rollback failed'));
    throw err;
  } finally {
    sandbox.creating.delete(id);
  }
}
