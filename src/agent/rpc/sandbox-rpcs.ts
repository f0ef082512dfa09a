// Sandbox-wide and guest-wide RPCs: thin wrappers over src/agent/sandbox and
// src/agent/guest.
import { createSandbox } from '../sandbox/create-sandbox.js';
import { ownsMachine } from '../sandbox/namespaces.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { onlineCpuMem, memHotplugByProbe } from '../guest/cpu-mem.js';
import { setGuestDateTime } from '../guest/clock.js';
import { reseedRandomDev } from '../guest/random.js';
import { copyFile } from '../guest/copy-file.js';
import type { AgentServiceImpl } from './agent-service.js';
import { translated } from './errors.js';
import { Code, TtrpcError } from '../../ttrpc/index.js';

export function sandboxRpcs(sandbox: Sandbox): AgentServiceImpl {
  return {
    createSandbox: (req) =>
      translated(async () => {
        await createSandbox(sandbox, {
          sandboxId: req.sandboxId,
          hostname: req.hostname,
          dns: req.dns,
          storages: req.storages,
          sandboxPidns: req.sandboxPidns,
          guestHookPath: req.guestHookPath,
          kernelModules: req.kernelModules,
        });
        return {};
      }),

    destroySandbox: () =>
      translated(async () => {
        await sandbox.teardown();
        return {};
      }),

    onlineCPUMem: (req) =>
      translated(async () => {
        await onlineCpuMem({ nbCpus: req.nbCpus, cpuOnly: req.cpuOnly }, { sysfsRoot: sandbox.sysfsRoot });
        return {};
      }),

    memHotplugByProbe: (req) =>
      translated(async () => {
        await memHotplugByProbe(req.memHotplugProbeAddr, { sysfsRoot: sandbox.sysfsRoot });
        return {};
      }),

    setGuestDateTime: (req) =>
      translated(async () => {
        // The realtime clock is not namespaced: on a host it is the host's.
        if (!ownsMachine()) {
          throw new TtrpcError(Code.FAILED_PRECONDITION, 'SetGuestDateTime: the agent is not the guest\'s own (host mode); refusing to set the host clock');
        }
        await setGuestDateTime(req.Sec, req.Usec);
        return {};
      }),

    reseedRandomDev: (req) =>
      translated(async () => {
        await reseedRandomDev(req.data);
        return {};
      }),

    copyFile: (req) =>
      translated(async () => {
        await copyFile(
          { path: req.path, fileSize: req.fileSize, fileMode: req.fileMode, dirMode: req.dirMode, uid: req.uid, gid: req.gid, offset: req.offset, data: req.data },
          { root: sandbox.config.stateDir },
        );
        return {};
      }),
  };
}
