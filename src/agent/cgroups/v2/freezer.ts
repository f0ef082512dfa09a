// cgroup v2 freezer (core, no controller needed): write 1 or 0 to
// cgroup.freeze; cgroup.events shows "frozen 1" once every task stopped.
// The kernel notifies cgroup.events changes through inotify.
import { join } from 'node:path';
import { readFlatKeyed, readUint, writeCgroupFile } from '../fs.js';
import { waitUntil } from '../wait.js';

/** True when cgroup.events says the cgroup is frozen. */
export async function isFrozenV2(dir: string): Promise<boolean> {
  return (await readFlatKeyed(join(dir, 'cgroup.events'))).frozen === 1n;
}

/** True when cgroup.freeze asks for the cgroup to be frozen (it may still be on its way). */
export async function freezeRequestedV2(dir: string): Promise<boolean> {
  return (await readUint(join(dir, 'cgroup.freeze'))) === 1n;
}

export async function setFrozenV2(dir: string, frozen: boolean, timeoutMs?: number): Promise<void> {
  await writeCgroupFile(join(dir, 'cgroup.freeze'), frozen ? '1' : '0');
  const events = join(dir, 'cgroup.events');
  await waitUntil(async () => (await isFrozenV2(dir)) === frozen, {
    timeoutMs,
    watchFile: events,
    what: `${events} to show frozen ${frozen ? 1 : 0}`,
  });
}
