// `containerd-shim-kata-ts-v2 ... -id ID -bundle B delete`: containerd runs
// it whenever its connection to a shim closes (after a normal delete, or
// because the shim died), and reads a DeleteResponse (protobuf) from stdout:
// how the task ended, as far as anyone can still tell.
//
// Three cases, told apart by the shim's record (record.ts) and its socket:
// - The shim is alive and listening (other containers of the pod still run
//   in it, or only containerd's connection broke): the container is removed
//   through it (Kill, Wait, Delete, Shutdown) and the shim goes on if it
//   still has containers.
// - The shim is alive but no longer listening: it is on its way out (it
//   stops listening when Shutdown starts); wait for it to finish, or kill it.
// - The shim is gone: remove what it left (its VM's processes, mounts,
//   directory, socket, the container's rootfs mounts).
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logger.js';
import { DeleteResponseSchema, Task, type DeleteResponse } from '../../protocols/gen/containerd/runtime/v2/task/shim_pb.js';
import { Status } from '../../protocols/gen/containerd/types/task/task_pb.js';
import { Client, connect, createClient } from '../../ttrpc/index.js';
import { rootfsDir } from '../task/rootfs.js';
import { killAndWait, removeShimLeftovers, unmountBelow } from './cleanup.js';
import { groupingOf, readBundleFacts } from './grouping.js';
import { readAddressFile, shimPaths, shimSocketAddress } from './layout.js';
import { readShimRecord, shimAlive, type ShimRecord } from './record.js';
import { canConnect } from './probe.js';

export interface DeleteRequest {
  namespace: string;
  id: string;
  grpcAddress: string;
  bundle: string;
  logger: Logger;
  runRoot?: string;
}

/** What a container killed with its VM is reported to have exited with (128 + SIGKILL). */
export const KILLED_STATUS = 137;
const SIGKILL = 9;
/**
 * containerd gives `delete` 5 s (io.containerd.timeout.shim.cleanup) and then
 * kills it: the calls to a live shim and the wait for a shim on its way out
 * share this budget, and a shim still not gone when it is spent is killed
 * (its VM dies with it) and cleaned up after, which is quick.
 */
const DELETE_BUDGET_MS = 4_000;

/** The shim address for the bundle: from its `address` file, else computed as `start` would. */
function addressFor(req: DeleteRequest): string {
  const recorded = readAddressFile(req.bundle);
  if (recorded) return recorded;
  let groupId = req.id;
  try {
    groupId = groupingOf(req.id, readBundleFacts(req.bundle).annotations).groupId;
  } catch {
    // no readable spec: the container's own shim
  }
  return shimSocketAddress(req.grpcAddress, req.namespace, groupId);
}

async function waitForExit(record: ShimRecord, deadline: number): Promise<boolean> {
  while (shimAlive(record)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Removes the container through the live shim; resolves with its exit if the shim still knew it. */
async function deleteThroughShim(req: DeleteRequest, socket: string, deadline: number): Promise<Omit<DeleteResponse, '$typeName'> | undefined> {
  const left = () => Math.max(100, deadline - Date.now());
  const client = new Client(await connect(`unix://${socket}`, { timeoutMs: left() }));
  const task = createClient(client, Task);
  // Each call gets what is left of the budget.
  const opts = () => ({ timeoutMs: left() });
  const quiet = (what: string) => (err: unknown) => {
    req.logger.debug({ err, id: req.id }, `${what} through the live shim`);
    return undefined;
  };
  try {
    const state = await task.state({ id: req.id }, opts()).catch(quiet('state'));
    if (state?.status === Status.PAUSED) await task.resume({ id: req.id }, opts()).catch(quiet('resume'));
    if (state?.status === Status.RUNNING || state?.status === Status.PAUSED) {
      await task.kill({ id: req.id, signal: SIGKILL, all: true }, opts()).catch(quiet('kill'));
      await task.wait({ id: req.id }, opts()).catch(quiet('wait'));
    }
    const deleted = state ? await task.delete({ id: req.id }, opts()).catch(quiet('delete')) : undefined;
    await task.shutdown({ id: req.id, now: false }, opts()).catch(quiet('shutdown'));
    return deleted ? { pid: deleted.pid, exitStatus: deleted.exitStatus, exitedAt: deleted.exitedAt } : undefined;
  } finally {
    await client.close().catch(() => {});
  }
}

export async function deleteShim(req: DeleteRequest): Promise<DeleteResponse> {
  const paths = shimPaths(addressFor(req), req.runRoot);
  const record = readShimRecord(paths.recordFile);
  let exit: Omit<DeleteResponse, '$typeName'> | undefined;
  const deadline = Date.now() + DELETE_BUDGET_MS;

  if (shimAlive(record) && (await canConnect(paths.socket))) {
    exit = await deleteThroughShim(req, paths.socket, deadline).catch((err: unknown) => {
      req.logger.warn({ err }, 'removing the container through the live shim failed');
      return undefined;
    });
  }
  // A shim that stopped listening is on its way out (it stops listening
  // before it answers Shutdown, perhaps the one just sent): let it finish.
  if (shimAlive(record) && !(await canConnect(paths.socket)) && !(await waitForExit(record!, deadline))) {
    req.logger.warn({ pid: record!.pid }, 'the shim did not finish exiting in time: killing it');
    await killAndWait([record!.pid]);
  }

  if (!shimAlive(record)) {
    if (!record && (await canConnect(paths.socket))) {
      // Not a shim of ours (no record): leave whatever listens there alone.
      req.logger.warn({ socket: paths.socket }, 'an unknown process serves the shim socket: not touching it');
    } else {
      await removeShimLeftovers(paths);
      // The container's rootfs, stacked on the bundle by the shim; containerd
      // unmounts it too, but only after this returns.
      const left = await unmountBelow(rootfsDir(req.bundle));
      if (left.length > 0) req.logger.warn({ left }, 'rootfs mounts left');
    }
  }

  return create(DeleteResponseSchema, exit ?? { pid: 0, exitStatus: KILLED_STATUS, exitedAt: timestampFromDate(new Date()) });
}
