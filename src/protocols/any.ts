// Packing and unpacking google.protobuf.Any the way containerd 1.6 does.
//
// What containerd puts in an Any's type_url (checked against containerd
// 1.6.20 and its typeurl package, see test/protocols/containerd-*.test.ts):
//
// - A protobuf message travels under its bare full name, with no
//   "type.googleapis.com/" prefix: "containerd.events.TaskExit",
//   "io.containerd.cgroups.v1.Metrics", "containerd.runc.v1.Options".
//   containerd looks a received type URL up by exact string in the registry
//   of its generated Go types, so a prefixed URL is NOT understood: an event
//   published with "type.googleapis.com/containerd.events.TaskExit" is not
//   decoded by containerd's subscribers (the CRI plugin, `ctr events`), and
//   `ctr task metrics` fails on stats packed that way. protobuf-es's own
//   anyPack adds that prefix, hence packAny below.
// - A few non-protobuf structs travel as JSON under URLs that containerd
//   registers by hand: the OCI runtime-spec types
//   "types.containerd.io/opencontainers/runtime-spec/1/<Type>" (Spec,
//   Process, LinuxResources, WindowsResources). containerd sends an exec's
//   process as .../Process (ExecProcessRequest.spec) and new limits as
//   .../LinuxResources (UpdateTaskRequest.resources).
// - What a shim returns from Stats is passed through to clients untouched;
//   `ctr task metrics` unpacks it with the same registry and accepts only
//   "io.containerd.cgroups.v1.Metrics" and "io.containerd.cgroups.v2.Metrics"
//   (anything else: "cannot convert metric data"). Its table output reads
//   memory.usage and cpu.usage of a v1 Metrics without checking them, so
//   always set those when memory or cpu is set.
//
// When reading, the helpers here accept the bare name and also any
// "<prefix>/<name>" form (what the Any specification allows), so that
// messages from other peers decode; when writing they always use the bare
// name.
import { create, createRegistry, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, MessageInitShape, MessageShape, Registry } from '@bufbuild/protobuf';
import { AnySchema, type Any } from '@bufbuild/protobuf/wkt';

import { FieldError } from '../common/status-error.js';
import { file_containerd_cgroups_stats_v1_metrics } from './gen/containerd/cgroups/stats/v1/metrics_pb.js';
import { file_containerd_cgroups_v2_stats_metrics } from './gen/containerd/cgroups/v2/stats/metrics_pb.js';
import {
  file_containerd_events_task,
  TaskCheckpointedSchema,
  TaskCreateSchema,
  TaskDeleteSchema,
  TaskExecAddedSchema,
  TaskExecStartedSchema,
  TaskExitSchema,
  TaskOOMSchema,
  TaskPausedSchema,
  TaskResumedSchema,
  TaskStartSchema,
} from './gen/containerd/events/task_pb.js';
import { file_containerd_runtime_v2_task_shim } from './gen/containerd/runtime/v2/task/shim_pb.js';
import { file_containerd_services_ttrpc_events_v1_events } from './gen/containerd/services/ttrpc/events/v1/events_pb.js';
import { file_containerd_types_metrics } from './gen/containerd/types/metrics_pb.js';
import { file_containerd_types_mount } from './gen/containerd/types/mount_pb.js';
import { file_containerd_types_task_task } from './gen/containerd/types/task/task_pb.js';

/** Type URLs of the runtime-spec structs containerd packs as JSON. */
export const RUNTIME_SPEC_TYPE_URLS = {
  spec: 'types.containerd.io/opencontainers/runtime-spec/1/Spec',
  process: 'types.containerd.io/opencontainers/runtime-spec/1/Process',
  linuxResources: 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources',
  windowsResources: 'types.containerd.io/opencontainers/runtime-spec/1/WindowsResources',
} as const;

/**
 * Every message type of our containerd protos (task API, events, metrics,
 * cgroups stats), for decoding an Any whose type is not known in advance.
 */
export const containerdRegistry: Registry = createRegistry(
  file_containerd_runtime_v2_task_shim,
  file_containerd_events_task,
  file_containerd_services_ttrpc_events_v1_events,
  file_containerd_types_metrics,
  file_containerd_types_mount,
  file_containerd_types_task_task,
  file_containerd_cgroups_stats_v1_metrics,
  file_containerd_cgroups_v2_stats_metrics,
);

/** The type URL containerd uses for a protobuf message: its full name. */
export function containerdTypeUrl(schema: DescMessage): string {
  return schema.typeName;
}

/** The message name an Any names: the part of the type URL after the last "/". */
export function anyTypeName(any: Any): string {
  const slash = any.typeUrl.lastIndexOf('/');
  return slash >= 0 ? any.typeUrl.slice(slash + 1) : any.typeUrl;
}

/** Packs a protobuf message under its bare full name, as containerd does. */
export function packAny<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc> | MessageInitShape<Desc>,
): Any {
  const full = create(schema, message as MessageInitShape<Desc>);
  return create(AnySchema, { typeUrl: containerdTypeUrl(schema), value: toBinary(schema, full) });
}

/** Whether the Any holds a message of this type (bare or prefixed URL). */
export function anyHolds(any: Any | undefined, schema: DescMessage): boolean {
  return any !== undefined && any.typeUrl !== '' && anyTypeName(any) === schema.typeName;
}

/**
 * Unpacks a protobuf message of the expected type. `field` names the
 * request field for errors (e.g. "stats"). Throws an INVALID_ARGUMENT
 * FieldError when the Any is unset, of another type or undecodable.
 */
export function unpackAny<Desc extends DescMessage>(
  any: Any | undefined,
  schema: Desc,
  field: string,
): MessageShape<Desc> {
  if (any === undefined || any.typeUrl === '') {
    throw new FieldError('INVALID_ARGUMENT', field, `missing, expected a ${schema.typeName}`);
  }
  if (!anyHolds(any, schema)) {
    throw new FieldError('INVALID_ARGUMENT', field, `type URL "${any.typeUrl}" is not ${schema.typeName}`);
  }
  try {
    return fromBinary(schema, any.value);
  } catch (err) {
    throw new FieldError('INVALID_ARGUMENT', field, `invalid ${schema.typeName}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Unpacks an Any of any type known to `registry` (by default all our
 * containerd messages); undefined for an unset Any or an unknown type.
 * Throws an INVALID_ARGUMENT FieldError when a known type does not decode.
 */
export function unpackAnyOf(
  any: Any | undefined,
  field: string,
  registry: Registry = containerdRegistry,
): MessageShape<DescMessage> | undefined {
  if (any === undefined || any.typeUrl === '') return undefined;
  const schema = registry.getMessage(anyTypeName(any));
  if (schema === undefined) return undefined;
  return unpackAny(any, schema, field);
}

/**
 * Packs a value as JSON under a containerd type URL, e.g.
 * packJsonAny(RUNTIME_SPEC_TYPE_URLS.process, process).
 */
export function packJsonAny(typeUrl: string, value: unknown): Any {
  const json = JSON.stringify(value);
  if (json === undefined) {
    throw new TypeError(`packJsonAny(${typeUrl}): value cannot be written as JSON`);
  }
  return create(AnySchema, { typeUrl, value: new TextEncoder().encode(json) });
}

/**
 * Reads a JSON-valued Any whose type URL must be exactly `typeUrl` (these
 * URLs have no "name after the last slash" meaning). Returns the parsed JSON,
 * unchecked: validate it with the schema of the type (see src/oci).
 * Throws an INVALID_ARGUMENT FieldError when unset, of another type, or not
 * valid JSON.
 */
export function unpackJsonAny(any: Any | undefined, typeUrl: string, field: string): unknown {
  if (any === undefined || any.typeUrl === '') {
    throw new FieldError('INVALID_ARGUMENT', field, `missing, expected ${typeUrl}`);
  }
  if (any.typeUrl !== typeUrl) {
    throw new FieldError('INVALID_ARGUMENT', field, `type URL "${any.typeUrl}" is not ${typeUrl}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(any.value);
  } catch (err) {
    throw new FieldError('INVALID_ARGUMENT', field, 'value is not UTF-8 text', { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new FieldError('INVALID_ARGUMENT', field, `value is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * The topic containerd expects with each task event (the Envelope's topic
 * beside the packed event), keyed by the event's message name.
 */
export const TASK_EVENT_TOPICS: Readonly<Record<string, string>> = {
  [TaskCreateSchema.typeName]: '/tasks/create',
  [TaskStartSchema.typeName]: '/tasks/start',
  [TaskDeleteSchema.typeName]: '/tasks/delete',
  [TaskExitSchema.typeName]: '/tasks/exit',
  [TaskOOMSchema.typeName]: '/tasks/oom',
  [TaskExecAddedSchema.typeName]: '/tasks/exec-added',
  [TaskExecStartedSchema.typeName]: '/tasks/exec-started',
  [TaskPausedSchema.typeName]: '/tasks/paused',
  [TaskResumedSchema.typeName]: '/tasks/resumed',
  [TaskCheckpointedSchema.typeName]: '/tasks/checkpointed',
};

/**
 * Packs a task event for an Envelope: its topic and the event as an Any.
 * Throws a TypeError for a message that is not a task event.
 */
export function packTaskEvent<Desc extends DescMessage>(
  schema: Desc,
  event: MessageShape<Desc> | MessageInitShape<Desc>,
): { topic: string; event: Any } {
  const topic = TASK_EVENT_TOPICS[schema.typeName];
  if (topic === undefined) {
    throw new TypeError(`${schema.typeName} is not a containerd task event`);
  }
  return { topic, event: packAny(schema, event) };
}
