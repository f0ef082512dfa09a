// OnlineCPUMem and MemHotplugByProbe: bringing hot-plugged CPUs and memory
// into use, through sysfs.
//
// OnlineCPUMem (upstream's semantics since 2023): `nb_cpus` is how many CPUs
// should be online in the guest; 0 skips the CPU step. Hot-added CPUs show up
// in sysfs asynchronously, so the agent tries up to 100 times, 50 ms apart:
// each attempt writes "1" to <sysfs>/devices/system/cpu/cpuN/online of
// offline CPUs (lowest numbers first, no more than are missing), then counts
// the online CPUs. Unless `cpu_only`, every offline memory block
// (<sysfs>/devices/system/memory/memoryN/online) is then onlined; a block
// that refuses is skipped, as upstream does.
//
// A CPU is counted online when its `online` file says 1, or when it has no
// such file (a CPU that cannot be unplugged, usually cpu0). On a real kernel
// this is exactly the list in cpu/online; it also works on fake sysfs trees.
//
// MemHotplugByProbe writes each address, as 0x-prefixed hex, to
// <sysfs>/devices/system/memory/probe (kernels with memory probe support).
import { open, readdir, readFile } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { errnoCode, GuestError, GuestGrpcCode, invalidGuestField } from './errors.js';

/** Upstream's wait: 100 attempts, 50 ms apart (5 s). */
export const ONLINE_CPU_MAX_ATTEMPTS = 100;
export const ONLINE_CPU_RETRY_DELAY_MS = 50;

export interface OnlineCpuMemRequest {
  /** How many CPUs should be online; 0 skips the CPU step. */
  nbCpus: number;
  /** Only CPUs: leave memory blocks alone. */
  cpuOnly: boolean;
}

export interface SysfsOptions {
  /** sysfs root. Default "/sys"; a fake tree in tests. */
  sysfsRoot?: string;
}

export interface OnlineCpuMemOptions extends SysfsOptions {
  /** Attempts at reaching nb_cpus online CPUs. Default 100. */
  maxAttempts?: number;
  /** Pause between attempts, in ms. Default 50. */
  retryDelayMs?: number;
  /** How to wait between attempts (injectable for tests). Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
}

export interface OnlineCpuMemResult {
  /** Online CPUs at the end (undefined when the CPU step was skipped). */
  onlineCpus: number | undefined;
  /** CPUs this call brought online, e.g. ["cpu2"]. */
  onlinedCpus: string[];
  /** Memory blocks this call brought online, e.g. ["memory33"]. */
  onlinedMemoryBlocks: string[];
  /** Offline memory blocks that refused to come online. */
  failedMemoryBlocks: string[];
}

/** One sysfs object of a kind (cpuN, memoryN) and its online state. */
interface Hotpluggable {
  name: string;
  index: number;
  /** The object's `online` file, if it has one. */
  onlineFile: string | undefined;
  online: boolean;
}

/** The cpuN / memoryN entries of `dir`, by number, with their state. */
async function listObjects(dir: string, prefix: string): Promise<Hotpluggable[]> {
  const pattern = new RegExp(`^${prefix}(\\d+)$`);
  const out: Hotpluggable[] = [];
  for (const name of await readdir(dir)) {
    const m = pattern.exec(name);
    if (m === null) continue;
    const file = join(dir, name, 'online');
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      text = undefined; // no online file: cannot be offlined, so online
    }
    out.push({ name, index: Number(m[1]), onlineFile: text === undefined ? undefined : file, online: text === undefined || text.trim() !== '0' });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** Writes "1" to an online file (write-only, never created). Returns whether it worked. */
async function writeOnline(file: string): Promise<boolean> {
  try {
    const handle = await open(file, fsConstants.O_WRONLY);
    try {
      await handle.write('1');
    } finally {
      await handle.close();
    }
    return true;
  } catch {
    return false;
  }
}

function sysfsDir(options: SysfsOptions, kind: 'cpu' | 'memory'): string {
  return join(options.sysfsRoot ?? '/sys', 'devices', 'system', kind);
}

async function listOrFail(dir: string, prefix: string, field: string): Promise<Hotpluggable[]> {
  try {
    return await listObjects(dir, prefix);
  } catch (err) {
    const code = errnoCode(err) === 'ENOENT' ? GuestGrpcCode.FAILED_PRECONDITION : GuestGrpcCode.INTERNAL;
    throw new GuestError(code, field, `cannot list ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/** Onlines offline CPUs until `wanted` are online, retrying while hot-added CPUs appear. */
async function onlineCpus(wanted: number, options: OnlineCpuMemOptions, onlined: string[]): Promise<number> {
  const dir = sysfsDir(options, 'cpu');
  const field = 'online_cpu_mem.nb_cpus';
  const attempts = options.maxAttempts ?? ONLINE_CPU_MAX_ATTEMPTS;
  const retryDelayMs = options.retryDelayMs ?? ONLINE_CPU_RETRY_DELAY_MS;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  let online = 0;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const cpus = await listOrFail(dir, 'cpu', field);
    online = cpus.filter((c) => c.online).length;
    if (online >= wanted) return online;
    let missing = wanted - online;
    for (const cpu of cpus) {
      if (missing === 0) break;
      if (cpu.online || cpu.onlineFile === undefined) continue;
      if (await writeOnline(cpu.onlineFile)) {
        onlined.push(cpu.name);
        missing--;
      }
    }
    online = (await listOrFail(dir, 'cpu', field)).filter((c) => c.online).length;
    if (online >= wanted) return online;
    if (attempt < attempts) await sleep(retryDelayMs);
  }
  throw new GuestError(
    GuestGrpcCode.INTERNAL,
    field,
    `only ${online} of the ${wanted} CPUs wanted are online after ${attempts} attempts`,
  );
}

/** Onlines every offline memory block. */
async function onlineMemory(options: OnlineCpuMemOptions, result: OnlineCpuMemResult): Promise<void> {
  const blocks = await listOrFail(sysfsDir(options, 'memory'), 'memory', 'online_cpu_mem.cpu_only');
  for (const block of blocks) {
    if (block.online || block.onlineFile === undefined) continue;
    if (await writeOnline(block.onlineFile)) result.onlinedMemoryBlocks.push(block.name);
    else result.failedMemoryBlocks.push(block.name);
  }
}

/** OnlineCPUMem. Throws GuestErrors naming the request field (online_cpu_mem.nb_cpus, ...). */
export async function onlineCpuMem(request: OnlineCpuMemRequest, options: OnlineCpuMemOptions = {}): Promise<OnlineCpuMemResult> {
  if (!Number.isInteger(request.nbCpus) || request.nbCpus < 0 || request.nbCpus > 0xffffffff) {
    throw invalidGuestField('online_cpu_mem.nb_cpus', `${request.nbCpus} is not a uint32`);
  }
  const result: OnlineCpuMemResult = { onlineCpus: undefined, onlinedCpus: [], onlinedMemoryBlocks: [], failedMemoryBlocks: [] };
  if (request.nbCpus > 0) result.onlineCpus = await onlineCpus(request.nbCpus, options, result.onlinedCpus);
  if (!request.cpuOnly) await onlineMemory(options, result);
  return result;
}

const U64_MAX = (1n << 64n) - 1n;

/** The probe file's text for an address: 0x-prefixed upper-case hex (as upstream writes it). */
export function probeText(address: bigint): string {
  return `0x${address.toString(16).toUpperCase()}`;
}

/**
 * MemHotplugByProbe: writes each address to the memory probe file, in order.
 * Throws GuestErrors naming mem_hotplug_by_probe.memHotplugProbeAddr[i].
 */
export async function memHotplugByProbe(addresses: readonly (bigint | number)[], options: SysfsOptions = {}): Promise<void> {
  const field = 'mem_hotplug_by_probe.memHotplugProbeAddr';
  const values = addresses.map((a, i) => {
    const v = typeof a === 'bigint' ? a : Number.isSafeInteger(a) ? BigInt(a) : -1n;
    if (v < 0n || v > U64_MAX) throw invalidGuestField(`${field}[${i}]`, `${String(a)} is not a uint64 address`);
    return v;
  });
  if (values.length === 0) return;
  const probe = join(sysfsDir(options, 'memory'), 'probe');
  for (const [i, address] of values.entries()) {
    let handle;
    try {
      handle = await open(probe, fsConstants.O_WRONLY);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        throw new GuestError(GuestGrpcCode.FAILED_PRECONDITION, field, `the guest kernel has no memory probe interface (${probe} is missing)`, { cause: err });
      }
      throw new GuestError(GuestGrpcCode.INTERNAL, field, `cannot open ${probe}: ${(err as Error).message}`, { cause: err });
    }
    try {
      // One write(2) per address: sysfs takes each write as one request.
      await handle.write(probeText(address));
    } catch (err) {
      const code = errnoCode(err) === 'EINVAL' ? GuestGrpcCode.INVALID_ARGUMENT : GuestGrpcCode.INTERNAL;
      throw new GuestError(code, `${field}[${i}]`, `the kernel refused ${probeText(address)}: ${(err as Error).message}`, { cause: err });
    } finally {
      await handle.close();
    }
  }
}
