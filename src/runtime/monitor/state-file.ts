// A container's state on disk (<root>/<id>/state.json), the source of truth
// for `state` and `list` even when the monitor is gone. The CLI writes it
// first (creating); from then on the monitor updates it at each transition.
// Writes are atomic (a temporary file renamed over the old one).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { processStartTime } from '../task/host-process.js';

export { processStartTime };
import { readFile } from 'node:fs/promises';

export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface ContainerStateRecord {
  id: string;
  /** Absolute bundle path. */
  bundle: string;
  /** Absolute path of the container's root filesystem on the host. */
  rootfs: string;
  status: ContainerStatus;
  /** The monitor's pid (what --pid-file gets), and its start time to tell a reused pid apart. */
  monitorPid: number;
  monitorStartTime: string;
  /** ISO 8601. */
  created: string;
  annotations: Record<string, string>;
  /** Set once stopped. */
  exitStatus?: number;
  /** Why the container stopped other than by exiting (VM lost, monitor died). */
  error?: string;
  /** The configuration file the monitor used (for hooks and delete). */
  configPath?: string;
  /** Out-of-memory kills in the container so far (for `events`). */
  oomKills?: number;
}

export function writeStateFile(file: string, state: ContainerStateRecord): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** Updates some fields in place (read, change, write). */
export function updateStateFile(file: string, change: Partial<ContainerStateRecord>): ContainerStateRecord {
  const current = JSON.parse(readFileSync(file, 'utf8')) as ContainerStateRecord;
  const next = { ...current, ...change };
  writeStateFile(file, next);
  return next;
}

export async function readStateFile(file: string): Promise<ContainerStateRecord> {
  return JSON.parse(await readFile(file, 'utf8')) as ContainerStateRecord;
}

/** Whether the recorded monitor is still the same live process. */
export function monitorAlive(state: Pick<ContainerStateRecord, 'monitorPid' | 'monitorStartTime'>): boolean {
  if (state.monitorPid <= 0) return false;
  return processStartTime(state.monitorPid) === state.monitorStartTime;
}

/**
 * The state as it truly is: a container whose monitor died without
 * recording an end is stopped, with an error saying so.
 */
export function truthfulState(state: ContainerStateRecord): ContainerStateRecord {
  if (state.status === 'stopped' || monitorAlive(state)) return state;
  return { ...state, status: 'stopped', error: state.error ?? `the monitor (pid ${state.monitorPid}) is gone` };
}
