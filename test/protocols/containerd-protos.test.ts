// Facts about our containerd protos that need no Go toolchain:
// - the full layout of every file (messages, field names, numbers, types,
//   enums, service methods) equals containerd-layout.json, a snapshot that
//   containerd-go-interop.test.ts proves equal to the descriptors compiled
//   into containerd 1.6.20's and containerd/cgroups 1.0.4's Go code;
// - hand-checked names and numbers of the messages a shim uses most, the
//   method set of the Task and Events services, and byte vectors, one of
//   them as containerd's Go code marshals it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { create, fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf';

import { unpackAny } from '../../src/protocols/any.js';
import {
  CPUUsageSchema,
  MemoryStatSchema,
  MetricsSchema as CgroupsV1MetricsSchema,
} from '../../src/protocols/gen/containerd/cgroups/stats/v1/metrics_pb.js';
import { MetricsSchema as CgroupsV2MetricsSchema } from '../../src/protocols/gen/containerd/cgroups/v2/stats/metrics_pb.js';
import { TaskExitSchema } from '../../src/protocols/gen/containerd/events/task_pb.js';
import {
  CreateTaskRequestSchema,
  StateResponseSchema,
  Task,
} from '../../src/protocols/gen/containerd/runtime/v2/task/shim_pb.js';
import {
  EnvelopeSchema,
  Events,
  ForwardRequestSchema,
} from '../../src/protocols/gen/containerd/services/ttrpc/events/v1/events_pb.js';
import { MountSchema } from '../../src/protocols/gen/containerd/types/mount_pb.js';
import { Status, StatusSchema } from '../../src/protocols/gen/containerd/types/task/task_pb.js';
import { firstDifference } from './containerd-compare.js';
import { forwardRequest, stateResponse, taskExit } from './containerd-fixtures.js';
import { CONTAINERD_FILES, layout } from './containerd-layout.js';

/** "name=number" for each field, in declaration order. */
function numbering(schema: DescMessage): string[] {
  return schema.fields.map((f) => `${f.name}=${f.number}`);
}

describe('containerd protos', () => {
  test('every file has exactly the layout of containerd 1.6 (containerd-layout.json)', () => {
    const snapshot = JSON.parse(readFileSync(new URL('./containerd-layout.json', import.meta.url), 'utf8')) as Record<
      string,
      string[]
    >;
    assert.deepEqual(Object.keys(snapshot).sort(), Object.keys(CONTAINERD_FILES).sort());
    for (const [goName, file] of Object.entries(CONTAINERD_FILES)) {
      assert.deepEqual(layout(file.proto), snapshot[goName], `${file.proto.name} (containerd's ${goName})`);
    }
  });

  test('package and message names (they are also the type URLs)', () => {
    assert.equal(Task.typeName, 'containerd.task.v2.Task');
    assert.equal(Events.typeName, 'containerd.services.events.ttrpc.v1.Events');
    assert.equal(MountSchema.typeName, 'containerd.types.Mount');
    assert.equal(StatusSchema.typeName, 'containerd.v1.types.Status');
    assert.equal(TaskExitSchema.typeName, 'containerd.events.TaskExit');
    assert.equal(CgroupsV1MetricsSchema.typeName, 'io.containerd.cgroups.v1.Metrics');
    assert.equal(CgroupsV2MetricsSchema.typeName, 'io.containerd.cgroups.v2.Metrics');
  });

  test('the Task service has the 17 methods of containerd 1.6, with their types', () => {
    const methods = Object.values(Task.method).map((m) => `${m.name}(${m.input.name}) ${m.output.typeName}`);
    assert.deepEqual(methods, [
      'State(StateRequest) containerd.task.v2.StateResponse',
      'Create(CreateTaskRequest) containerd.task.v2.CreateTaskResponse',
      'Start(StartRequest) containerd.task.v2.StartResponse',
      'Delete(DeleteRequest) containerd.task.v2.DeleteResponse',
      'Pids(PidsRequest) containerd.task.v2.PidsResponse',
      'Pause(PauseRequest) google.protobuf.Empty',
      'Resume(ResumeRequest) google.protobuf.Empty',
      'Checkpoint(CheckpointTaskRequest) google.protobuf.Empty',
      'Kill(KillRequest) google.protobuf.Empty',
      'Exec(ExecProcessRequest) google.protobuf.Empty',
      'ResizePty(ResizePtyRequest) google.protobuf.Empty',
      'CloseIO(CloseIORequest) google.protobuf.Empty',
      'Update(UpdateTaskRequest) google.protobuf.Empty',
      'Wait(WaitRequest) containerd.task.v2.WaitResponse',
      'Stats(StatsRequest) containerd.task.v2.StatsResponse',
      'Connect(ConnectRequest) containerd.task.v2.ConnectResponse',
      'Shutdown(ShutdownRequest) google.protobuf.Empty',
    ]);
    assert.deepEqual(
      Object.values(Events.method).map((m) => `${m.name}(${m.input.name}) ${m.output.typeName}`),
      ['Forward(ForwardRequest) google.protobuf.Empty'],
    );
  });

  test('field numbers of the messages a shim uses most', () => {
    assert.deepEqual(numbering(CreateTaskRequestSchema), [
      'id=1', 'bundle=2', 'rootfs=3', 'terminal=4', 'stdin=5', 'stdout=6', 'stderr=7',
      'checkpoint=8', 'parent_checkpoint=9', 'options=10',
    ]);
    assert.deepEqual(numbering(StateResponseSchema), [
      'id=1', 'bundle=2', 'pid=3', 'status=4', 'stdin=5', 'stdout=6', 'stderr=7',
      'terminal=8', 'exit_status=9', 'exited_at=10', 'exec_id=11',
    ]);
    assert.deepEqual(numbering(TaskExitSchema), ['container_id=1', 'id=2', 'pid=3', 'exit_status=4', 'exited_at=5']);
    assert.deepEqual(numbering(EnvelopeSchema), ['timestamp=1', 'namespace=2', 'topic=3', 'event=4']);
    assert.deepEqual(numbering(MountSchema), ['type=1', 'source=2', 'target=3', 'options=4']);
    assert.deepEqual(numbering(CgroupsV1MetricsSchema), [
      'hugetlb=1', 'pids=2', 'cpu=3', 'memory=4', 'blkio=5', 'rdma=6', 'network=7',
      'cgroup_stats=8', 'memory_oom_control=9',
    ]);
    assert.deepEqual(numbering(MemoryStatSchema).slice(-4), ['usage=33', 'swap=34', 'kernel=35', 'kernel_tcp=36']);
    // Field 3 of the cgroup v2 Metrics is unused.
    assert.deepEqual(numbering(CgroupsV2MetricsSchema), [
      'pids=1', 'cpu=2', 'memory=4', 'rdma=5', 'io=6', 'hugetlb=7', 'memory_events=8',
    ]);
    assert.deepEqual(
      StatusSchema.values.map((v) => `${v.name}=${v.number}`),
      ['UNKNOWN=0', 'CREATED=1', 'RUNNING=2', 'STOPPED=3', 'PAUSED=4', 'PAUSING=5'],
    );
  });

  test('hand-encoded byte vectors', () => {
    // exit_status = 9, varint 137
    assert.deepEqual([...toBinary(StateResponseSchema, create(StateResponseSchema, { exitStatus: 137 }))], [0x48, 0x89, 0x01]);
    // status = 4, enum PAUSED
    assert.deepEqual([...toBinary(StateResponseSchema, create(StateResponseSchema, { status: Status.PAUSED }))], [0x20, 0x04]);
    // pid = 3
    assert.deepEqual([...toBinary(TaskExitSchema, create(TaskExitSchema, { pid: 7 }))], [0x18, 0x07]);
    // per_cpu = 4, packed (as containerd's Go code writes it)
    assert.deepEqual([...toBinary(CPUUsageSchema, create(CPUUsageSchema, { perCpu: [1n, 2n] }))], [0x22, 0x02, 0x01, 0x02]);
  });

  test('messages as containerd’s Go code marshals them decode to our fixtures', () => {
    // Produced by interop/go/containerd-types (`encode`) from its fixtures:
    // a TaskExit event in a ForwardRequest, and a StateResponse.
    const forward = Buffer.from(
      'CmMKCQjag+KxBhCIJxIHZGVmYXVsdBoLL3Rhc2tzL2V4aXQiQAoaY29udGFpbmVyZC5ldmVudHMuVGFza0V4aXQSIgoFY3RyLTESBmV4ZWMtNxiaISCJASoLCNmD4rEGEJWa7zo=',
      'base64',
    );
    const state = Buffer.from(
      'CgVjdHItMRI7L3J1bi9jb250YWluZXJkL2lvLmNvbnRhaW5lcmQucnVudGltZS52Mi50YXNrL2RlZmF1bHQvY3RyLTEYkiEgBCoiL3J1bi9jb250YWluZXJkL2ZpZm8vMS9jdHItMS1zdGRpbjIjL3J1bi9jb250YWluZXJkL2ZpZm8vMS9jdHItMS1zdGRvdXQ6Iy9ydW4vY29udGFpbmVyZC9maWZvLzEvY3RyLTEtc3RkZXJyQAFIiQFSCwjZg+KxBhCVmu86WgZleGVjLTc=',
      'base64',
    );
    const gotForward = fromBinary(ForwardRequestSchema, forward);
    assert.equal(firstDifference(ForwardRequestSchema, gotForward, forwardRequest()), undefined);
    assert.equal(gotForward.envelope?.event?.typeUrl, 'containerd.events.TaskExit');
    assert.equal(firstDifference(TaskExitSchema, unpackAny(gotForward.envelope?.event, TaskExitSchema, 'event'), taskExit()), undefined);
    assert.equal(firstDifference(StateResponseSchema, fromBinary(StateResponseSchema, state), stateResponse()), undefined);
    // Same bytes from our side (both write fields in number order).
    assert.deepEqual(Buffer.from(toBinary(ForwardRequestSchema, forwardRequest())), forward);
    assert.deepEqual(Buffer.from(toBinary(StateResponseSchema, stateResponse())), state);
  });
});
