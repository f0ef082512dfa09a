// Container lifecycle RPCs. Each validates its request, converts protobuf to
// the OCI JSON model and calls into the sandbox; errors are translated to
// statuses by `translated`.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Code, TtrpcError } from '../../ttrpc/index.js';
import { specFromProto, resourcesFromProto } from '../../oci/convert.js';
import { parseSpec } from '../../oci/spec.js';
import { DEVICE_RULE_WILDCARD_ANNOTATION } from '../../oci/annotations.js';
import { createContainer } from '../sandbox/create-container.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { validateContainerId } from '../container/validate.js';
import { cgroupOfPid, networkStats, readStats } from '../cgroups/index.js';
import type { AgentServiceImpl } from './agent-service.js';
import { invalidArgument, translated } from './errors.js';

const run = promisify(execFile);

/**
 * The processes of a container: those that share its init process's cgroup
 * in EVERY hierarchy. A union would be wrong where the runtime made no cgroup
 * for the container in some hierarchy: on a hybrid host, crun (run without
 * the cgroup2 mount) leaves the init in its parent's cgroup2 group - with
 * every other process of the machine.
 */
async function containerPids(initPid: number): Promise<number[]> {
  const cg = await cgroupOfPid(initPid);
  let common: number[] | undefined;
  for (const dir of cg.allDirs()) {
    const text = await readFile(join(dir, 'cgroup.procs'), 'utf8');
    const members = new Set(text.split('\n').filter((s) => /^\d+$/.test(s)).map(Number));
    common = (common ?? [...members]).filter((pid) => members.has(pid));
  }
  return (common ?? []).sort((a, b) => a - b);
}

/** Request fields of newer runtimes that this agent does not implement. */
function refuseUnsupported(fields: Array<[string, boolean]>): void {
  for (const [field, present] of fields) {
    if (present) throw new TtrpcError(Code.UNIMPLEMENTED, `${field}: not supported by this agent`);
  }
}

export function containerRpcs(sandbox: Sandbox): AgentServiceImpl {
  return {
    createContainer: (req) =>
      translated(async () => {
        validateContainerId(req.containerId);
        if (!req.OCI) throw invalidArgument('OCI', 'missing');
        refuseUnsupported([
          ['shared_mounts', req.sharedMounts.length > 0],
          ['stdin_port', req.stdinPort !== 0],
          ['stdout_port', req.stdoutPort !== 0],
          ['stderr_port', req.stderrPort !== 0],
        ]);
        req.devices.forEach((d, i) => {
          if (d.containerPath === '') throw invalidArgument(`devices[${i}].container_path`, 'missing');
        });
        // The spec arrives as protobuf; validate its JSON form like any untrusted config.json.
        // Our own runtime sends -1 for wildcards and says so; others send 0 (see annotations.ts).
        const zeroIsWildcard = req.OCI.Annotations[DEVICE_RULE_WILDCARD_ANNOTATION] !== '-1';
        const spec = parseSpec(specFromProto(req.OCI, { zeroIsWildcard }));
        await createContainer(sandbox, {
          containerId: req.containerId,
          execId: req.execId,
          devices: req.devices,
          storages: req.storages,
          spec,
          sandboxPidns: req.sandboxPidns,
        });
        return {};
      }),

    startContainer: (req) =>
      translated(async () => {
        await sandbox.container(req.containerId).start();
        return {};
      }),

    removeContainer: (req) =>
      translated(async () => {
        await sandbox.removeContainer(req.containerId, req.timeout);
        return {};
      }),

    pauseContainer: (req) =>
      translated(async () => {
        await sandbox.container(req.containerId).pause();
        return {};
      }),

    resumeContainer: (req) =>
      translated(async () => {
        await sandbox.container(req.containerId).resume();
        return {};
      }),

    updateContainer: (req) =>
      translated(async () => {
        const c = sandbox.container(req.containerId);
        if (!req.resources) throw invalidArgument('resources', 'missing');
        await c.update(resourcesFromProto(req.resources));
        return {};
      }),

    statsContainer: (req) =>
      translated(async () => {
        const c = sandbox.container(req.containerId);
        const cg = await cgroupOfPid(c.init.pid);
        return { cgroupStats: await readStats(cg), networkStats: await networkStats() };
      }),

    listProcesses: (req) =>
      translated(async () => {
        const c = sandbox.container(req.containerId);
        const pids = await containerPids(c.init.pid);
        const format = req.format || 'table';
        if (format === 'json') return { processList: new TextEncoder().encode(JSON.stringify(pids)) };
        if (format !== 'table') throw invalidArgument('format', `unknown format ${JSON.stringify(format)} (expected "table" or "json")`);
        // Like `runc ps`: the host's ps output, keeping the header and the container's processes.
        const args = req.args.length > 0 ? req.args : ['-ef'];
        const { stdout } = await run('ps', args, { maxBuffer: 16 << 20 });
        const lines = stdout.split('\n');
        const header = lines[0] ?? '';
        const pidColumn = header.trim().split(/\s+/).indexOf('PID');
        if (pidColumn < 0) throw invalidArgument('args', 'ps output has no PID column');
        const wanted = new Set(pids);
        const kept = lines.slice(1).filter((l) => wanted.has(Number(l.trim().split(/\s+/)[pidColumn])));
        return { processList: new TextEncoder().encode([header, ...kept].join('\n') + '\n') };
      }),
  };
}
