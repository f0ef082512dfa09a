// The API calls agent-ctl knows: every method of grpc.AgentService and
// grpc.Health by its RPC name, plus the names upstream's tool uses for a few.
import type { DescMethod } from '@bufbuild/protobuf';
import { AgentService } from '../protocols/gen/agent_pb.js';
import { Health } from '../protocols/gen/health_pb.js';

/** Upstream agent-ctl's spellings that differ from the RPC names. */
const ALIASES: Record<string, string> = {
  GuestDetails: 'GetGuestDetails',
  GetIptables: 'GetIPTables',
  SetIptables: 'SetIPTables',
};

const table = new Map<string, DescMethod>();
for (const m of [...Health.methods, ...AgentService.methods]) table.set(m.name, m);

export function lookupApi(name: string): DescMethod | undefined {
  return table.get(ALIASES[name] ?? name);
}

export function apiNames(): string[] {
  return [...table.keys()].sort();
}
