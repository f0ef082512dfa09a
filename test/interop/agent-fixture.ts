// The deterministic messages of the ttRPC interop tests and benchmarks,
// loaded from interop/fixtures/agent-fixture.json. The Go peer
// (interop/go) embeds the same file and parses it with gogo's JSON reader;
// here @bufbuild/protobuf's reads it. Both then send these messages over
// ttRPC and compare what arrives against their own copy.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromJson, type DescField, type DescMessage, type JsonValue } from '@bufbuild/protobuf';

import {
  CreateContainerRequestSchema,
  GuestDetailsRequestSchema,
  GuestDetailsResponseSchema,
  type CreateContainerRequest,
  type GuestDetailsRequest,
  type GuestDetailsResponse,
} from '../../src/protocols/gen/agent_pb.js';
import {
  CheckRequestSchema,
  HealthCheckResponseSchema,
  VersionCheckResponseSchema,
  type CheckRequest,
  type HealthCheckResponse,
  type VersionCheckResponse,
} from '../../src/protocols/gen/health_pb.js';

export const FIXTURE_PATH = fileURLToPath(new URL('../../interop/fixtures/agent-fixture.json', import.meta.url));

export interface AgentFixture {
  CheckRequest: CheckRequest;
  HealthCheckResponse: HealthCheckResponse;
  VersionCheckResponse: VersionCheckResponse;
  GuestDetailsRequest: GuestDetailsRequest;
  GuestDetailsResponse: GuestDetailsResponse;
  CreateContainerRequest: CreateContainerRequest;
}

/** Reads the fixture file; each call returns fresh message objects. */
export function loadAgentFixture(path: string = FIXTURE_PATH): AgentFixture {
  const entries = JSON.parse(readFileSync(path, 'utf8')) as Record<string, JsonValue>;
  const entry = (name: string): JsonValue => {
    const value = entries[name];
    if (value === undefined) throw new Error(`${path}: no "${name}" entry`);
    return value;
  };
  return {
    CheckRequest: fromJson(CheckRequestSchema, entry('CheckRequest')),
    HealthCheckResponse: fromJson(HealthCheckResponseSchema, entry('HealthCheckResponse')),
    VersionCheckResponse: fromJson(VersionCheckResponseSchema, entry('VersionCheckResponse')),
    GuestDetailsRequest: fromJson(GuestDetailsRequestSchema, entry('GuestDetailsRequest')),
    GuestDetailsResponse: fromJson(GuestDetailsResponseSchema, entry('GuestDetailsResponse')),
    CreateContainerRequest: fromJson(CreateContainerRequestSchema, entry('CreateContainerRequest')),
  };
}

/**
 * Compares two messages of one type field by field and describes the first
 * field that differs, as a path of proto field names, e.g.
 * "OCI.Linux.Resources.Devices[0].Major: want -1, got 0" (the Go peer
 * reports mismatches in the same form). Returns undefined when equal.
 */
export function firstDifference(schema: DescMessage, want: object, got: object): string | undefined {
  return diffMessage(schema, want as Fields, got as Fields, '');
}

type Fields = Record<string, unknown>;

function diffMessage(schema: DescMessage, want: Fields, got: Fields, path: string): string | undefined {
  for (const member of schema.members) {
    if (member.kind === 'oneof') {
      const w = want[member.localName] as { case?: string; value?: unknown };
      const g = got[member.localName] as { case?: string; value?: unknown };
      const oneofPath = join(path, member.name);
      if (w.case !== g.case) {
        return `${oneofPath}: want ${w.case ?? 'unset'}, got ${g.case ?? 'unset'}`;
      }
      const field = member.fields.find((f) => f.localName === w.case);
      if (field === undefined) continue; // both unset
      const d = diffField(field, w.value, g.value, join(oneofPath, field.name));
      if (d !== undefined) return d;
      continue;
    }
    const d = diffField(member, want[member.localName], got[member.localName], join(path, member.name));
    if (d !== undefined) return d;
  }
  return undefined;
}

function diffField(field: DescField, want: unknown, got: unknown, path: string): string | undefined {
  switch (field.fieldKind) {
    case 'scalar':
    case 'enum':
      return diffScalar(want, got, path);
    case 'message':
      return diffSubMessage(field.message, want, got, path);
    case 'list': {
      const w = want as unknown[];
      const g = got as unknown[];
      if (w.length !== g.length) return `${path}: want ${w.length} elements, got ${g.length}`;
      for (let i = 0; i < w.length; i++) {
        const at = `${path}[${i}]`;
        const d = field.listKind === 'message' ? diffSubMessage(field.message, w[i], g[i], at) : diffScalar(w[i], g[i], at);
        if (d !== undefined) return d;
      }
      return undefined;
    }
    case 'map': {
      const w = want as Record<string, unknown>;
      const g = got as Record<string, unknown>;
      const keys = Object.keys(w).sort();
      if (keys.length !== Object.keys(g).length) {
        return `${path}: want ${keys.length} entries, got ${Object.keys(g).length}`;
      }
      for (const key of keys) {
        const at = `${path}[${JSON.stringify(key)}]`;
        if (!(key in g)) return `${at}: missing`;
        const d = field.mapKind === 'message' ? diffSubMessage(field.message, w[key], g[key], at) : diffScalar(w[key], g[key], at);
        if (d !== undefined) return d;
      }
      return undefined;
    }
  }
}

function diffSubMessage(schema: DescMessage, want: unknown, got: unknown, path: string): string | undefined {
  if (want === undefined || got === undefined) {
    if (want === got) return undefined;
    return `${path}: want ${want === undefined ? 'unset' : 'set'}, got ${got === undefined ? 'unset' : 'set'}`;
  }
  return diffMessage(schema, want as Fields, got as Fields, path);
}

function diffScalar(want: unknown, got: unknown, path: string): string | undefined {
  if (want instanceof Uint8Array && got instanceof Uint8Array) {
    if (want.length === got.length && want.every((byte, i) => byte === got[i])) return undefined;
  } else if (want === got) {
    return undefined;
  }
  return `${path}: want ${show(want)}, got ${show(got)}`;
}

function show(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `bytes(${value.length})`;
  return JSON.stringify(value) ?? String(value);
}

function join(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}
