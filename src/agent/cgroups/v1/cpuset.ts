// cgroup v1 cpuset: which CPUs and memory nodes the tasks may use.
import type { ResourceWriter } from '../fs.js';
import type { NormalizedCpu } from '../normalize.js';

export async function applyCpusetV1(dir: string, cpu: NormalizedCpu, w: ResourceWriter): Promise<void> {
  if (cpu.cpus !== undefined) await w.write(dir, 'cpuset.cpus', cpu.cpus);
  if (cpu.mems !== undefined) await w.write(dir, 'cpuset.mems', cpu.mems);
}
