// cgroup v1 blkio.
//
// Statistics come from one of three families, whichever the kernel fills:
//   blkio.io_serviced_recursive ...       CFQ scheduler (kernels before 5.0)
//   blkio.bfq.io_serviced_recursive ...   BFQ scheduler
//   blkio.throttle.io_serviced_recursive  the throttling layer (any scheduler,
//                                         counted once a throttle rule exists)
// Lines look like "8:0 Read 1282048" (per operation) or "8:0 6792" (per
// device), with a trailing "Total N" line that names no device.
import { join } from 'node:path';
import { exists, readOptional, type ResourceWriter } from '../fs.js';
import type { NormalizedBlockIO, NormalizedThrottleDevice } from '../normalize.js';
import type { BlkioStats, BlkioStatsEntry } from '../types.js';

/** Parses one blkio statistics file. Operation names are lower-cased, as Kata reports them. */
export function parseBlkioFile(text: string): BlkioStatsEntry[] {
  const out: BlkioStatsEntry[] = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    const dev = /^(\d+):(\d+)$/.exec(parts[0] ?? '');
    if (!dev) continue;
    const [op, value] = parts.length === 3 ? [parts[1]!.toLowerCase(), parts[2]!] : ['', parts[1] ?? ''];
    if (!/^\d+$/.test(value)) continue;
    out.push({ major: BigInt(dev[1]!), minor: BigInt(dev[2]!), op, value: BigInt(value) });
  }
  return out;
}

async function readEntries(dir: string, ...names: string[]): Promise<BlkioStatsEntry[]> {
  for (const name of names) {
    const text = await readOptional(join(dir, name));
    if (text !== null) return parseBlkioFile(text);
  }
  return [];
}

async function hasDeviceLines(file: string): Promise<boolean> {
  const text = await readOptional(file);
  return text !== null && parseBlkioFile(text).length > 0;
}

/** Reads the scheduler-kept statistics (CFQ: prefix "blkio.", BFQ: "blkio.bfq."). */
async function readSchedulerStats(dir: string, prefix: string): Promise<BlkioStats> {
  const r = (name: string) => readEntries(dir, `${prefix}${name}`);
  return {
    ioServiceBytesRecursive: await r('io_service_bytes_recursive'),
    ioServicedRecursive: await r('io_serviced_recursive'),
    ioQueuedRecursive: await r('io_queued_recursive'),
    ioServiceTimeRecursive: await r('io_service_time_recursive'),
    ioWaitTimeRecursive: await r('io_wait_time_recursive'),
    ioMergedRecursive: await r('io_merged_recursive'),
    ioTimeRecursive: await r('time_recursive'),
    sectorsRecursive: await r('sectors_recursive'),
  };
}

export async function readBlkioStatsV1(dir: string): Promise<BlkioStats> {
  if (await hasDeviceLines(join(dir, 'blkio.io_serviced_recursive'))) return readSchedulerStats(dir, 'blkio.');
  if (await hasDeviceLines(join(dir, 'blkio.bfq.io_serviced_recursive'))) return readSchedulerStats(dir, 'blkio.bfq.');
  return {
    ioServiceBytesRecursive: await readEntries(
      dir,
      'blkio.throttle.io_service_bytes_recursive',
      'blkio.throttle.io_service_bytes',
    ),
    ioServicedRecursive: await readEntries(dir, 'blkio.throttle.io_serviced_recursive', 'blkio.throttle.io_serviced'),
    ioQueuedRecursive: [],
    ioServiceTimeRecursive: [],
    ioWaitTimeRecursive: [],
    ioMergedRecursive: [],
    ioTimeRecursive: [],
    sectorsRecursive: [],
  };
}

/** The first of `names` that exists in `dir`, or undefined. */
async function firstExisting(dir: string, ...names: string[]): Promise<string | undefined> {
  for (const n of names) if (await exists(join(dir, n))) return n;
  return undefined;
}

async function writeThrottle(dir: string, file: string, list: NormalizedThrottleDevice[], w: ResourceWriter) {
  for (const d of list) await w.write(dir, file, `${d.major}:${d.minor} ${d.rate}`);
}

export async function applyBlkioV1(dir: string, b: NormalizedBlockIO, w: ResourceWriter): Promise<void> {
  // BFQ's knobs when the kernel has them, CFQ's otherwise.
  const weightFile = await firstExisting(dir, 'blkio.bfq.weight', 'blkio.weight');
  const weightDeviceFile = await firstExisting(dir, 'blkio.bfq.weight_device', 'blkio.weight_device');
  if (b.weight !== undefined) {
    if (weightFile) await w.write(dir, weightFile, b.weight);
    else w.skip('blkio.weight: no proportional-weight I/O scheduler (BFQ or CFQ) in this kernel');
  }
  if (b.leafWeight !== undefined) await w.writeIfSupported(dir, 'blkio.leaf_weight', b.leafWeight);
  for (const d of b.weightDevice) {
    if (d.weight !== undefined) {
      if (weightDeviceFile) await w.write(dir, weightDeviceFile, `${d.major}:${d.minor} ${d.weight}`);
      else w.skip('blkio.weight_device: no proportional-weight I/O scheduler in this kernel');
    }
    if (d.leafWeight !== undefined) {
      await w.writeIfSupported(dir, 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`);
    }
  }
  await writeThrottle(dir, 'blkio.throttle.read_bps_device', b.throttleReadBpsDevice, w);
  await writeThrottle(dir, 'blkio.throttle.write_bps_device', b.throttleWriteBpsDevice, w);
  await writeThrottle(dir, 'blkio.throttle.read_iops_device', b.throttleReadIOPSDevice, w);
  await writeThrottle(dir, 'blkio.throttle.write_iops_device', b.throttleWriteIOPSDevice, w);
}
