// Unit tests of src/protocols/any.ts: Anys with containerd's type URLs.
// (containerd-go-interop.test.ts checks the same URLs against containerd's
// own typeurl package.)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { AnySchema, anyPack } from '@bufbuild/protobuf/wkt';

import { FieldError } from '../../src/common/status-error.js';
import {
  anyHolds,
  anyTypeName,
  containerdRegistry,
  containerdTypeUrl,
  packAny,
  packJsonAny,
  packTaskEvent,
  RUNTIME_SPEC_TYPE_URLS,
  TASK_EVENT_TOPICS,
  unpackAny,
  unpackAnyOf,
  unpackJsonAny,
} from '../../src/protocols/any.js';
import { MetricsSchema as CgroupsV1MetricsSchema } from '../../src/protocols/gen/containerd/cgroups/stats/v1/metrics_pb.js';
import {
  file_containerd_events_task,
  TaskExitSchema,
  TaskIOSchema,
  TaskOOMSchema,
} from '../../src/protocols/gen/containerd/events/task_pb.js';
import { StateResponseSchema } from '../../src/protocols/gen/containerd/runtime/v2/task/shim_pb.js';

/** Asserts that fn throws an INVALID_ARGUMENT FieldError for `field` whose message matches `detail`. */
function throwsFieldError(fn: () => unknown, field: string, detail: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FieldError, `want a FieldError, got ${String(err)}`);
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.equal(err.field, field);
    assert.match(err.message, detail);
    return true;
  });
}

describe('protobuf Anys with containerd type URLs', () => {
  test('packAny writes the bare message name, unlike protobuf-es anyPack', () => {
    const exit = create(TaskExitSchema, { containerId: 'c1', pid: 42, exitStatus: 3 });
    const any = packAny(TaskExitSchema, exit);
    assert.equal(any.typeUrl, 'containerd.events.TaskExit');
    assert.deepEqual(any.value, toBinary(TaskExitSchema, exit));
    // The library's own helper prefixes the name, which containerd 1.6 does
    // not understand; that is why packAny exists.
    assert.equal(anyPack(TaskExitSchema, exit).typeUrl, 'type.googleapis.com/containerd.events.TaskExit');
    // An init object works as well as a message.
    assert.deepEqual(packAny(TaskExitSchema, { containerId: 'c1', pid: 42, exitStatus: 3 }), any);
    assert.equal(containerdTypeUrl(CgroupsV1MetricsSchema), 'io.containerd.cgroups.v1.Metrics');
  });

  test('unpackAny reads bare and prefixed type URLs', () => {
    const any = packAny(TaskExitSchema, { containerId: 'c1', pid: 42 });
    assert.equal(unpackAny(any, TaskExitSchema, 'event').pid, 42);
    const prefixed = create(AnySchema, { typeUrl: `type.googleapis.com/${any.typeUrl}`, value: any.value });
    assert.equal(unpackAny(prefixed, TaskExitSchema, 'event').containerId, 'c1');
    assert.equal(anyTypeName(prefixed), 'containerd.events.TaskExit');
    assert.ok(anyHolds(prefixed, TaskExitSchema));
    assert.ok(!anyHolds(any, TaskOOMSchema));
    assert.ok(!anyHolds(undefined, TaskExitSchema));
  });

  test('unpackAny rejects a missing Any, another type and bad bytes, naming the field', () => {
    throwsFieldError(() => unpackAny(undefined, TaskExitSchema, 'envelope.event'), 'envelope.event', /missing, expected a containerd\.events\.TaskExit/);
    throwsFieldError(() => unpackAny(create(AnySchema), TaskExitSchema, 'stats'), 'stats', /missing/);
    const oom = packAny(TaskOOMSchema, { containerId: 'c1' });
    throwsFieldError(() => unpackAny(oom, TaskExitSchema, 'event'), 'event', /"containerd\.events\.TaskOOM" is not containerd\.events\.TaskExit/);
    const junk = create(AnySchema, { typeUrl: 'containerd.events.TaskExit', value: new Uint8Array([0x0a, 0x05, 0x61]) });
    throwsFieldError(() => unpackAny(junk, TaskExitSchema, 'event'), 'event', /invalid containerd\.events\.TaskExit/);
  });

  test('unpackAnyOf decodes any type of the registry and leaves others alone', () => {
    const stats = packAny(CgroupsV1MetricsSchema, { pids: { current: 3n, limit: 10n } });
    const decoded = unpackAnyOf(stats, 'stats');
    assert.equal(decoded?.$typeName, 'io.containerd.cgroups.v1.Metrics');
    assert.equal(unpackAnyOf(create(AnySchema, { typeUrl: 'containerd.runc.v1.Options', value: new Uint8Array() }), 'options'), undefined);
    assert.equal(unpackAnyOf(undefined, 'options'), undefined);
    for (const name of [
      'containerd.task.v2.CreateTaskRequest',
      'containerd.events.TaskExit',
      'containerd.services.events.ttrpc.v1.Envelope',
      'containerd.types.Metric',
      'containerd.types.Mount',
      'containerd.v1.types.ProcessInfo',
      'io.containerd.cgroups.v1.Metrics',
      'io.containerd.cgroups.v2.Metrics',
    ]) {
      assert.ok(containerdRegistry.getMessage(name), `${name} missing from containerdRegistry`);
    }
  });

  test('JSON-valued Anys round-trip under the runtime-spec type URLs', () => {
    assert.equal(RUNTIME_SPEC_TYPE_URLS.process, 'types.containerd.io/opencontainers/runtime-spec/1/Process');
    assert.equal(RUNTIME_SPEC_TYPE_URLS.linuxResources, 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources');
    const process = { args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 } };
    const any = packJsonAny(RUNTIME_SPEC_TYPE_URLS.process, process);
    assert.equal(any.typeUrl, RUNTIME_SPEC_TYPE_URLS.process);
    assert.equal(new TextDecoder().decode(any.value), JSON.stringify(process));
    assert.deepEqual(unpackJsonAny(any, RUNTIME_SPEC_TYPE_URLS.process, 'spec'), process);
    assert.throws(() => packJsonAny(RUNTIME_SPEC_TYPE_URLS.process, undefined), TypeError);
  });

  test('unpackJsonAny rejects a missing Any, another URL, bad text and bad JSON', () => {
    const url = RUNTIME_SPEC_TYPE_URLS.linuxResources;
    throwsFieldError(() => unpackJsonAny(undefined, url, 'resources'), 'resources', /missing, expected types\.containerd\.io/);
    const proc = packJsonAny(RUNTIME_SPEC_TYPE_URLS.process, {});
    throwsFieldError(() => unpackJsonAny(proc, url, 'resources'), 'resources', /\/Process" is not .*\/LinuxResources/);
    // Only the exact URL counts: the "last segment" rule of protobuf Anys
    // does not apply to these.
    const other = create(AnySchema, { typeUrl: 'example.com/LinuxResources', value: new TextEncoder().encode('{}') });
    throwsFieldError(() => unpackJsonAny(other, url, 'resources'), 'resources', /is not/);
    const latin1 = create(AnySchema, { typeUrl: url, value: new Uint8Array([0x7b, 0xff, 0x7d]) });
    throwsFieldError(() => unpackJsonAny(latin1, url, 'resources'), 'resources', /not UTF-8/);
    const broken = create(AnySchema, { typeUrl: url, value: new TextEncoder().encode('{"memory":') });
    throwsFieldError(() => unpackJsonAny(broken, url, 'resources'), 'resources', /not valid JSON/);
  });

  test('every task event has its containerd topic', () => {
    const events = file_containerd_events_task.messages.filter((m) => m.typeName !== TaskIOSchema.typeName);
    assert.deepEqual(Object.keys(TASK_EVENT_TOPICS).sort(), events.map((m) => m.typeName).sort());
    assert.deepEqual(
      Object.values(TASK_EVENT_TOPICS).sort(),
      [
        '/tasks/checkpointed',
        '/tasks/create',
        '/tasks/delete',
        '/tasks/exec-added',
        '/tasks/exec-started',
        '/tasks/exit',
        '/tasks/oom',
        '/tasks/paused',
        '/tasks/resumed',
        '/tasks/start',
      ],
    );
    const { topic, event } = packTaskEvent(TaskOOMSchema, { containerId: 'c1' });
    assert.equal(topic, '/tasks/oom');
    assert.equal(event.typeUrl, 'containerd.events.TaskOOM');
    assert.equal(unpackAny(event, TaskOOMSchema, 'event').containerId, 'c1');
    assert.throws(() => packTaskEvent(StateResponseSchema, {}), /containerd\.task\.v2\.StateResponse is not a containerd task event/);
  });
});
