// Puts the agent together: a ttRPC server carrying grpc.Health and
// grpc.AgentService, listening on the configured address.
import { Server, type Listener } from '../ttrpc/index.js';
import { Health } from '../protocols/gen/health_pb.js';
import { AgentService } from '../protocols/gen/agent_pb.js';
import type { AgentConfig } from './config.js';
import type { Logger } from '../common/logger.js';
import { healthService } from './rpc/health-service.js';
import { agentService } from './rpc/agent-service.js';
import { guestRpcs } from './rpc/guest-rpcs.js';

export interface RunningAgent {
  /** The address actually listened on, in URI form. */
  readonly address: string;
  /** Stops listening, ends every connection and waits for handlers to return. */
  close(): Promise<void>;
}

export interface AgentEnvironment {
  /** sysfs root; "/sys" except in tests. */
  sysfsRoot?: string;
}

export async function startAgent(config: AgentConfig, logger: Logger, env: AgentEnvironment = {}): Promise<RunningAgent> {
  const server = new Server({ logger });
  server.register(Health, healthService());
  server.register(
    AgentService,
    agentService({
      ...guestRpcs({
        sysfsRoot: env.sysfsRoot ?? '/sys',
        deviceHandlers: () => [],
        storageHandlers: () => [],
      }),
    }),
  );

  let listener: Listener;
  try {
    listener = await server.listen(config.serverAddr);
  } catch (err) {
    await server.close();
    throw err;
  }
  logger.info({ address: listener.address }, 'agent listening');
  return {
    address: listener.address,
    close: () => server.close(),
  };
}
