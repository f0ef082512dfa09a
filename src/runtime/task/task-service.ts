// containerd.task.v2.Task over the task manager: the thin wire layer both
// the shim and the OCI command line's monitor serve. It decodes requests,
// checks their fields, delegates, and encodes answers; failures carry the
// gRPC status containerd's errdefs understand.
import { create, fromBinary } from '@bufbuild/protobuf';
import { timestampFromDate, type Any } from '@bufbuild/protobuf/wkt';
import { packAny, packJsonAny, RUNTIME_SPEC_TYPE_URLS, unpackJsonAny } from '../../protocols/any.js';
import { KATA_TS_VERSION } from '../../common/version.js';
import { MetricsSchema } from '../../protocols/gen/containerd/cgroups/stats/v1/metrics_pb.js';
import type { Task } from '../../protocols/gen/containerd/runtime/v2/task/shim_pb.js';
import { Status } from '../../protocols/gen/containerd/types/task/task_pb.js';
import type { ServiceImpl } from '../../ttrpc/index.js';
import { TtrpcError } from '../../ttrpc/index.js';
import { StatusError } from '../../common/status-error.js';
import { invalidArgument, taskError } from './errors.js';

export { packJsonAny };
import { statsToMetrics } from './metrics.js';
import type { TaskManager, TaskStatus } from './task-manager.js';

/** Type URLs containerd gives OCI spec fragments, which it encodes as JSON inside an Any. */
export const OCI_PROCESS_TYPE_URL = RUNTIME_SPEC_TYPE_URLS.process;
export const OCI_RESOURCES_TYPE_URL = RUNTIME_SPEC_TYPE_URLS.linuxResources;

export interface TaskServiceOptions {
  manager: TaskManager;
  /** The shim's (or monitor's) own pid, for Connect. */
  ownPid: number;
  /**
   * Shutdown was asked for and the manager has no task left (or `now`):
   * the front-end ends the process after answering.
   */
  onShutdown(now: boolean): void;
}

/**
 * Request metadata of our own, on Start of an exec: the pid of a host
 * process that stands for the exec (the OCI command line's `exec --detach`
 * leaves one for managers to wait on and signal). When it goes away before
 * the exec has ended, the exec is killed.
 */
export const EXEC_OWNER_METADATA = 'io.kata-ts.exec-owner-pid';

const STATUS: Record<TaskStatus, Status> = {
  created: Status.CREATED,
  running: Status.RUNNING,
  paused: Status.PAUSED,
  stopped: Status.STOPPED,
};

function required(value: string, field: string): string {
  if (value === '') throw invalidArgument(field, 'required');
  return value;
}

/** Our errors as ttRPC statuses (the server turns other errors into UNKNOWN). */
async function wire<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StatusError) throw new TtrpcError(err.grpcCode, err.message);
    throw err;
  }
}

export function taskService(opts: TaskServiceOptions): ServiceImpl<typeof Task> {
  const tm = opts.manager;
  return {
    state: (req) =>
      wire(() => {
        const s = tm.state(required(req.id, 'id'), req.execId);
        return {
          id: s.id,
          execId: s.execId,
          bundle: s.bundle,
          pid: s.pid,
          status: STATUS[s.status],
          stdin: s.io.stdin,
          stdout: s.io.stdout,
          stderr: s.io.stderr,
          terminal: s.io.terminal,
          exitStatus: s.exitStatus,
          ...(s.exitedAt ? { exitedAt: timestampFromDate(s.exitedAt) } : {}),
        };
      }),
    create: (req) =>
      wire(async () => {
        if (req.checkpoint !== '' || req.parentCheckpoint !== '') throw taskError('UNIMPLEMENTED', 'checkpoint: restoring from a checkpoint is not supported');
        const { pid } = await tm.create({
          id: required(req.id, 'id'),
          bundle: required(req.bundle, 'bundle'),
          io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
          rootfs: req.rootfs.map((m) => ({ type: m.type, source: m.source, options: m.options })),
        });
        return { pid };
      }),
    start: (req, ctx) =>
      wire(async () => {
        const owner = ctx.metadata.get(EXEC_OWNER_METADATA)?.[0];
        let ownerPid: number | undefined;
        if (owner !== undefined) {
          ownerPid = Number(owner);
          if (!Number.isInteger(ownerPid) || ownerPid <= 0) throw invalidArgument(EXEC_OWNER_METADATA, `not a pid: ${JSON.stringify(owner)}`);
        }
        return tm.start(required(req.id, 'id'), req.execId, ownerPid !== undefined ? { ownerPid } : {});
      }),
    delete: (req) =>
      wire(async () => {
        const r = await tm.delete(required(req.id, 'id'), req.execId);
        return { pid: r.pid, exitStatus: r.exitStatus, exitedAt: timestampFromDate(r.exitedAt) };
      }),
    pids: (req) =>
      wire(async () => {
        const pids = await tm.pids(required(req.id, 'id'));
        return { processes: pids.map((pid) => ({ pid })) };
      }),
    pause: (req) => wire(async () => (await tm.pause(required(req.id, 'id')), {})),
    resume: (req) => wire(async () => (await tm.resume(required(req.id, 'id')), {})),
    checkpoint: () => wire(() => {
      throw taskError('UNIMPLEMENTED', 'checkpoint is not supported by kata-ts');
    }),
    kill: (req) => wire(async () => (await tm.kill(required(req.id, 'id'), req.execId, req.signal, req.all), {})),
    exec: (req) =>
      wire(async () => {
        const process = unpackJsonAny(req.spec, OCI_PROCESS_TYPE_URL, 'spec');
        await tm.exec({
          containerId: required(req.id, 'id'),
          execId: required(req.execId, 'exec_id'),
          io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
          process,
        });
        return {};
      }),
    resizePty: (req) => wire(async () => (await tm.resizePty(required(req.id, 'id'), req.execId, req.height, req.width), {})),
    closeIO: (req) =>
      wire(async () => {
        if (req.stdin) await tm.closeIo(required(req.id, 'id'), req.execId);
        return {};
      }),
    update: (req) =>
      wire(async () => {
        const resources = unpackJsonAny(req.resources, OCI_RESOURCES_TYPE_URL, 'resources');
        await tm.update(required(req.id, 'id'), resources);
        return {};
      }),
    wait: (req) =>
      wire(async () => {
        const exit = await tm.wait(required(req.id, 'id'), req.execId);
        return { exitStatus: exit.exitStatus, exitedAt: timestampFromDate(exit.exitedAt) };
      }),
    stats: (req) =>
      wire(async () => {
        const stats = await tm.stats(required(req.id, 'id'));
        // containerd resolves the bare type name only (see protocols/any.ts).
        return { stats: packAny(MetricsSchema, statsToMetrics(stats)) };
      }),
    connect: () => wire(() => ({ shimPid: opts.ownPid, taskPid: tm.pid, version: KATA_TS_VERSION })),
    shutdown: (req) =>
      wire(() => {
        if (!req.now && tm.containerIds.length > 0) return {};
        opts.onShutdown(req.now);
        return {};
      }),
  };
}

/** Decodes the Metrics of a Stats answer (for the command line's `events --stats`). */
export function metricsFromAny(any: Any | undefined) {
  if (!any) return create(MetricsSchema);
  return fromBinary(MetricsSchema, any.value);
}
