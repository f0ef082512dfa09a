// freeze / thaw (PauseContainer / ResumeContainer), through the v1 freezer
// controller when it is mounted, else the cgroup2 core freezer.
import type { Cgroup } from './cgroup.js';
import { CgroupError } from './errors.js';
import { readFreezerStateV1, setFreezerStateV1 } from './v1/freezer.js';
import { freezeRequestedV2, isFrozenV2, setFrozenV2 } from './v2/freezer.js';

export type FreezerState = 'thawed' | 'freezing' | 'frozen';

export interface FreezeOptions {
  /** How long to wait for the state to settle (default 10 s). */
  timeoutMs?: number;
}

function freezerDir(cg: Cgroup) {
  const d = cg.controllerDir('freezer');
  if (!d) throw new CgroupError('FAILED_PRECONDITION', `no freezer for cgroup ${JSON.stringify(cg.path)}`);
  return d;
}

/** Freezes every task of the cgroup and waits until all are stopped. */
export async function freeze(cg: Cgroup, options: FreezeOptions = {}): Promise<void> {
  const d = freezerDir(cg);
  if (d.version === 1) await setFreezerStateV1(d.dir, 'FROZEN', options.timeoutMs);
  else await setFrozenV2(d.dir, true, options.timeoutMs);
}

/** Thaws the cgroup and waits until the kernel reports it thawed. */
export async function thaw(cg: Cgroup, options: FreezeOptions = {}): Promise<void> {
  const d = freezerDir(cg);
  if (d.version === 1) await setFreezerStateV1(d.dir, 'THAWED', options.timeoutMs);
  else await setFrozenV2(d.dir, false, options.timeoutMs);
}

export async function freezerState(cg: Cgroup): Promise<FreezerState> {
  const d = freezerDir(cg);
  if (d.version === 1) {
    const s = await readFreezerStateV1(d.dir);
    return s === 'FROZEN' ? 'frozen' : s === 'FREEZING' ? 'freezing' : 'thawed';
  }
  if (await isFrozenV2(d.dir)) return 'frozen';
  return (await freezeRequestedV2(d.dir)) ? 'freezing' : 'thawed';
}
