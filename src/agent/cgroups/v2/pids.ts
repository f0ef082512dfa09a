// cgroup v2 pids: pids.current and pids.max ("max" = unlimited), as in v1.
import { join } from 'node:path';
import { readUint, type ResourceWriter } from '../fs.js';
import type { NormalizedPids } from '../normalize.js';
import type { PidsStats } from '../types.js';

export async function readPidsStatsV2(dir: string): Promise<PidsStats> {
  return {
    current: await readUint(join(dir, 'pids.current')),
    limit: await readUint(join(dir, 'pids.max'), 0n),
  };
}

export async function applyPidsV2(dir: string, pids: NormalizedPids, w: ResourceWriter): Promise<void> {
  await w.write(dir, 'pids.max', pids.limit > 0n ? pids.limit : 'max');
}
