// The guest agent's container overhead: the same OCI runtime, with the same
// bundle, driven through the agent's RPCs and run directly, side by side in
// one run with interleaved samples.
//
//   node --import tsx bench/agent/run.ts [--runtimes runc,crun] [--rounds 20] [--exec-rounds 20]
//                                        [--mib 64] [--throughput-rounds 3] [--json]
//
// Needs root, busybox-static, runc and/or crun, and the compiled agent
// (`npm run build`): the agent runs as its own process (bin/kata-ts-agent,
// host mode, log level warn) and is reached over its unix socket.
//
// Per runtime:
//   lifecycle   a busybox `/bin/true` container, timed three ways:
//               agent:  CreateContainer + StartContainer + WaitProcess + RemoveContainer
//               run:    `<runtime> run --bundle B id` (create, start, wait, delete in one
//                       runtime process), B holding the config.json the agent wrote for
//                       its own container (after conversion, remapping, deny rules);
//               steps:  the runtime commands the agent itself runs, from this process:
//                       `create`, `start`, wait for the init (as a subreaper, like the
//                       agent), `delete --force`. agent/steps is the agent's own cost.
//   exec        `/bin/true` in a running `sleep` container.
//               agent:  ExecProcess + WaitProcess
//               direct: `<runtime> exec --process P id` (runs it and waits), same process.json.
//   stdout      a process writing N MiB of zeros to stdout (`dd bs=1M`).
//               agent:  ReadStdout (len 1 MiB) until the end of the stream
//               direct: `<runtime> run` with its stdout a pipe to this process.
//               Timed from the first byte to the end, so container setup is left out.
// crun on a hybrid cgroup host runs, in every case, through the same
// private-mount-namespace wrapper (see src/agent/container/oci-runtime.ts).
// Rounds rotate which side goes first; the tables show medians and ratios.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { processToProto, specToProto } from '../../src/oci/convert.js';
import { stringifySpec } from '../../src/oci/json.js';
import type { Spec } from '../../src/oci/spec.js';
import { isHybridCgroupHost, type RuntimeKind } from '../../src/agent/container/oci-runtime.js';
import { Reaper } from '../../src/agent/process/reaper.js';
import { busyboxProcess } from '../../test/helpers/busybox-rootfs.js';
import { containerTestsSkipReason } from '../../test/helpers/container-env.js';
import { ContainerAgent } from '../../test/helpers/agent-harness.js';

/** Target for the lifecycle: agent / run at most this. */
const TARGET_RATIO = 1.25;

const { values } = parseArgs({
  options: {
    runtimes: { type: 'string', default: 'runc,crun' },
    rounds: { type: 'string', default: '20' },
    'exec-rounds': { type: 'string', default: '20' },
    mib: { type: 'string', default: '64' },
    'throughput-rounds': { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const RUNTIMES = values.runtimes.split(',') as RuntimeKind[];
const ROUNDS = Number(values.rounds);
const EXEC_ROUNDS = Number(values['exec-rounds']);
const MIB = Number(values.mib);
const THROUGHPUT_ROUNDS = Number(values['throughput-rounds']);
const WARMUP = 2;

const now = () => performance.now();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Runs `fns` in an order rotated by `round`, so that no side always goes first. */
async function rotated(round: number, fns: Array<() => Promise<void>>): Promise<void> {
  for (let i = 0; i < fns.length; i++) await fns[(i + round) % fns.length]!();
}

/** Runs a runtime command directly, as the agent would (same binary, same wrapper). */
class DirectRuntime {
  private constructor(
    readonly kind: RuntimeKind,
    readonly root: string,
    private readonly hybridWrapper: boolean,
  ) {}

  static async open(kind: RuntimeKind, root: string): Promise<DirectRuntime> {
    await mkdir(root, { recursive: true });
    return new DirectRuntime(kind, root, kind === 'crun' && (await isHybridCgroupHost()));
  }

  /** [file, argv] for `<runtime> --root R args...`. */
  command(args: string[]): [string, string[]] {
    const full = ['--root', this.root, ...args];
    if (!this.hybridWrapper) return [this.kind, full];
    return ['unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"', this.kind, ...full]];
  }

  /**
   * Runs to completion with stdio ignored (a container process started by it
   * gets /dev/null); throws unless it exits 0.
   */
  async run(args: string[]): Promise<void> {
    const [file, argv] = this.command(args);
    const child = spawn(file, argv, { stdio: 'ignore' });
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    if (code !== 0) throw new Error(`${this.kind} ${args.join(' ')}: exit ${code ?? signal}`);
  }

  /** Waits until the runtime reports container `id` running. */
  async waitRunning(id: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const [file, argv] = this.command(['state', id]);
      const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await once(child, 'close');
      if (/"status":\s*"running"/.test(out)) return;
      if (Date.now() > deadline) throw new Error(`${this.kind}: container ${id} did not start`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

interface Phases {
  create: number[];
  startWait: number[];
  remove: number[];
}

interface RuntimeResult {
  runtime: RuntimeKind;
  lifecycle: { agent: number[]; run: number[]; steps: number[]; agentPhases: Phases; stepPhases: Phases };
  exec: { agent: number[]; direct: number[] };
  /** MB/s (10^6 bytes per second). */
  throughput: { agent: number[]; direct: number[] };
}

const phases = (): Phases => ({ create: [], startWait: [], remove: [] });

async function benchRuntime(kind: RuntimeKind, reaper: Reaper): Promise<RuntimeResult> {
  const h = await ContainerAgent.start(kind, { agentArgs: ['--log-level', 'warn'] });
  const api = h.api;
  const directDir = join(h.agent.dir, 'direct');
  const direct = await DirectRuntime.open(kind, join(directDir, 'state'));
  let seq = 0;
  const nextId = (tag: string) => `${tag}${seq++}`;

  // The bundle of a direct run: the config.json the agent wrote for one of
  // its containers, with this container's own args and cgroup.
  let template: Spec | undefined;
  const directBundle = async (id: string, args: string[]): Promise<string> => {
    const bundle = join(directDir, id);
    await mkdir(bundle, { recursive: true });
    const spec: Spec = { ...template!, process: { ...template!.process!, args }, linux: { ...template!.linux, cgroupsPath: `${h.cgroupParent}/${id}` } };
    await writeFile(join(bundle, 'config.json'), stringifySpec(spec));
    return bundle;
  };

  let result: RuntimeResult | undefined;
  let failure: unknown;
  try {
    // ---- lifecycle: /bin/true --------------------------------------------
    const lifecycle = { agent: [] as number[], run: [] as number[], steps: [] as number[], agentPhases: phases(), stepPhases: phases() };
    const agentTrue = async (record: boolean) => {
      const id = nextId('a');
      const t0 = now();
      await api.createContainer({ containerId: id, execId: id, OCI: specToProto(h.spec(id, ['/bin/true'])) });
      const t1 = now();
      if (template === undefined) template = JSON.parse(await readFile(join(h.agent.stateDir, 'bundles', id, 'config.json'), 'utf8')) as Spec;
      const t1b = now();
      await api.startContainer({ containerId: id });
      const { status } = await api.waitProcess({ containerId: id, execId: id });
      const t2 = now();
      await api.removeContainer({ containerId: id });
      const t3 = now();
      if (status !== 0) throw new Error(`agent /bin/true exited ${status}`);
      if (record) {
        lifecycle.agent.push(t1 - t0 + (t3 - t1b));
        lifecycle.agentPhases.create.push(t1 - t0);
        lifecycle.agentPhases.startWait.push(t2 - t1b);
        lifecycle.agentPhases.remove.push(t3 - t2);
      }
    };
    const runTrue = async (record: boolean) => {
      const id = nextId('r');
      const bundle = await directBundle(id, ['/bin/true']);
      const t0 = now();
      await direct.run(['run', '--bundle', bundle, id]);
      if (record) lifecycle.run.push(now() - t0);
    };
    const stepsTrue = async (record: boolean) => {
      const id = nextId('s');
      const bundle = await directBundle(id, ['/bin/true']);
      const pidFile = join(bundle, 'init.pid');
      const t0 = now();
      await direct.run(['create', '--bundle', bundle, '--pid-file', pidFile, id]);
      const exited = reaper.watch(Number((await readFile(pidFile, 'utf8')).trim()));
      const t1 = now();
      await direct.run(['start', id]);
      const status = await exited;
      const t2 = now();
      await direct.run(['delete', '--force', id]);
      const t3 = now();
      if (status.status !== 0) throw new Error(`steps /bin/true exited ${status.status}`);
      if (record) {
        lifecycle.steps.push(t3 - t0);
        lifecycle.stepPhases.create.push(t1 - t0);
        lifecycle.stepPhases.startWait.push(t2 - t1);
        lifecycle.stepPhases.remove.push(t3 - t2);
      }
    };
    await agentTrue(false); // writes the template
    for (let i = 0; i < WARMUP; i++) await rotated(i, [() => agentTrue(false), () => runTrue(false), () => stepsTrue(false)]);
    for (let i = 0; i < ROUNDS; i++) await rotated(i, [() => agentTrue(true), () => runTrue(true), () => stepsTrue(true)]);

    // ---- exec: /bin/true in a running container ---------------------------
    const exec = { agent: [] as number[], direct: [] as number[] };
    const agentBox = nextId('ax');
    await api.createContainer({ containerId: agentBox, execId: agentBox, OCI: specToProto(h.spec(agentBox, ['sleep', '100000'])) });
    await api.startContainer({ containerId: agentBox });
    // The direct box runs in the foreground (`run`, not `run --detach`), so
    // that its runtime process waits for and reaps the container's init.
    const directBox = nextId('dx');
    const [boxFile, boxArgv] = direct.command(['run', '--bundle', await directBundle(directBox, ['sleep', '100000']), directBox]);
    const boxRunner = spawn(boxFile, boxArgv, { stdio: 'ignore' });
    const boxExit = once(boxRunner, 'exit');
    const processSpec = busyboxProcess({ args: ['/bin/true'] });
    const processFile = join(directDir, 'process.json');
    await writeFile(processFile, stringifySpec(processSpec));
    const agentExec = async (record: boolean) => {
      const execId = nextId('e');
      const t0 = now();
      await api.execProcess({ containerId: agentBox, execId, process: processToProto(processSpec) });
      const { status } = await api.waitProcess({ containerId: agentBox, execId });
      if (record) exec.agent.push(now() - t0);
      if (status !== 0) throw new Error(`agent exec exited ${status}`);
    };
    const directExec = async (record: boolean) => {
      const t0 = now();
      await direct.run(['exec', '--process', processFile, directBox]);
      if (record) exec.direct.push(now() - t0);
    };
    try {
      await direct.waitRunning(directBox);
      for (let i = 0; i < WARMUP; i++) await rotated(i, [() => agentExec(false), () => directExec(false)]);
      for (let i = 0; i < EXEC_ROUNDS; i++) await rotated(i, [() => agentExec(true), () => directExec(true)]);
    } finally {
      await api.removeContainer({ containerId: agentBox });
      await direct.run(['kill', directBox, '9']).catch(() => undefined);
      await boxExit; // `run` deletes the container once its init is gone
    }

    // ---- stdout throughput ------------------------------------------------
    const throughput = { agent: [] as number[], direct: [] as number[] };
    const bytes = MIB * 1024 * 1024;
    const writer = ['sh', '-c', `dd if=/dev/zero bs=1048576 count=${MIB} 2>/dev/null`];
    const agentStream = async () => {
      const id = nextId('as');
      await api.createContainer({ containerId: id, execId: id, OCI: specToProto(h.spec(id, writer)) });
      await api.startContainer({ containerId: id });
      let got = 0;
      let first = 0;
      let firstLen = 0;
      for (;;) {
        let n: number;
        try {
          n = (await api.readStdout({ containerId: id, execId: id, len: 1 << 20 })).data.length;
        } catch {
          break; // OUT_OF_RANGE: end of stream
        }
        if (got === 0) {
          first = now();
          firstLen = n;
        }
        got += n;
      }
      const t = now() - first;
      await api.waitProcess({ containerId: id, execId: id });
      await api.removeContainer({ containerId: id });
      if (got !== bytes) throw new Error(`agent stdout: ${got} of ${bytes} bytes`);
      throughput.agent.push((got - firstLen) / 1e6 / (t / 1000));
    };
    const directStream = async () => {
      const id = nextId('ds');
      const bundle = await directBundle(id, writer);
      const [file, argv] = direct.command(['run', '--bundle', bundle, id]);
      const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
      const exit = once(child, 'exit') as Promise<[number | null]>;
      let got = 0;
      let first = 0;
      let firstLen = 0;
      child.stdout.on('data', (d: Buffer) => {
        if (got === 0) {
          first = now();
          firstLen = d.length;
        }
        got += d.length;
      });
      await once(child.stdout, 'end');
      const t = now() - first;
      const [code] = await exit;
      if (code !== 0 || got !== bytes) throw new Error(`direct stdout: exit ${code}, ${got} of ${bytes} bytes`);
      throughput.direct.push((got - firstLen) / 1e6 / (t / 1000));
    };
    for (let i = 0; i < THROUGHPUT_ROUNDS; i++) await rotated(i, [agentStream, directStream]);

    result = { runtime: kind, lifecycle, exec, throughput };
  } catch (err) {
    failure = err;
  }
  // Shutting down checks that nothing was left; a failure above comes first.
  try {
    await h.shutdown();
  } catch (err) {
    failure ??= err;
  }
  if (failure !== undefined) throw failure;
  return result!;
}

const ms = (x: number) => `${x.toFixed(1)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

function printTable(results: RuntimeResult[]): void {
  const rows: string[][] = [['runtime', 'measure', 'agent', 'run', 'steps', 'agent/run', 'agent/steps']];
  for (const r of results) {
    const { lifecycle: l } = r;
    const [la, lr, ls] = [median(l.agent), median(l.run), median(l.steps)];
    rows.push([r.runtime, `/bin/true container, ${l.agent.length} rounds`, ms(la), ms(lr), ms(ls), ratio(la, lr), ratio(la, ls)]);
    for (const [name, key] of [['create', 'create'], ['start + wait', 'startWait'], ['remove / delete', 'remove']] as const) {
      const [a, s] = [median(l.agentPhases[key]), median(l.stepPhases[key])];
      rows.push(['', `  ${name}`, ms(a), '', ms(s), '', ratio(a, s)]);
    }
    const [ea, ed] = [median(r.exec.agent), median(r.exec.direct)];
    rows.push([r.runtime, `exec /bin/true, ${r.exec.agent.length} rounds`, ms(ea), '', ms(ed), '', ratio(ea, ed)]);
    const [ta, td] = [median(r.throughput.agent), median(r.throughput.direct)];
    rows.push([r.runtime, `stdout ${MIB} MiB, ${r.throughput.agent.length} rounds`, `${ta.toFixed(0)} MB/s`, `${td.toFixed(0)} MB/s`, '', ratio(ta, td), '']);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  for (const [i, row] of rows.entries()) {
    console.log(row.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd());
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  console.log('\nexec: "steps" column = `<runtime> exec` run directly; stdout: "run" column = a direct pipe from `<runtime> run`.');
  for (const r of results) {
    const vsRun = median(r.lifecycle.agent) / median(r.lifecycle.run);
    const vsSteps = median(r.lifecycle.agent) / median(r.lifecycle.steps);
    console.log(
      `${r.runtime}: container overhead agent/run ${vsRun.toFixed(2)}, agent/steps ${vsSteps.toFixed(2)} ` +
        `(target <= ${TARGET_RATIO}: ${vsRun <= TARGET_RATIO ? 'met' : 'not met'} against run, ${vsSteps <= TARGET_RATIO ? 'met' : 'not met'} against steps)`,
    );
  }
}

const runnable = RUNTIMES.filter((kind) => {
  const skip = containerTestsSkipReason(kind);
  if (skip) console.error(`bench/agent: skipping ${kind}: ${skip}`);
  return skip === undefined;
});
// The "steps" reference waits for container processes as the agent does: as
// their subreaper.
const reaper = Reaper.shared();
const results: RuntimeResult[] = [];
try {
  for (const kind of runnable) results.push(await benchRuntime(kind, reaper));
} finally {
  reaper.stop();
}
if (values.json) console.log(JSON.stringify(results));
else printTable(results);
