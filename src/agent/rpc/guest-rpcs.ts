// RPCs about the guest as a whole.
import type { AgentServiceImpl } from './agent-service.js';
import { readGuestMemoryFacts } from '../guest/details.js';
import { KATA_TS_VERSION } from '../../common/version.js';
import { collectMetrics } from '../metrics/index.js';
import type { OomWatcher } from '../cgroups/index.js';
import { translated } from './errors.js';

export interface GuestRpcDeps {
  /** sysfs root ("/sys"; a fake tree in tests). */
  sysfsRoot: string;
  /** Names of the device and storage drivers this agent handles. */
  deviceHandlers(): string[];
  storageHandlers(): string[];
  /** Whether containers get seccomp filters (the OCI runtime applies them). */
  supportsSeccomp: boolean;
  oom: OomWatcher;
}

export function guestRpcs(deps: GuestRpcDeps): AgentServiceImpl {
  return {
    async getGuestDetails(req) {
      const facts = await readGuestMemoryFacts(deps.sysfsRoot);
      return {
        // Like upstream, only what was asked for is filled in.
        memBlockSizeBytes: req.memBlockSize ? facts.memBlockSizeBytes : 0n,
        supportMemHotplugProbe: req.memHotplugProbe ? facts.supportsMemHotplugProbe : false,
        agentDetails: {
          version: KATA_TS_VERSION,
          initDaemon: process.pid === 1,
          deviceHandlers: deps.deviceHandlers(),
          storageHandlers: deps.storageHandlers(),
          supportsSeccomp: deps.supportsSeccomp,
          extraFeatures: [],
        },
      };
    },

    // Blocks until some container is OOM-killed; the call's deadline or a
    // closed connection ends the wait (CANCELLED/DEADLINE_EXCEEDED).
    getOOMEvent: (_req, ctx) => translated(async () => ({ containerId: await deps.oom.nextOomEvent(ctx.signal) })),

    getMetrics: () => translated(async () => ({ metrics: await collectMetrics() })),
  };
}
