// Puts the agent together: the sandbox state, and a ttRPC server carrying
// grpc.Health and grpc.AgentService, listening on the configured address.
import { Server, parseAddress, type Listener } from '../ttrpc/index.js';
import { Health } from '../protocols/gen/health_pb.js';
import { AgentService } from '../protocols/gen/agent_pb.js';
import type { AgentConfig } from './config.js';
import type { Logger } from '../common/logger.js';
import { Sandbox } from './sandbox/sandbox.js';
import { GuestNetwork } from './network/index.js';
import { deviceHandlerNames } from './device/registry.js';
import { storageHandlerNames } from './storage/index.js';
import { healthService } from './rpc/health-service.js';
import { agentService } from './rpc/agent-service.js';
import { guestRpcs } from './rpc/guest-rpcs.js';
import { containerRpcs } from './rpc/container-rpcs.js';
import { processRpcs } from './rpc/process-rpcs.js';
import { networkRpcs } from './rpc/network-rpcs.js';
import { sandboxRpcs } from './rpc/sandbox-rpcs.js';
import { loadLateModules, NO_LATE_MODULES } from './guest/late-modules.js';
import type { MethodImpl } from '../ttrpc/index.js';
import type { DescMessage } from '@bufbuild/protobuf';
import type { AgentServiceImpl } from './rpc/agent-service.js';

/** Every handler of `impl`, run once `ready` resolves. */
function afterLateModules(ready: () => Promise<void>, impl: AgentServiceImpl): AgentServiceImpl {
  const gated: Record<string, MethodImpl<DescMessage, DescMessage>> = {};
  for (const [name, handler] of Object.entries(impl as Record<string, MethodImpl<DescMessage, DescMessage>>)) {
    gated[name] = async (request, ctx) => {
      await ready();
      return handler(request, ctx);
    };
  }
  return gated as AgentServiceImpl;
}

export interface RunningAgent {
  /** The address actually listened on, in URI form. */
  readonly address: string;
  readonly sandbox: Sandbox;
  /** Stops listening, ends every connection, waits for handlers, then tears the sandbox down. */
  close(): Promise<void>;
}

export interface AgentEnvironment {
  /** sysfs and /dev roots; the real ones except in tests. */
  sysfsRoot?: string;
  devRoot?: string;
  /** Listen for kernel uevents (default: true). */
  netlinkUevents?: boolean;
  /**
   * File listing kernel modules to insmod once listening (the guest's init
   * names it); AgentService RPCs wait for the load, Health does not.
   */
  lateModules?: string;
}

export async function startAgent(config: AgentConfig, logger: Logger, env: AgentEnvironment = {}): Promise<RunningAgent> {
  parseAddress(config.serverAddr); // a bad address fails before anything is set up
  const sandbox = await Sandbox.open({
    config,
    logger,
    sysfsRoot: env.sysfsRoot,
    devRoot: env.devRoot,
    netlinkUevents: env.netlinkUevents ?? true,
  });
  const network = new GuestNetwork(config.netns !== '' ? { netns: config.netns } : {});

  const server = new Server({ logger });
  server.register(Health, healthService());
  let lateModules = NO_LATE_MODULES;
  server.register(
    AgentService,
    afterLateModules(() => lateModules.ready(), agentService({
      ...guestRpcs({
        sysfsRoot: sandbox.sysfsRoot,
        deviceHandlers: deviceHandlerNames,
        storageHandlers: storageHandlerNames,
        supportsSeccomp: true,
        oom: sandbox.oom,
      }),
      ...containerRpcs(sandbox),
      ...processRpcs(sandbox),
      ...networkRpcs(network, () => sandbox.deviceContext()),
      ...sandboxRpcs(sandbox),
    })),
  );

  let listener: Listener;
  try {
    listener = await server.listen(config.serverAddr);
  } catch (err) {
    await server.close();
    await sandbox.destroy();
    throw err;
  }
  logger.info({ address: listener.address }, 'agent listening');
  if (env.lateModules !== undefined && env.lateModules !== '') lateModules = loadLateModules(env.lateModules, logger);
  return {
    address: listener.address,
    sandbox,
    close: async () => {
      // Handlers blocked on a container (ReadStdout on a process that never
      // ends) only return once the sandbox is torn down, and server.close()
      // waits for them: do both at once.
      await Promise.all([server.close(), sandbox.destroy()]);
    },
  };
}
