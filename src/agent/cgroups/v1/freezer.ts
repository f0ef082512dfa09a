// cgroup v1 freezer: freezer.state reads THAWED, FREEZING or FROZEN. Writing
// FROZEN starts freezing; the state shows FROZEN once every task stopped.
import { join } from 'node:path';
import { CgroupError } from '../errors.js';
import { readOptional, writeCgroupFile } from '../fs.js';
import { waitUntil } from '../wait.js';

export type FreezerStateV1 = 'THAWED' | 'FREEZING' | 'FROZEN';

export async function readFreezerStateV1(dir: string): Promise<FreezerStateV1> {
  const file = join(dir, 'freezer.state');
  const text = await readOptional(file);
  if (text === null) throw new CgroupError('NOT_FOUND', `${file} does not exist`);
  return text.trim() as FreezerStateV1;
}

/**
 * Moves the cgroup to FROZEN or THAWED and waits until it is there. A freeze
 * can stall on a task that is busy in the kernel, so the request is written
 * again every few checks; one that has not settled by the deadline is undone
 * (thawed) rather than left half frozen.
 */
export async function setFreezerStateV1(
  dir: string,
  target: 'FROZEN' | 'THAWED',
  timeoutMs?: number,
): Promise<void> {
  const file = join(dir, 'freezer.state');
  try {
    await waitUntil(
      async () => (await readFreezerStateV1(dir)) === target,
      { timeoutMs, what: `${file} to read ${target}` },
      async (attempt) => {
        if (attempt % 10 === 0) await writeCgroupFile(file, target);
      },
    );
  } catch (err) {
    if (target === 'FROZEN' && err instanceof CgroupError && err.code === 'DEADLINE_EXCEEDED') {
      await writeCgroupFile(file, 'THAWED').catch(() => undefined);
    }
    throw err;
  }
}
