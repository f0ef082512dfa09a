// cgroup v2 hugetlb: hugetlb.<size>.current, hugetlb.<size>.max and
// hugetlb.<size>.events ("max N": allocations refused by the limit).
import { join } from 'node:path';
import { hugePageSizes, readFlatKeyed, readUint, type ResourceWriter } from '../fs.js';
import type { NormalizedHugepageLimit } from '../normalize.js';
import type { HugetlbStats } from '../types.js';

export async function readHugetlbStatsV2(dir: string): Promise<Record<string, HugetlbStats>> {
  const out: Record<string, HugetlbStats> = {};
  for (const size of await hugePageSizes(dir, 'current')) {
    const events = await readFlatKeyed(join(dir, `hugetlb.${size}.events`));
    out[size] = {
      usage: await readUint(join(dir, `hugetlb.${size}.current`)),
      // v2 keeps no high-water mark for huge pages.
      maxUsage: 0n,
      failcnt: events.max ?? 0n,
    };
  }
  return out;
}

export async function applyHugetlbV2(dir: string, limits: NormalizedHugepageLimit[], w: ResourceWriter): Promise<void> {
  for (const l of limits) await w.write(dir, `hugetlb.${l.pageSize}.max`, l.limit);
}
