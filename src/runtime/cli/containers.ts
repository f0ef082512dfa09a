// Finding a container under --root, reading its state truthfully, and
// talking to its monitor.
import { access } from 'node:fs/promises';
import type { Task } from '../../protocols/gen/containerd/runtime/v2/task/shim_pb.js';
import type { ServiceClient } from '../../ttrpc/index.js';
import type { OciState } from '../oci/hooks.js';
import { containerPaths, type ContainerPaths } from '../monitor/layout.js';
import { monitorAlive, readStateFile, truthfulState, type ContainerStateRecord } from '../monitor/state-file.js';
import { checkId } from '../sandbox/ids.js';
import { CliError, type Context } from './context.js';

/** The OCI version our state documents follow. */
export const STATE_OCI_VERSION = '1.0.2';

export interface Container {
  id: string;
  paths: ContainerPaths;
  /** The recorded state, corrected when the monitor is gone. */
  state: ContainerStateRecord;
  /** Whether the monitor answers for it. */
  monitorAlive: boolean;
}

export function validId(id: string): void {
  try {
    checkId(id, 'container id');
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

export async function loadContainer(ctx: Context, id: string): Promise<Container> {
  validId(id);
  const paths = containerPaths(ctx.opts.root, id);
  let recorded: ContainerStateRecord;
  try {
    recorded = await readStateFile(paths.stateFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`container "${id}" does not exist`);
    throw new CliError(`container "${id}": cannot read its state: ${(err as Error).message}`);
  }
  return { id, paths, state: truthfulState(recorded), monitorAlive: monitorAlive(recorded) };
}

export async function exists(ctx: Context, id: string): Promise<boolean> {
  return access(containerPaths(ctx.opts.root, id).stateFile).then(
    () => true,
    () => false,
  );
}

/** The OCI state document of a container (a pid only while its monitor runs). */
export function ociState(c: Pick<Container, 'id' | 'state'>): OciState & { rootfs?: string; created: string; owner: string } {
  const s = c.state;
  const live = s.status !== 'stopped';
  return {
    ociVersion: STATE_OCI_VERSION,
    id: c.id,
    // Before the monitor has created it, runc's "creating".
    status: s.status,
    ...(live && s.monitorPid > 0 ? { pid: s.monitorPid } : {}),
    bundle: s.bundle,
    created: s.created,
    owner: '',
    ...(Object.keys(s.annotations).length > 0 ? { annotations: s.annotations } : {}),
  };
}

export interface TaskConnection {
  task: ServiceClient<typeof Task>;
  close(): void;
}

/** Connects to the container's monitor. */
export async function connectMonitor(c: Container): Promise<TaskConnection> {
  if (!c.monitorAlive) throw new CliError(`container "${c.id}" is not running (its monitor is gone)`);
  // Loaded here, not at start-up: commands that only read state never need them.
  const [{ Client, connectUnix, createClient }, { Task }] = await Promise.all([
    import('../../ttrpc/index.js'),
    import('../../protocols/gen/containerd/runtime/v2/task/shim_pb.js'),
  ]);
  let socket;
  try {
    socket = await connectUnix(c.paths.taskSocket, 5000);
  } catch (err) {
    throw new CliError(`container "${c.id}": cannot reach its monitor: ${(err as Error).message}`);
  }
  const client = new Client(socket);
  return { task: createClient(client, Task), close: () => void client.close() };
}

/** Runs `fn` with a monitor connection, turning task errors into CLI errors. */
export async function withMonitor<T>(c: Container, fn: (task: ServiceClient<typeof Task>) => Promise<T>): Promise<T> {
  const conn = await connectMonitor(c);
  try {
    return await fn(conn.task);
  } catch (err) {
    const { isTtrpcError } = await import('../../ttrpc/index.js');
    if (isTtrpcError(err)) throw new CliError(`container "${c.id}": ${err.message}`);
    throw err;
  } finally {
    conn.close();
  }
}
