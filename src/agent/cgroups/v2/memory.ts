// cgroup v2 memory.
//   memory.current / memory.peak / memory.max ("max" = unlimited)
//   memory.swap.current / .peak / .max   swap only (v1 memsw was memory+swap)
//   memory.low                           best-effort protection (v1 soft limit)
//   memory.events   "max N" (times the limit was hit), "oom_kill N"
//   memory.stat     anon, file, kernel, ... in bytes
import { join } from 'node:path';
import { CgroupError } from '../errors.js';
import { UINT64_MAX, parseFlatKeyed, readFlatKeyed, readOptional, readUint, type ResourceWriter } from '../fs.js';
import type { NormalizedMemory } from '../normalize.js';
import type { MemoryStats } from '../types.js';

/** The file whose `oom_kill` line counts OOM kills in this cgroup and below. */
export const OOM_EVENTS_FILE_V2 = 'memory.events';

export function oomKillCountV2(text: string): bigint {
  return parseFlatKeyed(text).oom_kill ?? 0n;
}

export async function readMemoryStatsV2(dir: string): Promise<MemoryStats> {
  const stats = await readFlatKeyed(join(dir, 'memory.stat'));
  const events = await readFlatKeyed(join(dir, 'memory.events'));
  const swapEvents = await readFlatKeyed(join(dir, 'memory.swap.events'));
  // Kernels before 5.18 have no "kernel" line; its main parts are these two.
  const kernel = stats.kernel ?? (stats.kernel_stack ?? 0n) + (stats.slab ?? 0n);
  return {
    cache: stats.file ?? 0n,
    usage: {
      usage: await readUint(join(dir, 'memory.current')),
      maxUsage: await readUint(join(dir, 'memory.peak')),
      failcnt: events.max ?? 0n,
      limit: await readUint(join(dir, 'memory.max'), UINT64_MAX),
    },
    swapUsage: {
      usage: await readUint(join(dir, 'memory.swap.current')),
      maxUsage: await readUint(join(dir, 'memory.swap.peak')),
      failcnt: swapEvents.fail ?? 0n,
      limit: await readUint(join(dir, 'memory.swap.max'), UINT64_MAX),
    },
    kernelUsage: { usage: kernel, maxUsage: 0n, failcnt: 0n, limit: 0n },
    // cgroup v2 accounting is always hierarchical.
    useHierarchy: true,
    stats,
  };
}

/**
 * OCI's swap is the memory+swap limit; cgroup v2's memory.swap.max is swap
 * alone. Returns the text for memory.swap.max, as runc computes it.
 */
export function swapMaxV2(swap: bigint, limit: bigint | undefined): string {
  if (swap === -1n) return 'max';
  if (limit === undefined || limit === -1n) {
    throw new CgroupError(
      'INVALID_ARGUMENT',
      'resources.memory.swap: a swap limit needs a memory limit (resources.memory.limit) on cgroup v2',
    );
  }
  return String(swap - limit);
}

export async function applyMemoryV2(dir: string, m: NormalizedMemory, w: ResourceWriter): Promise<void> {
  if (m.swap !== undefined) {
    // Without a new limit, the swap share is computed against the current one.
    let limit = m.limit;
    if (limit === undefined) {
      const current = (await readOptional(join(dir, 'memory.max')))?.trim();
      if (current !== undefined && /^\d+$/.test(current)) limit = BigInt(current);
    }
    const swapMax = swapMaxV2(m.swap, limit);
    if (m.limit !== undefined) await w.write(dir, 'memory.max', m.limit === -1n ? 'max' : m.limit);
    await w.writeIfSupported(dir, 'memory.swap.max', swapMax);
  } else if (m.limit !== undefined) {
    await w.write(dir, 'memory.max', m.limit === -1n ? 'max' : m.limit);
  }
  if (m.reservation !== undefined) await w.write(dir, 'memory.low', m.reservation === -1n ? 'max' : m.reservation);
  if (m.kernel !== undefined || m.kernelTCP !== undefined) {
    w.skip('memory.kmem.*: cgroup v2 has no separate kernel memory limit');
  }
  if (m.swappiness !== undefined) w.skip('memory.swappiness: cgroup v2 has no per-cgroup swappiness');
  if (m.disableOOMKiller) w.skip('memory.oom_control: cgroup v2 cannot disable the OOM killer');
}
