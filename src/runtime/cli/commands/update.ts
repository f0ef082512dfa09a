// `update [--resources FILE|-] [limit flags] ID`: changes a running
// container's cgroup limits in the guest (UpdateContainer). The flags are
// runc's; a flag wins over the same value in --resources.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { OCI_RESOURCES_TYPE_URL, packJsonAny } from '../../task/task-service.js';
import { loadContainer, withMonitor } from '../containers.js';
import { CliError } from '../context.js';
import type { CommandRunner } from './types.js';

interface UpdateFlags {
  resources?: string;
  blkioWeight?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpuShare?: string;
  cpuRtPeriod?: string;
  cpuRtRuntime?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  memory?: string;
  memoryReservation?: string;
  memorySwap?: string;
  kernelMemory?: string;
  pidsLimit?: string;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "-1", "1048576", "100m", "1G", "512KiB" -> bytes (-1: unlimited). */
export function parseBytes(flag: string, text: string): number {
  if (text === '-1') return -1;
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new CliError(`invalid value for --${flag}: ${JSON.stringify(text)}`);
  return Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}

function parseInteger(flag: string, text: string): number {
  if (!/^-?[0-9]+$/.test(text)) throw new CliError(`invalid value for --${flag}: ${JSON.stringify(text)}`);
  return Number(text);
}

async function readResources(source: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = source === '-' ? await readStdin() : await readFile(source, 'utf8');
  } catch (err) {
    throw new CliError(`--resources ${source}: ${(err as Error).message}`);
  }
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not a JSON object');
    return json as Record<string, unknown>;
  } catch (err) {
    throw new CliError(`--resources ${source}: ${(err as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The LinuxResources (JSON) the flags describe, on top of --resources. */
export async function resourcesFromFlags(o: UpdateFlags): Promise<Record<string, unknown>> {
  const r = o.resources !== undefined ? await readResources(o.resources) : {};
  const section = (name: string) => ((r[name] ??= {}) as Record<string, unknown>);
  if (o.blkioWeight !== undefined) section('blockIO').weight = parseInteger('blkio-weight', o.blkioWeight);
  if (o.cpuPeriod !== undefined) section('cpu').period = parseInteger('cpu-period', o.cpuPeriod);
  if (o.cpuQuota !== undefined) section('cpu').quota = parseInteger('cpu-quota', o.cpuQuota);
  if (o.cpuShare !== undefined) section('cpu').shares = parseInteger('cpu-share', o.cpuShare);
  if (o.cpuRtPeriod !== undefined) section('cpu').realtimePeriod = parseInteger('cpu-rt-period', o.cpuRtPeriod);
  if (o.cpuRtRuntime !== undefined) section('cpu').realtimeRuntime = parseInteger('cpu-rt-runtime', o.cpuRtRuntime);
  if (o.cpusetCpus !== undefined) section('cpu').cpus = o.cpusetCpus;
  if (o.cpusetMems !== undefined) section('cpu').mems = o.cpusetMems;
  if (o.memory !== undefined) section('memory').limit = parseBytes('memory', o.memory);
  if (o.memoryReservation !== undefined) section('memory').reservation = parseBytes('memory-reservation', o.memoryReservation);
  if (o.memorySwap !== undefined) section('memory').swap = parseBytes('memory-swap', o.memorySwap);
  if (o.kernelMemory !== undefined) section('memory').kernel = parseBytes('kernel-memory', o.kernelMemory);
  if (o.pidsLimit !== undefined) section('pids').limit = parseInteger('pids-limit', o.pidsLimit);
  return r;
}

export function register(program: Command, run: CommandRunner): void {
  program
    .command('update')
    .description('update the resource limits of a running container')
    .argument('<id>', 'container id')
    .option('-r, --resources <file>', 'a LinuxResources JSON file ("-" reads stdin)')
    .option('--blkio-weight <n>', 'block IO weight (10-1000)')
    .option('--cpu-period <us>', 'CPU CFS period')
    .option('--cpu-quota <us>', 'CPU CFS quota')
    .option('--cpu-share <n>', 'CPU shares')
    .option('--cpu-rt-period <us>', 'CPU real-time period')
    .option('--cpu-rt-runtime <us>', 'CPU real-time runtime')
    .option('--cpuset-cpus <list>', 'CPUs to run on')
    .option('--cpuset-mems <list>', 'memory nodes to use')
    .option('--memory <bytes>', 'memory limit (e.g. 64m; -1 for none)')
    .option('--memory-reservation <bytes>', 'memory soft limit')
    .option('--memory-swap <bytes>', 'memory plus swap limit')
    .option('--kernel-memory <bytes>', 'kernel memory limit')
    .option('--pids-limit <n>', 'maximum number of processes')
    .action((id: string, o: UpdateFlags) =>
      run(async (ctx) => {
        const resources = await resourcesFromFlags(o);
        const c = await loadContainer(ctx, id);
        if (c.state.status === 'stopped' || c.state.status === 'creating') throw new CliError(`container "${id}" is ${c.state.status}`);
        await withMonitor(c, (task) => task.update({ id, resources: packJsonAny(OCI_RESOURCES_TYPE_URL, resources) }));
      }),
    );
}
