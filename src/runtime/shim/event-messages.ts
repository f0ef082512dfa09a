// The task manager's events as containerd's event messages
// (containerd.events.TaskCreate, TaskExit, ...), each packed in an Any under
// its bare full name, with the topic containerd files it under.
import { timestampFromDate, type Any } from '@bufbuild/protobuf/wkt';
import { packTaskEvent } from '../../protocols/any.js';
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
} from '../../protocols/gen/containerd/events/task_pb.js';
import type { TaskEvent } from '../task/events.js';

export interface PackedEvent {
  topic: string;
  event: Any;
}

export function packEvent(e: TaskEvent): PackedEvent {
  switch (e.topic) {
    case '/tasks/create':
      return packTaskEvent(TaskCreateSchema, {
        containerId: e.containerId,
        bundle: e.bundle,
        io: { stdin: e.io.stdin, stdout: e.io.stdout, stderr: e.io.stderr, terminal: e.io.terminal },
        pid: e.pid,
      });
    case '/tasks/start':
      return packTaskEvent(TaskStartSchema, { containerId: e.containerId, pid: e.pid });
    case '/tasks/exit':
      return packTaskEvent(TaskExitSchema, {
        containerId: e.containerId,
        id: e.id,
        pid: e.pid,
        exitStatus: e.exitStatus,
        exitedAt: timestampFromDate(e.exitedAt),
      });
    case '/tasks/delete':
      return packTaskEvent(TaskDeleteSchema, {
        containerId: e.containerId,
        id: e.id,
        pid: e.pid,
        exitStatus: e.exitStatus,
        exitedAt: timestampFromDate(e.exitedAt),
      });
    case '/tasks/exec-added':
      return packTaskEvent(TaskExecAddedSchema, { containerId: e.containerId, execId: e.execId });
    case '/tasks/exec-started':
      return packTaskEvent(TaskExecStartedSchema, { containerId: e.containerId, execId: e.execId, pid: e.pid });
    case '/tasks/paused':
      return packTaskEvent(TaskPausedSchema, { containerId: e.containerId });
    case '/tasks/resumed':
      return packTaskEvent(TaskResumedSchema, { containerId: e.containerId });
    case '/tasks/oom':
      return packTaskEvent(TaskOOMSchema, { containerId: e.containerId });
  }
}
