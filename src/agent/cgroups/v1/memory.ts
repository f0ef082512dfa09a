// cgroup v1 memory.
//   memory.{usage,max_usage,limit}_in_bytes, memory.failcnt     memory
//   memory.memsw.*                                              memory + swap
//   memory.kmem.*                                               kernel memory
//   memory.stat, memory.use_hierarchy, memory.soft_limit_in_bytes,
//   memory.swappiness, memory.oom_control ("oom_kill N" counts OOM kills)
import { join } from 'node:path';
import { exists, parseFlatKeyed, readFlatKeyed, readUint, type ResourceWriter } from '../fs.js';
import type { NormalizedMemory } from '../normalize.js';
import type { MemoryData, MemoryStats } from '../types.js';

/** The file whose `oom_kill` line counts OOM kills in this cgroup. */
export const OOM_EVENTS_FILE_V1 = 'memory.oom_control';

/** The OOM kill count in the text of memory.oom_control (0 on kernels before 4.13, which lack it). */
export function oomKillCountV1(text: string): bigint {
  return parseFlatKeyed(text).oom_kill ?? 0n;
}

async function readMemoryData(dir: string, prefix: string): Promise<MemoryData> {
  return {
    usage: await readUint(join(dir, `${prefix}.usage_in_bytes`)),
    maxUsage: await readUint(join(dir, `${prefix}.max_usage_in_bytes`)),
    failcnt: await readUint(join(dir, `${prefix}.failcnt`)),
    limit: await readUint(join(dir, `${prefix}.limit_in_bytes`)),
  };
}

export async function readMemoryStatsV1(dir: string): Promise<MemoryStats> {
  const stats = await readFlatKeyed(join(dir, 'memory.stat'));
  return {
    cache: stats.cache ?? 0n,
    usage: await readMemoryData(dir, 'memory'),
    swapUsage: await readMemoryData(dir, 'memory.memsw'),
    kernelUsage: await readMemoryData(dir, 'memory.kmem'),
    useHierarchy: (await readUint(join(dir, 'memory.use_hierarchy'))) === 1n,
    stats,
  };
}


/** A limit as v1 files take it: -1 means unlimited. */
function limitText(v: bigint): string {
  return v === -1n ? '-1' : String(v);
}

/**
 * memory.limit_in_bytes must stay <= memory.memsw.limit_in_bytes at every
 * moment: when the memory+swap limit grows it goes first, when it shrinks
 * the memory limit goes first.
 */
async function applyLimits(dir: string, m: NormalizedMemory, w: ResourceWriter): Promise<void> {
  const hasMemsw = await exists(join(dir, 'memory.memsw.limit_in_bytes'));
  if (m.swap === undefined || !hasMemsw) {
    if (m.swap !== undefined) w.skip('memory.memsw.limit_in_bytes: swap accounting is not enabled in this kernel');
    if (m.limit !== undefined) await w.write(dir, 'memory.limit_in_bytes', limitText(m.limit));
    return;
  }
  const current = await readUint(join(dir, 'memory.memsw.limit_in_bytes'));
  const growing = m.swap === -1n || m.swap > current;
  if (growing) {
    await w.write(dir, 'memory.memsw.limit_in_bytes', limitText(m.swap));
    if (m.limit !== undefined) await w.write(dir, 'memory.limit_in_bytes', limitText(m.limit));
  } else {
    if (m.limit !== undefined) await w.write(dir, 'memory.limit_in_bytes', limitText(m.limit));
    await w.write(dir, 'memory.memsw.limit_in_bytes', limitText(m.swap));
  }
}

export async function applyMemoryV1(dir: string, m: NormalizedMemory, w: ResourceWriter): Promise<void> {
  await applyLimits(dir, m, w);
  if (m.reservation !== undefined) await w.write(dir, 'memory.soft_limit_in_bytes', limitText(m.reservation));
  if (m.kernel !== undefined) await w.writeIfSupported(dir, 'memory.kmem.limit_in_bytes', limitText(m.kernel));
  if (m.kernelTCP !== undefined) await w.writeIfSupported(dir, 'memory.kmem.tcp.limit_in_bytes', limitText(m.kernelTCP));
  if (m.swappiness !== undefined) await w.write(dir, 'memory.swappiness', m.swappiness);
  if (m.disableOOMKiller) await w.write(dir, 'memory.oom_control', '1');
}
