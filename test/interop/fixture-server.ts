// Handlers that answer with the interop fixture, mirroring what the Go peer's
// server mode does (interop/go/server.go), so the same checks pass against
// either server:
// - Health.Check answers SERVING (the benchmarks' latency probe);
// - Health.Version answers the fixture, or with service "metadata" echoes the
//   request metadata as sorted "key=value" pairs joined by ";";
// - GetGuestDetails and CreateContainer compare the request with the fixture
//   and answer INVALID_ARGUMENT naming the first field that differs;
// - WaitProcess sleeps for the Go-style duration in exec_id and answers, in
//   status, the milliseconds that were left before the call's deadline when
//   it began (-1 without one).
import { setTimeout as sleep } from 'node:timers/promises';
import type { DescMessage } from '@bufbuild/protobuf';

import {
  AgentService,
  CreateContainerRequestSchema,
  GuestDetailsRequestSchema,
  type CreateContainerRequest,
} from '../../src/protocols/gen/agent_pb.js';
import { Health, HealthCheckResponse_ServingStatus } from '../../src/protocols/gen/health_pb.js';
import { Code, TtrpcError, type Metadata, type Server } from '../../src/ttrpc/index.js';
import { firstDifference, type AgentFixture } from './agent-fixture.js';

export interface FixtureHandlerHooks {
  /** Sees every CreateContainer request as decoded, before it is checked. */
  onCreateContainer?: (request: CreateContainerRequest) => void;
}

export function registerFixtureHandlers(server: Server, fixture: AgentFixture, hooks: FixtureHandlerHooks = {}): void {
  server.register(Health, {
    check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }),
    version: (request, ctx) => {
      if (request.service === 'metadata') {
        return { grpcVersion: metadataEcho(ctx.metadata), agentVersion: 'metadata-echo' };
      }
      return fixture.VersionCheckResponse;
    },
  });

  server.register(AgentService, {
    getGuestDetails: (request) => {
      expectFixture(GuestDetailsRequestSchema, fixture.GuestDetailsRequest, request);
      return fixture.GuestDetailsResponse;
    },
    createContainer: (request) => {
      hooks.onCreateContainer?.(request);
      expectFixture(CreateContainerRequestSchema, fixture.CreateContainerRequest, request);
      return {};
    },
    waitProcess: async (request, ctx) => {
      const sleepMs = parseGoDuration(request.execId);
      const left = ctx.deadline === undefined ? -1 : Math.floor(ctx.deadline - Date.now());
      // The server itself answers DEADLINE_EXCEEDED when the deadline passes;
      // the aborted sleep just ends this handler.
      await sleep(sleepMs, undefined, { signal: ctx.signal }).catch(() => {});
      return { status: left };
    },
  });
}

function expectFixture(schema: DescMessage, want: object, got: object): void {
  const difference = firstDifference(schema, want, got);
  if (difference !== undefined) {
    throw new TtrpcError(Code.INVALID_ARGUMENT, `${schema.name} field ${difference}`);
  }
}

/** "a=1;b=2;b=3": every metadata pair, sorted. */
export function metadataEcho(metadata: Metadata): string {
  const pairs: string[] = [];
  for (const [key, values] of metadata) for (const value of values) pairs.push(`${key}=${value}`);
  return pairs.sort().join(';');
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a one-unit Go duration such as "250ms", "10s" or "0s". */
export function parseGoDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(text);
  if (match === null) {
    throw new TtrpcError(Code.INVALID_ARGUMENT, `exec_id: want a duration such as "250ms", got ${JSON.stringify(text)}`);
  }
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}
