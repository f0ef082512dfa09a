// applyResources (UpdateContainer): writes OCI linux.resources to the
// cgroup, each controller through its v1 or v2 module.
//
// The whole request is validated first (normalizeResources), so a bad field
// fails the call before anything is written. Settings the cgroup version
// has no knob for are skipped and listed in the result rather than failing
// the update (the runtime sends whole resource sets, e.g. kernel memory
// limits that recent kernels no longer have).
import type { Cgroup } from './cgroup.js';
import { CgroupError } from './errors.js';
import { ResourceWriter, type FileWrite } from './fs.js';
import { normalizeResources } from './normalize.js';
import type { CgroupResources } from './types.js';
import { applyBlkioV1 } from './v1/blkio.js';
import { applyCpuV1 } from './v1/cpu.js';
import { applyCpusetV1 } from './v1/cpuset.js';
import { applyDevicesV1 } from './v1/devices.js';
import { applyHugetlbV1 } from './v1/hugetlb.js';
import { applyMemoryV1 } from './v1/memory.js';
import { applyNetClsV1, applyNetPrioV1 } from './v1/network.js';
import { applyPidsV1 } from './v1/pids.js';
import { applyCpuV2 } from './v2/cpu.js';
import { applyCpusetV2 } from './v2/cpuset.js';
import { applyHugetlbV2 } from './v2/hugetlb.js';
import { applyIoV2 } from './v2/io.js';
import { applyMemoryV2 } from './v2/memory.js';
import { applyPidsV2 } from './v2/pids.js';
import { applyUnifiedV2 } from './v2/unified.js';

export interface ApplyResult {
  /** Every file written, in order. */
  writes: FileWrite[];
  /** Settings left out, each with the reason. */
  skipped: string[];
}

/**
 * Applies `resources` to the cgroup. Throws CgroupError: INVALID_ARGUMENT
 * for a bad field (named in the message) or a value the kernel refused,
 * NOT_FOUND when the cgroup does not exist.
 */
export async function applyResources(cg: Cgroup, resources: CgroupResources): Promise<ApplyResult> {
  const r = normalizeResources(resources);
  if (!(await cg.exists())) {
    throw new CgroupError('NOT_FOUND', `cgroup ${JSON.stringify(cg.path)} does not exist`);
  }
  const w = new ResourceWriter();
  const missing = (what: string) => w.skip(`${what}: no hierarchy offers this controller`);

  if (r.cpu) {
    const cpuset = cg.controllerDir('cpuset');
    if (r.cpu.cpus !== undefined || r.cpu.mems !== undefined) {
      if (!cpuset) missing('cpuset');
      else if (cpuset.version === 1) await applyCpusetV1(cpuset.dir, r.cpu, w);
      else await applyCpusetV2(cpuset.dir, r.cpu, w);
    }
    const cpu = cg.controllerDir('cpu');
    const { shares, quota, period, realtimePeriod, realtimeRuntime } = r.cpu;
    if ([shares, quota, period, realtimePeriod, realtimeRuntime].some((v) => v !== undefined)) {
      if (!cpu) missing('cpu');
      else if (cpu.version === 1) await applyCpuV1(cpu.dir, r.cpu, w);
      else await applyCpuV2(cpu.dir, r.cpu, w);
    }
  }

  if (r.memory) {
    const d = cg.controllerDir('memory');
    if (!d) missing('memory');
    else if (d.version === 1) await applyMemoryV1(d.dir, r.memory, w);
    else await applyMemoryV2(d.dir, r.memory, w);
  }

  if (r.pids) {
    const d = cg.controllerDir('pids');
    if (!d) missing('pids');
    else if (d.version === 1) await applyPidsV1(d.dir, r.pids, w);
    else await applyPidsV2(d.dir, r.pids, w);
  }

  if (r.blockIO) {
    const d = cg.controllerDir('blkio');
    if (!d) missing('blkio');
    else if (d.version === 1) await applyBlkioV1(d.dir, r.blockIO, w);
    else await applyIoV2(d.dir, r.blockIO, w);
  }

  if (r.hugepageLimits.length > 0) {
    const d = cg.controllerDir('hugetlb');
    if (!d) missing('hugetlb');
    else if (d.version === 1) await applyHugetlbV1(d.dir, r.hugepageLimits, w);
    else await applyHugetlbV2(d.dir, r.hugepageLimits, w);
  }

  if (r.devices.length > 0) {
    const d = cg.controllerDir('devices');
    if (!d) missing('devices');
    else if (d.version === 1) await applyDevicesV1(d.dir, r.devices, w);
    else w.skip('devices: cgroup v2 device rules are an eBPF program, which the container runtime installs');
  }

  if (r.network) {
    const cls = cg.controllerDir('net_cls');
    const prio = cg.controllerDir('net_prio');
    if (r.network.classID !== undefined) {
      if (cls) await applyNetClsV1(cls.dir, r.network, w);
      else missing('net_cls');
    }
    if (r.network.priorities.length > 0) {
      if (prio) await applyNetPrioV1(prio.dir, r.network, w);
      else missing('net_prio');
    }
  }

  if (r.unified.length > 0) {
    if (cg.v2Dir === null) {
      throw new CgroupError('INVALID_ARGUMENT', 'resources.unified: needs a cgroup v2 hierarchy, and there is none');
    }
    await applyUnifiedV2(cg.v2Dir, r.unified, w);
  }

  return { writes: w.writes, skipped: w.skipped };
}
