// A real kata-ts-agent process (host mode) with a busybox rootfs, for RPC
// tests that run containers through one runtime (runc or crun), plus the
// checks that a container, or the whole agent, left nothing behind:
//
//   processes   no descendant of the agent, and no process anywhere whose
//               cgroup lies below the test's cgroup parent;
//   mounts      nothing mounted below the agent's directory or the rootfs;
//   cgroups     no cgroup directory of the container in any hierarchy;
//   runtime     `<runtime> --root <state>/oci-runtime list` is empty;
//   bundles     the agent's bundle and console socket directories are empty.
//
// Everything is read from /proc, the cgroup filesystems and the runtime
// itself: nothing is assumed from what the agent answered.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Code, isTtrpcError } from '../../src/ttrpc/index.js';
import { specToProto } from '../../src/oci/convert.js';
import type { Spec } from '../../src/oci/spec.js';
import type { RuntimeKind } from '../../src/agent/container/oci-runtime.js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { DeviceSchema } from '../../src/protocols/gen/agent_pb.js';
import { startAgentProcess, listTree, type AgentUnderTest } from './agent-process.js';
import { busyboxSpec, createBusyboxRootfs, type BusyboxRootfs, type BusyboxSpecOptions } from './busybox-rootfs.js';
import { cgroupMountPoints } from './container-env.js';

const execFileAsync = promisify(execFile);

/** A CreateContainerRequest.devices entry. */
export type DeviceInit = MessageInitShape<typeof DeviceSchema>;

/** Polls `check` until it returns a value other than undefined/false; throws after `timeoutMs`. */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let pause = 5;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(pause);
    pause = Math.min(pause * 2, 50);
  }
}

/** True for a ttRPC error with this status code. */
export function hasCode(c: Code, message?: RegExp) {
  return (e: unknown) => isTtrpcError(e) && e.code === c && (message === undefined || message.test(e.message));
}

interface ProcEntry {
  pid: number;
  ppid: number;
  comm: string;
}

/** Every process in /proc with its parent. */
async function listProcesses(): Promise<ProcEntry[]> {
  const out: ProcEntry[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    out.push({ pid: Number(name), ppid: Number(fields[1]), comm });
  }
  return out;
}

/** Descendants of `root` (children, their children, ...), as "pid comm". */
export async function descendantsOf(root: number): Promise<string[]> {
  const procs = await listProcesses();
  const found: string[] = [];
  const parents = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of procs) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        found.push(`${p.pid} ${p.comm}`);
        grew = true;
      }
    }
  }
  return found;
}

/** Processes (anywhere on the machine) whose cgroup, in any hierarchy, lies below `cgroupParent`. */
export async function processesInCgroup(cgroupParent: string): Promise<string[]> {
  const found: string[] = [];
  for (const p of await listProcesses()) {
    let text: string;
    try {
      text = await readFile(`/proc/${p.pid}/cgroup`, 'utf8');
    } catch {
      continue;
    }
    // "4:memory:/kata-ts-test-1-runc/abc"
    const inside = text.split('\n').some((line) => {
      const path = line.split(':').slice(2).join(':');
      return path === cgroupParent || path.startsWith(`${cgroupParent}/`);
    });
    if (inside) found.push(`${p.pid} ${p.comm}`);
  }
  return found;
}

/** Mount points (in the mount namespace of `pid`) at or below any of `dirs`. */
export async function mountsBelow(dirs: string[], pid: number | 'self' = 'self'): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/mountinfo`, 'utf8');
  } catch {
    return [];
  }
  const points = text
    .split('\n')
    .map((line) => (line.split(' ')[4] ?? '').replace(/\\040/g, ' '))
    .filter((p) => p !== '');
  return points.filter((p) => dirs.some((d) => p === d || p.startsWith(`${d}/`)));
}

/** Containers the runtime itself still knows in `root` (its --root state directory). */
export async function runtimeContainers(kind: RuntimeKind, root: string): Promise<string[]> {
  const { stdout } = await execFileAsync(kind, ['--root', root, 'list', '--format', 'json']);
  const text = stdout.trim();
  const list = (text === '' ? null : JSON.parse(text)) as Array<{ id: string }> | null;
  return (list ?? []).map((c) => c.id);
}

export interface ContainerAgentOptions {
  /** Extra agent arguments. */
  agentArgs?: string[];
}

/** What a process printed and how it ended. */
export interface ProcessResult {
  stdout: string;
  stderr: string;
  status: number;
}

/** A running agent for one runtime, its rootfs and a cgroup parent of its own. */
export class ContainerAgent {
  /** Container ids created through `create` (checked by `assertContainerGone`). */
  readonly created = new Set<string>();

  private constructor(
    readonly kind: RuntimeKind,
    readonly agent: AgentUnderTest,
    readonly rootfs: BusyboxRootfs,
    /** linux.cgroupsPath parent of every container of this agent. */
    readonly cgroupParent: string,
  ) {}

  static async start(kind: RuntimeKind, opts: ContainerAgentOptions = {}): Promise<ContainerAgent> {
    const rootfs = await createBusyboxRootfs();
    try {
      const agent = await startAgentProcess(['--oci-runtime', kind, ...(opts.agentArgs ?? [])]);
      const parent = `/kata-ts-test-${process.pid}-${kind}-${randomBytes(3).toString('hex')}`;
      return new ContainerAgent(kind, agent, rootfs, parent);
    } catch (err) {
      await rootfs.cleanup();
      throw err;
    }
  }

  get api() {
    return this.agent.api;
  }

  get pid(): number {
    return this.agent.child.pid!;
  }

  /** linux.cgroupsPath of container `id`. */
  cgroupsPath(id: string): string {
    return `${this.cgroupParent}/${id}`;
  }

  /** The container's directory in the cgroup v1 hierarchy of `controller`. */
  cgroupDir(controller: string, id: string): string {
    return join('/sys/fs/cgroup', controller, this.cgroupsPath(id));
  }

  /** A busybox spec for container `id` (its own cgroup below the parent). */
  spec(id: string, args: string[], opts: Partial<BusyboxSpecOptions> = {}): Spec {
    return busyboxSpec({ rootfs: this.rootfs.rootfs, args, cgroupsPath: this.cgroupsPath(id), ...opts });
  }

  /** CreateContainer with this spec (exec id = container id). */
  async create(id: string, spec: Spec, devices: DeviceInit[] = []): Promise<void> {
    this.created.add(id);
    await this.api.createContainer({ containerId: id, execId: id, OCI: specToProto(spec), devices });
  }

  /** CreateContainer + StartContainer. */
  async createAndStart(id: string, spec: Spec, devices: DeviceInit[] = []): Promise<void> {
    await this.create(id, spec, devices);
    await this.api.startContainer({ containerId: id });
  }

  /** Reads a stream to its end (OUT_OF_RANGE), `len` bytes per call. */
  async readAll(id: string, execId: string, which: 'stdout' | 'stderr', len = 32768): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for (;;) {
      try {
        const r = which === 'stdout' ? await this.api.readStdout({ containerId: id, execId, len }) : await this.api.readStderr({ containerId: id, execId, len });
        assert.ok(r.data.length > 0 && r.data.length <= len, `a read returns 1..len bytes, got ${r.data.length}`);
        chunks.push(Buffer.from(r.data));
      } catch (err) {
        assert.ok(hasCode(Code.OUT_OF_RANGE)(err), `end of stream is OUT_OF_RANGE: ${String(err)}`);
        return Buffer.concat(chunks);
      }
    }
  }

  /** Reads stdout and stderr to their end and waits for the process. */
  async collect(id: string, execId: string = id): Promise<ProcessResult> {
    const [out, err, wait] = await Promise.all([
      this.readAll(id, execId, 'stdout'),
      this.readAll(id, execId, 'stderr'),
      this.api.waitProcess({ containerId: id, execId }),
    ]);
    return { stdout: out.toString(), stderr: err.toString(), status: wait.status };
  }

  /** Runs a whole container: create, start, collect, remove. */
  async run(id: string, spec: Spec, devices: DeviceInit[] = []): Promise<ProcessResult> {
    await this.createAndStart(id, spec, devices);
    const result = await this.collect(id);
    await this.api.removeContainer({ containerId: id });
    return result;
  }

  /** Bundles and console sockets the agent still keeps. */
  stateLeftovers(): string[] {
    const { stateDir } = this.agent;
    return [...listTree(join(stateDir, 'bundles')).map((p) => `bundles/${p}`), ...listTree(join(stateDir, 'sockets')).map((p) => `sockets/${p}`)];
  }

  /** Cgroup directories of container `id` (or of the whole parent when `id` is undefined) that exist. */
  async cgroupDirs(id?: string): Promise<string[]> {
    const sub = id === undefined ? this.cgroupParent : this.cgroupsPath(id);
    return (await cgroupMountPoints()).map((m) => join(m, sub)).filter((p) => existsSync(p));
  }

  /**
   * Everything a removed container could have left; [] when nothing. With
   * `ids` undefined, every container this harness created.
   */
  async leftovers(ids: Iterable<string> = this.created): Promise<string[]> {
    const found: string[] = [];
    for (const d of await descendantsOf(this.pid)) found.push(`process below the agent: ${d}`);
    for (const p of await processesInCgroup(this.cgroupParent)) found.push(`process in the test cgroups: ${p}`);
    const dirs = [this.agent.dir, this.rootfs.dir];
    for (const m of await mountsBelow(dirs)) found.push(`mount: ${m}`);
    for (const m of await mountsBelow(dirs, this.pid)) found.push(`mount in the agent's namespace: ${m}`);
    for (const id of ids) for (const d of await this.cgroupDirs(id)) found.push(`cgroup: ${d}`);
    for (const c of await runtimeContainers(this.kind, join(this.agent.stateDir, 'oci-runtime'))) found.push(`runtime state: ${c}`);
    for (const s of this.stateLeftovers()) found.push(`agent state: ${s}`);
    return found;
  }

  /** Asserts that nothing of the containers created so far is left, then forgets them. */
  async assertNothingLeft(): Promise<void> {
    const found = await this.leftovers();
    this.created.clear();
    assert.deepEqual(found, [], 'nothing left behind');
  }

  /**
   * Stops the agent (SIGTERM), asserts it exited 0 and left nothing (processes,
   * mounts, cgroups, runtime state, bundles), and removes what the test made.
   */
  async shutdown(): Promise<void> {
    const { agent } = this;
    try {
      const exit = await agent.shutdown(true);
      assert.equal(exit, 0, `agent exit code\n${agent.output()}`);
      const found: string[] = [];
      for (const p of await processesInCgroup(this.cgroupParent)) found.push(`process in the test cgroups: ${p}`);
      for (const m of await mountsBelow([agent.dir, this.rootfs.dir])) found.push(`mount: ${m}`);
      for (const parent of await this.cgroupDirs()) {
        for (const e of await readdir(parent, { withFileTypes: true })) {
          if (e.isDirectory()) found.push(`cgroup: ${join(parent, e.name)}`);
        }
      }
      for (const c of await runtimeContainers(this.kind, join(agent.stateDir, 'oci-runtime'))) found.push(`runtime state: ${c}`);
      for (const s of this.stateLeftovers()) found.push(`agent state: ${s}`);
      assert.deepEqual(found, [], 'the agent left nothing behind at exit');
    } finally {
      await this.cleanupAfterFailure();
    }
  }

  /** Best effort removal of whatever is left (used after a failure too). */
  private async cleanupAfterFailure(): Promise<void> {
    const root = join(this.agent.stateDir, 'oci-runtime');
    try {
      for (const id of await runtimeContainers(this.kind, root)) {
        await execFileAsync(this.kind, ['--root', root, 'delete', '--force', id]).catch(() => undefined);
      }
    } catch {
      // no state directory
    }
    for (const parent of await this.cgroupDirs()) {
      for (const e of await readdir(parent, { withFileTypes: true }).catch(() => [])) {
        if (e.isDirectory()) await rmdir(join(parent, e.name)).catch(() => undefined);
      }
      await rmdir(parent).catch(() => undefined);
    }
    await rm(this.agent.dir, { recursive: true, force: true });
    await this.rootfs.cleanup();
  }
}

/** A fresh container id with a readable prefix. */
export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
