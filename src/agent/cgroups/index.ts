// The guest agent's cgroup layer: statistics, resource updates, freezing
// and OOM events for container cgroups, on cgroup v1, v2 or hybrid hosts.
// It knows nothing of RPCs; the RPC layer converts to and from protobuf.
export { CgroupError, type CgroupErrorCode } from './errors.js';
export { detectCgroupLayout, parseMountInfo, type CgroupLayout, type CgroupMode } from './layout.js';
export { parseCgroupsPath, parseProcCgroup } from './path.js';
export {
  Cgroup,
  addProcess,
  cgroupOfPid,
  cgroupPids,
  createCgroup,
  openCgroup,
  removeCgroup,
  resolveCgroup,
  type CgroupOptions,
  type ControllerDir,
  type ControllerName,
} from './cgroup.js';
export { readStats, emptyCgroupStats } from './stats.js';
export { applyResources, type ApplyResult } from './resources.js';
export { normalizeResources } from './normalize.js';
export { freeze, thaw, freezerState, type FreezerState, type FreezeOptions } from './freezer.js';
export { OomWatcher, type OomWatcherOptions } from './oom.js';
export { networkStats, parseNetDev, type NetDevCounters } from './network.js';
export { sharesToWeight } from './v2/cpu.js';
export { blkioWeightToIoWeight } from './v2/io.js';
export type * from './types.js';
export type { FileWrite } from './fs.js';
