// The wire-relevant facts of a protobuf file descriptor as sorted text
// lines: package, every message with its fields (name, number, label, type,
// type name, JSON name), enums with their values, and service methods with
// their input and output types. Options are left out (containerd's files
// carry gogo options that only shape Go code) except map_entry, which turns
// a nested message into a map. Two files with equal lines encode and decode
// every message the same way.
import { isFieldSet, type DescFile } from '@bufbuild/protobuf';
import {
  FieldDescriptorProtoSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';

import { file_containerd_cgroups_stats_v1_metrics } from '../../src/protocols/gen/containerd/cgroups/stats/v1/metrics_pb.js';
import { file_containerd_cgroups_v2_stats_metrics } from '../../src/protocols/gen/containerd/cgroups/v2/stats/metrics_pb.js';
import { file_containerd_events_task } from '../../src/protocols/gen/containerd/events/task_pb.js';
import { file_containerd_runtime_v2_task_shim } from '../../src/protocols/gen/containerd/runtime/v2/task/shim_pb.js';
import { file_containerd_services_ttrpc_events_v1_events } from '../../src/protocols/gen/containerd/services/ttrpc/events/v1/events_pb.js';
import { file_containerd_types_metrics } from '../../src/protocols/gen/containerd/types/metrics_pb.js';
import { file_containerd_types_mount } from '../../src/protocols/gen/containerd/types/mount_pb.js';
import { file_containerd_types_task_task } from '../../src/protocols/gen/containerd/types/task/task_pb.js';

/**
 * Our containerd files, keyed by the name under which containerd's (and
 * containerd/cgroups') generated Go code registers the same file.
 */
export const CONTAINERD_FILES: Record<string, DescFile> = {
  'github.com/containerd/containerd/api/types/mount.proto': file_containerd_types_mount,
  'github.com/containerd/containerd/api/types/metrics.proto': file_containerd_types_metrics,
  'github.com/containerd/containerd/api/types/task/task.proto': file_containerd_types_task_task,
  'github.com/containerd/containerd/runtime/v2/task/shim.proto': file_containerd_runtime_v2_task_shim,
  'github.com/containerd/containerd/api/events/task.proto': file_containerd_events_task,
  'github.com/containerd/containerd/api/services/ttrpc/events/v1/events.proto': file_containerd_services_ttrpc_events_v1_events,
  'github.com/containerd/cgroups/stats/v1/metrics.proto': file_containerd_cgroups_stats_v1_metrics,
  'github.com/containerd/cgroups/v2/stats/metrics.proto': file_containerd_cgroups_v2_stats_metrics,
};

function fieldLine(f: DescriptorProto['field'][number]): string {
  const typeName = f.typeName ? ` ${f.typeName}` : '';
  const oneof = isFieldSet(f, FieldDescriptorProtoSchema.field.oneofIndex) ? ` oneof=${f.oneofIndex}` : '';
  const optional = f.proto3Optional ? ' proto3_optional' : '';
  return `${f.name}=${f.number} label=${f.label} type=${f.type}${typeName} json=${f.jsonName}${oneof}${optional}`;
}

function messageLines(prefix: string, m: DescriptorProto): string[] {
  const name = `${prefix}.${m.name}`;
  const out = [`message ${name}${m.options?.mapEntry ? ' (map entry)' : ''}`];
  for (const f of m.field) out.push(`${name}: ${fieldLine(f)}`);
  for (const o of m.oneofDecl) out.push(`${name}: oneof ${o.name}`);
  for (const e of m.enumType) out.push(...enumLines(name, e));
  for (const n of m.nestedType) out.push(...messageLines(name, n));
  return out;
}

function enumLines(prefix: string, e: EnumDescriptorProto): string[] {
  const name = `${prefix}.${e.name}`;
  return [`enum ${name}`, ...e.value.map((v) => `${name}: ${v.name}=${v.number}`)];
}

/** The layout lines of one file, sorted. */
export function layout(file: FileDescriptorProto): string[] {
  const pkg = file.package ? `.${file.package}` : '';
  const out = [`package ${file.package}`, `syntax ${file.syntax || 'proto2'}`];
  for (const m of file.messageType) out.push(...messageLines(pkg, m));
  for (const e of file.enumType) out.push(...enumLines(pkg, e));
  for (const s of file.service) {
    for (const m of s.method) {
      const streams = `${m.clientStreaming ? ' client-streaming' : ''}${m.serverStreaming ? ' server-streaming' : ''}`;
      out.push(`service ${pkg}.${s.name}: ${m.name}(${m.inputType}) returns (${m.outputType})${streams}`);
    }
  }
  return out.sort();
}
