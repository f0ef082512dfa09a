// cgroup v2 cpuset: cpuset.cpus and cpuset.mems (same format as v1; an
// empty value means "whatever the parent has").
import type { ResourceWriter } from '../fs.js';
import type { NormalizedCpu } from '../normalize.js';

export async function applyCpusetV2(dir: string, cpu: NormalizedCpu, w: ResourceWriter): Promise<void> {
  if (cpu.cpus !== undefined) await w.write(dir, 'cpuset.cpus', cpu.cpus);
  if (cpu.mems !== undefined) await w.write(dir, 'cpuset.mems', cpu.mems);
}
