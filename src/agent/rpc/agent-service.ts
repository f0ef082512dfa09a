// grpc.AgentService: the RPC layer. It validates requests and delegates to
// the agent's modules; it holds no logic of its own. Every RPC without a
// handler answers NOT_FOUND "/grpc.AgentService/<Method> is not supported",
// as upstream's generated stubs do (the Kata runtime relies on NOT_FOUND, e.g.
// to stop polling GetOOMEvent).
import { Code, TtrpcError, type ServiceImpl, type MethodImpl } from '../../ttrpc/index.js';
import { AgentService } from '../../protocols/gen/agent_pb.js';
import type { DescMessage } from '@bufbuild/protobuf';

export type AgentServiceImpl = ServiceImpl<typeof AgentService>;

function notSupported(method: string): TtrpcError {
  return new TtrpcError(Code.NOT_FOUND, `/${AgentService.typeName}/${method} is not supported`);
}

/**
 * The full service: `implemented` handlers, and a NOT_FOUND answer for every
 * other method, so that each call gets upstream's message.
 */
export function agentService(implemented: AgentServiceImpl): AgentServiceImpl {
  const full: Record<string, MethodImpl<DescMessage, DescMessage>> = {};
  const given = implemented as Record<string, MethodImpl<DescMessage, DescMessage> | undefined>;
  for (const method of AgentService.methods) {
    const handler = given[method.localName];
    full[method.localName] =
      handler ??
      (() => {
        throw notSupported(method.name);
      });
  }
  return full as AgentServiceImpl;
}

