// CreateSandbox: the guest-wide setup the runtime asks for once, before any
// container: hostname, DNS, kernel modules, the sandbox's storages (the shared
// directory, the shm), a pid namespace containers may share, and the guest
// hook directory. Partial work is undone on failure.
import { setHostname, validateHostname } from './hostname.js';
import { setupSandboxDns, validateDnsLines, writeSandboxResolvConf } from './dns.js';
import { loadKernelModules, validateKernelModule } from './kernel-modules.js';
import { startSandboxPidNamespace } from './pid-namespace.js';
import { findGuestHooks, validateGuestHookPath } from './guest-hooks.js';
import { ownsNamespace } from './namespaces.js';
import { SANDBOX_OWNER } from '../storage/index.js';
import { nativeMountSyscalls } from '../mount/mount.js';
import { ContainerError } from '../container/errors.js';
import type { Storage } from '../../protocols/gen/agent_pb.js';
import type { Sandbox } from './sandbox.js';

export interface CreateSandboxInput {
  sandboxId: string;
  hostname: string;
  dns: readonly string[];
  storages: readonly Storage[];
  sandboxPidns: boolean;
  guestHookPath: string;
  kernelModules: ReadonlyArray<{ name: string; parameters: readonly string[] }>;
}

export async function createSandbox(sandbox: Sandbox, input: CreateSandboxInput): Promise<void> {
  if (sandbox.created) throw new ContainerError('ALREADY_EXISTS', `sandbox_id: the sandbox ${JSON.stringify(sandbox.sandboxId)} already exists`);
  // Validate everything first so bad input changes nothing.
  if (input.hostname !== '') validateHostname(input.hostname);
  validateDnsLines(input.dns);
  input.kernelModules.forEach((m, i) => validateKernelModule(m, i));
  if (input.guestHookPath !== '') validateGuestHookPath(input.guestHookPath);

  const log = sandbox.logger.child({ sandbox: input.sandboxId });
  let storagesAdded = false;
  try {
    if (input.hostname !== '') {
      if (await ownsNamespace('uts')) await setHostname(input.hostname);
      else log.warn({ hostname: input.hostname }, 'host mode: not changing the host\'s hostname');
    }
    if (input.dns.length > 0) {
      const stateDir = sandbox.config.stateDir;
      if (await ownsNamespace('mnt')) await setupSandboxDns(input.dns, { stateDir, mount: nativeMountSyscalls().mount });
      else await writeSandboxResolvConf(input.dns, { stateDir });
    }
    if (input.kernelModules.length > 0) await loadKernelModules(input.kernelModules);
    if (input.storages.length > 0) {
      await sandbox.storages.add(input.storages, SANDBOX_OWNER);
      storagesAdded = true;
    }
    if (input.sandboxPidns) sandbox.pidNamespace = await startSandboxPidNamespace();
    if (input.guestHookPath !== '') sandbox.guestHooks = await findGuestHooks(input.guestHookPath);
  } catch (err) {
    if (storagesAdded) await sandbox.storages.release(SANDBOX_OWNER).catch((e: unknown) => log.warn({ err: e }, 'storage rollback failed'));
    throw err;
  }
  sandbox.sandboxId = input.sandboxId;
  sandbox.hostname = input.hostname;
  sandbox.created = true;
  log.info('sandbox created');
}
