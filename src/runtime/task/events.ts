// What happens to tasks, as containerd's task events say it (topics
// /tasks/create, /tasks/start, ...). The task manager emits them; a sink
// forwards them: the shim to containerd, the OCI monitor to `events`.

export interface TaskIo {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

export type TaskEvent =
  | { topic: '/tasks/create'; containerId: string; bundle: string; io: TaskIo; pid: number }
  | { topic: '/tasks/start'; containerId: string; pid: number }
  | { topic: '/tasks/exit'; containerId: string; id: string; pid: number; exitStatus: number; exitedAt: Date }
  | { topic: '/tasks/delete'; containerId: string; id: string; pid: number; exitStatus: number; exitedAt: Date }
  | { topic: '/tasks/exec-added'; containerId: string; execId: string }
  | { topic: '/tasks/exec-started'; containerId: string; execId: string; pid: number }
  | { topic: '/tasks/paused'; containerId: string }
  | { topic: '/tasks/resumed'; containerId: string }
  | { topic: '/tasks/oom'; containerId: string };

export type TaskEventTopic = TaskEvent['topic'];

export interface EventSink {
  /** Called in order; must not throw (a sink logs its own failures). */
  publish(event: TaskEvent): void;
}

export const discardEvents: EventSink = { publish() {} };
