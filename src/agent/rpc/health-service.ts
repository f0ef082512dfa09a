// grpc.Health: liveness for the runtime's monitor, and the agent's version.
import type { ServiceImpl } from '../../ttrpc/index.js';
import { Health, HealthCheckResponse_ServingStatus } from '../../protocols/gen/health_pb.js';
import { AGENT_API_VERSION, KATA_TS_VERSION } from '../../common/version.js';

export function healthService(): ServiceImpl<typeof Health> {
  return {
    check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }),
    version: () => ({ grpcVersion: AGENT_API_VERSION, agentVersion: KATA_TS_VERSION }),
  };
}
