// <shim dir>/shim.json: which process serves a shim socket. `delete` reads
// it to tell a live shim (ask it over its socket, or wait for it to finish
// exiting) from a dead one (clean up after it). A pid alone could have been
// reused: the process's start time must match too.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { processStartTime } from '../monitor/state-file.js';

export interface ShimRecord {
  pid: number;
  /** /proc/<pid>/stat field 22, to tell a reused pid apart. */
  startTime: string;
  namespace: string;
  /** The id the shim was started for (the pod sandbox's, for a pod). */
  id: string;
  address: string;
}

export function writeShimRecord(file: string, record: ShimRecord): void {
  const tmp = join(dirname(file), `.shim.json.${process.pid}`);
  writeFileSync(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export function readShimRecord(file: string): ShimRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as Partial<ShimRecord>;
    if (typeof r.pid !== 'number' || typeof r.startTime !== 'string') return undefined;
    return r as ShimRecord;
  } catch {
    return undefined;
  }
}

/** The record of the running process itself. */
export function ownRecord(namespace: string, id: string, address: string): ShimRecord {
  const startTime = processStartTime(process.pid);
  if (startTime === null) throw new Error('cannot read this process\'s start time from /proc');
  return { pid: process.pid, startTime, namespace, id, address };
}

/** Whether the recorded shim process is still alive (not a zombie, not a reused pid). */
export function shimAlive(record: ShimRecord | undefined): boolean {
  return record !== undefined && record.pid > 0 && processStartTime(record.pid) === record.startTime;
}
