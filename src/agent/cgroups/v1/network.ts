// cgroup v1 net_cls and net_prio: packet class id and per-interface priority.
import type { ResourceWriter } from '../fs.js';
import type { NormalizedNetwork } from '../normalize.js';

export async function applyNetClsV1(dir: string, n: NormalizedNetwork, w: ResourceWriter): Promise<void> {
  if (n.classID !== undefined) await w.write(dir, 'net_cls.classid', n.classID);
}

export async function applyNetPrioV1(dir: string, n: NormalizedNetwork, w: ResourceWriter): Promise<void> {
  for (const p of n.priorities) await w.write(dir, 'net_prio.ifpriomap', `${p.name} ${p.priority}`);
}
