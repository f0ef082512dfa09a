// cgroup v1 pids: task count and limit (pids.current, pids.max, "max" = unlimited).
import { join } from 'node:path';
import { readUint, type ResourceWriter } from '../fs.js';
import type { NormalizedPids } from '../normalize.js';
import type { PidsStats } from '../types.js';

export async function readPidsStatsV1(dir: string): Promise<PidsStats> {
  return {
    current: await readUint(join(dir, 'pids.current')),
    // Unlimited reads as "max"; Kata reports it as 0.
    limit: await readUint(join(dir, 'pids.max'), 0n),
  };
}

export async function applyPidsV1(dir: string, pids: NormalizedPids, w: ResourceWriter): Promise<void> {
  await w.write(dir, 'pids.max', pids.limit > 0n ? pids.limit : 'max');
}
