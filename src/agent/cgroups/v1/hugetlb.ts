// cgroup v1 hugetlb: one set of files per huge page size,
// hugetlb.<size>.{usage_in_bytes,max_usage_in_bytes,failcnt,limit_in_bytes}.
import { join } from 'node:path';
import { hugePageSizes, readUint, type ResourceWriter } from '../fs.js';
import type { NormalizedHugepageLimit } from '../normalize.js';
import type { HugetlbStats } from '../types.js';

export async function readHugetlbStatsV1(dir: string): Promise<Record<string, HugetlbStats>> {
  const out: Record<string, HugetlbStats> = {};
  for (const size of await hugePageSizes(dir, 'usage_in_bytes')) {
    out[size] = {
      usage: await readUint(join(dir, `hugetlb.${size}.usage_in_bytes`)),
      maxUsage: await readUint(join(dir, `hugetlb.${size}.max_usage_in_bytes`)),
      failcnt: await readUint(join(dir, `hugetlb.${size}.failcnt`)),
    };
  }
  return out;
}

export async function applyHugetlbV1(dir: string, limits: NormalizedHugepageLimit[], w: ResourceWriter): Promise<void> {
  for (const l of limits) await w.write(dir, `hugetlb.${l.pageSize}.limit_in_bytes`, l.limit);
}
