// Every task event becomes containerd's message, packed under its bare
// full name, with containerd's topic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromBinary } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import {
  TaskCreateSchema,
  TaskDeleteSchema,
  TaskExecAddedSchema,
  TaskExecStartedSchema,
  TaskExitSchema,
  TaskOOMSchema,
  TaskPausedSchema,
  TaskResumedSchema,
  TaskStartSchema,
} from '../../../src/protocols/gen/containerd/events/task_pb.js';
import { packEvent } from '../../../src/runtime/shim/event-messages.js';
import type { TaskEvent } from '../../../src/runtime/task/events.js';

const io = { stdin: '/f/in', stdout: '/f/out', stderr: '/f/err', terminal: false };
const at = new Date('2024-05-06T07:08:09.123Z');

test('each topic maps to its message, under its bare type name', () => {
  const cases: [TaskEvent, string][] = [
    [{ topic: '/tasks/create', containerId: 'c', bundle: '/b', io, pid: 7 }, TaskCreateSchema.typeName],
    [{ topic: '/tasks/start', containerId: 'c', pid: 7 }, TaskStartSchema.typeName],
    [{ topic: '/tasks/exit', containerId: 'c', id: 'e', pid: 7, exitStatus: 3, exitedAt: at }, TaskExitSchema.typeName],
    [{ topic: '/tasks/delete', containerId: 'c', id: 'c', pid: 7, exitStatus: 3, exitedAt: at }, TaskDeleteSchema.typeName],
    [{ topic: '/tasks/exec-added', containerId: 'c', execId: 'e' }, TaskExecAddedSchema.typeName],
    [{ topic: '/tasks/exec-started', containerId: 'c', execId: 'e', pid: 7 }, TaskExecStartedSchema.typeName],
    [{ topic: '/tasks/paused', containerId: 'c' }, TaskPausedSchema.typeName],
    [{ topic: '/tasks/resumed', containerId: 'c' }, TaskResumedSchema.typeName],
    [{ topic: '/tasks/oom', containerId: 'c' }, TaskOOMSchema.typeName],
  ];
  for (const [event, typeName] of cases) {
    const packed = packEvent(event);
    assert.equal(packed.topic, event.topic);
    assert.equal(packed.event.typeUrl, typeName, 'containerd resolves the bare name only');
    assert.ok(typeName.startsWith('containerd.events.Task'));
  }
});

test('fields survive the encoding', () => {
  const create = fromBinary(TaskCreateSchema, packEvent({ topic: '/tasks/create', containerId: 'c', bundle: '/b', io: { ...io, terminal: true }, pid: 7 }).event.value);
  assert.equal(create.containerId, 'c');
  assert.equal(create.bundle, '/b');
  const { stdin, stdout, stderr, terminal } = create.io!;
  assert.deepEqual({ stdin, stdout, stderr, terminal }, { stdin: '/f/in', stdout: '/f/out', stderr: '/f/err', terminal: true });
  assert.equal(create.pid, 7);

  const exit = fromBinary(TaskExitSchema, packEvent({ topic: '/tasks/exit', containerId: 'c', id: 'e1', pid: 7, exitStatus: 137, exitedAt: at }).event.value);
  assert.deepEqual([exit.containerId, exit.id, exit.pid, exit.exitStatus], ['c', 'e1', 7, 137]);
  assert.equal(timestampDate(exit.exitedAt!).toISOString(), at.toISOString());

  const started = fromBinary(TaskExecStartedSchema, packEvent({ topic: '/tasks/exec-started', containerId: 'c', execId: 'e1', pid: 9 }).event.value);
  assert.deepEqual([started.containerId, started.execId, started.pid], ['c', 'e1', 9]);
});
