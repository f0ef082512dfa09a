// The shim under Debian's containerd 1.6, driven with ctr, with real VMs
// (TCG here: each boot takes several seconds, so each test boots one VM and
// checks as much as it can in it). containerd runs with a private config;
// the shim is found on its PATH through a symlink in a temporary directory.
//
// After every test: nothing of containerd's (tasks, containers, shims,
// mounts, fifos, sockets: see test/helpers/containerd.ts) and nothing of
// ours (QEMU, virtiofsd, shim directories, mounts under them).
//
// Pods: the CRI plugin marks a pod's containers with the annotations
// io.kubernetes.cri.container-type and io.kubernetes.cri.sandbox-id; ctr 1.6
// sets spec annotations with `ctr run --annotation`, so the tests make a pod
// the way the CRI plugin does, without a Kubernetes client.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { shimPaths, shimSocketAddress, SHIM_RUN_ROOT_ENV } from '../../../src/runtime/shim/layout.js';
import { readShimRecord } from '../../../src/runtime/shim/record.js';
import { containerdSkipReason, startContainerd, taskStatus, waitForTaskStatus, type Containerd } from '../../helpers/containerd.js';
import { buildOciImage, type OciImage } from '../../helpers/oci-image.js';
import { findBusybox } from '../../helpers/busybox-rootfs.js';
import { killAndWait, mountsUnder, processesMentioning, settled, unmountUnder } from '../../managers/leftovers.js';
import { binPath } from '../../helpers/processes.js';
import { IMAGE as GUEST_IMAGE, imageMissing } from '../helpers.js';

const RUNTIME = 'io.containerd.kata-ts.v2';
const IMAGE = 'docker.io/library/kata-ts-shim-busybox:latest';
/** pid 1 that exits 42 on SIGTERM (a plain `sleep` as pid 1 ignores it). */
const TRAPPING_SHELL = ['sh', '-c', 'trap "exit 42" TERM; while :; do sleep 0.1; done'];
const CRI_TYPE = 'io.kubernetes.cri.container-type';
const CRI_SANDBOX = 'io.kubernetes.cri.sandbox-id';

function skipReason(): string | undefined {
  return containerdSkipReason() ?? imageMissing() ?? (findBusybox() ? undefined : 'needs busybox (busybox-static)');
}

interface SeenEvent {
  topic: string;
  body: Record<string, unknown>;
}

describe('containerd 1.6 with containerd-shim-kata-ts-v2', { skip: skipReason() }, () => {
  let cd: Containerd;
  let image: OciImage;
  let binDir: string;
  let runRoot: string;
  let eventsText = '';
  let events: ReturnType<typeof spawn> | undefined;
  const guestKernel = readFileSync(GUEST_IMAGE.kernelVersion, 'utf8').trim();

  const rt = () => ['--runtime', RUNTIME, '--fifo-dir', cd.fifoDir];
  const execArgs = (execId: string) => ['tasks', 'exec', '--fifo-dir', cd.fifoDir, '--exec-id', execId];

  /** Events of this test's namespace that `ctr events` printed, decoded by containerd. */
  function seen(containerId: string): SeenEvent[] {
    const out: SeenEvent[] = [];
    for (const line of eventsText.split('\n')) {
      const m = /^\S+ \S+ \S+ \S+ (\S+) (\/tasks\/\S+) (.*)$/.exec(line);
      if (!m || m[1] !== cd.namespace) continue;
      const body = JSON.parse(m[3]!) as Record<string, unknown>;
      if (body.container_id === containerId) out.push({ topic: m[2]!, body });
    }
    return out;
  }

  async function waitForEvent(containerId: string, topic: string, match: (b: Record<string, unknown>) => boolean = () => true): Promise<void> {
    for (let i = 0; i < 400; i++) {
      if (seen(containerId).some((e) => e.topic === topic && match(e.body))) return;
      await sleep(50);
    }
    throw new Error(`no ${topic} event for ${containerId}; seen: ${JSON.stringify(seen(containerId))}`);
  }

  /** Our own leftovers: VM processes, shim directories, mounts under them. */
  async function ourLeftovers(): Promise<string[]> {
    const out: string[] = [];
    for (const p of await processesMentioning(runRoot)) out.push(`process ${p.pid}: ${p.cmdline.slice(0, 120)}`);
    for (const d of await readdir(runRoot)) out.push(`shim directory ${join(runRoot, d)}`);
    for (const m of await mountsUnder(runRoot)) out.push(`mount ${m}`);
    return out;
  }

  /** The live shim serving `groupId` (its pid, from the record it keeps). */
  function shimOf(groupId: string): { pid: number; paths: ReturnType<typeof shimPaths> } {
    const paths = shimPaths(shimSocketAddress(cd.address, cd.namespace, groupId), runRoot);
    const record = readShimRecord(paths.recordFile);
    if (!record) throw new Error(`no shim record for ${groupId}`);
    return { pid: record.pid, paths };
  }

  async function qemuOf(groupId: string): Promise<number[]> {
    const { paths } = shimOf(groupId);
    return (await processesMentioning(paths.vmDir)).filter((p) => p.cmdline.includes('qemu-system')).map((p) => p.pid);
  }

  before(async () => {
    runRoot = await mkdtemp(join(tmpdir(), 'kata-ts-shim-run-'));
    binDir = await mkdtemp(join(tmpdir(), 'kata-ts-shim-bin-'));
    await symlink(binPath('containerd-shim-kata-ts-v2'), join(binDir, 'containerd-shim-kata-ts-v2'));
    // containerd passes its environment on to the shims it starts.
    process.env[SHIM_RUN_ROOT_ENV] = runRoot;
    image = await buildOciImage({ name: IMAGE, cmd: ['sh'] });
    cd = await startContainerd({ extraPath: [binDir] });
    await cd.importImage(image.tarball);
    events = spawn('ctr', ['--address', cd.address, 'events'], { stdio: ['ignore', 'pipe', 'ignore'] });
    events.stdout!.setEncoding('utf8').on('data', (d: string) => (eventsText += d));
  });

  afterEach(async () => {
    const left = [...(await settled(() => cd.idleLeftovers())), ...(await settled(ourLeftovers))];
    if (left.length > 0) await cd.cleanNamespace();
    assert.deepEqual(left, [], 'the test left these behind');
  });

  after(async () => {
    events?.kill();
    try {
      await cd?.stop();
    } finally {
      await image?.cleanup();
      delete process.env[SHIM_RUN_ROOT_ENV];
    }
    const left = [...(cd ? await cd.leftovers() : []), ...(await ourLeftovers())];
    // Whatever a failed test left of ours goes too, never removing through a mount.
    await killAndWait((await processesMentioning(runRoot)).map((p) => p.pid));
    await unmountUnder(runRoot);
    await rm(runRoot, { recursive: true, force: true });
    await rm(binDir, { recursive: true, force: true });
    assert.deepEqual(left, [], 'containerd teardown left these behind');
  });

  test('ctr run --rm: stdin, output, exit status, the guest kernel, the configuration from the runtime options', async () => {
    // A configuration of our own, named the way a RuntimeClass handler's
    // options name it (runtimeoptions.v1.Options.config_path).
    const config = join(runRoot, '..', `${runRoot.split('/').pop()}.toml`);
    const marker = `kata_ts_shim_test=${process.pid}`;
    await writeFile(config, `[hypervisor.qemu]\nkernel_params = "${marker}"\n`);
    try {
      const id = cd.newId('run');
      const r = await cd.ctr(['run', '--rm', ...rt(), '--runtime-config-path', config, IMAGE, id, 'sh', '-c', 'cat; echo hi; uname -r; cat /proc/cmdline; exit 7'], { input: 'from stdin\n' });
      assert.equal(r.code, 7, `ctr run returns the container's exit status\n${r.stderr}`);
      const [input, hi, kernel, cmdline, ...rest] = r.stdout.split('\n');
      assert.equal(input, 'from stdin', 'ctr\'s input reaches the container, and its end ends `cat`');
      assert.equal(hi, 'hi');
      assert.equal(kernel, guestKernel, 'the container runs on the guest kernel');
      assert.notEqual(kernel, release(), 'not on the host\'s');
      assert.ok(cmdline?.split(' ').includes(marker), `the VM was booted with the configured kernel_params: ${cmdline}`);
      assert.deepEqual(rest, ['']);
      await waitForEvent(id, '/tasks/delete');
      assert.deepEqual(
        seen(id).map((e) => e.topic).filter((t) => t !== '/tasks/delete'),
        ['/tasks/create', '/tasks/start', '/tasks/exit'],
      );
      assert.equal(seen(id).find((e) => e.topic === '/tasks/exit')!.body.exit_status, 7);
    } finally {
      await rm(config, { force: true });
    }
  });

  test('a detached task: exec, stdin, ps, metrics, OOM, pause/resume, kill, delete, and the events of each', async () => {
    const id = cd.newId('life');
    const limit = 48 << 20;
    const run = await cd.ctr(['run', '-d', ...rt(), '--memory-limit', String(limit), IMAGE, id, ...TRAPPING_SHELL]);
    assert.equal(run.code, 0, run.stderr);
    await waitForTaskStatus(cd, id, 'RUNNING');
    const shim = shimOf(id);
    const [qemu] = await qemuOf(id);
    const ls = await cd.ctr(['tasks', 'ls']);
    assert.match(ls.stdout, new RegExp(`^${id}\\s+${qemu}\\s+RUNNING$`, 'm'), 'the task pid is the VM\'s');

    const exec = await cd.ctr([...execArgs('e1'), id, 'sh', '-c', 'echo out; echo err >&2; uname -r; exit 3']);
    assert.equal(exec.code, 3, 'ctr task exec returns the exec\'s exit status');
    assert.equal(exec.stdout, `out\n${guestKernel}\n`);
    assert.equal(exec.stderr, 'err\n');

    const cat = await cd.ctr([...execArgs('e2'), id, 'cat'], { input: 'through stdin\n' });
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'through stdin\n', 'stdin reaches the exec, and its end ends it');

    const ps = await cd.ctr(['tasks', 'ps', id]);
    assert.equal(ps.code, 0, ps.stderr);
    assert.ok(ps.stdout.split('\n').filter((l) => /^\d+\s/.test(l)).length >= 2, `pid 1 and its sleep: ${ps.stdout}`);

    const table = await cd.ctr(['tasks', 'metrics', id]);
    assert.equal(table.code, 0, table.stderr);
    const usage = Number(/^memory\.usage_in_bytes\s+(\d+)/m.exec(table.stdout)?.[1]);
    assert.ok(usage > 0, `memory usage is a number: ${table.stdout}`);
    assert.equal(Number(/^memory\.limit_in_bytes\s+(\d+)/m.exec(table.stdout)?.[1]), limit, 'the limit given to ctr run applies in the guest');
    assert.ok(Number(/^pids\.current\s+(\d+)/m.exec(table.stdout)?.[1]) >= 1, table.stdout);
    const json = JSON.parse((await cd.ctr(['tasks', 'metrics', '--format', 'json', id])).stdout) as { memory?: { usage?: { usage?: number } }; cpu?: { usage?: { total?: number } } };
    assert.ok((json.memory?.usage?.usage ?? 0) > 0 && (json.cpu?.usage?.total ?? 0) > 0, 'containerd decodes our cgroups v1 Metrics');

    // More memory than the limit: the guest's OOM killer ends the exec, and containerd hears of it.
    const hog = await cd.ctr([...execArgs('hog'), id, 'sh', '-c', 'head -c 200m /dev/zero | tail']);
    assert.equal(hog.code, 137, hog.stderr);
    await waitForEvent(id, '/tasks/oom');
    assert.equal(await taskStatus(cd, id), 'RUNNING', 'the container itself lives on');

    assert.equal((await cd.ctr(['tasks', 'pause', id])).code, 0);
    assert.equal(await taskStatus(cd, id), 'PAUSED');
    assert.equal((await cd.ctr(['tasks', 'resume', id])).code, 0);
    assert.equal(await taskStatus(cd, id), 'RUNNING');

    assert.equal((await cd.ctr(['tasks', 'kill', id])).code, 0);
    await waitForTaskStatus(cd, id, 'STOPPED');
    const del = await cd.ctr(['tasks', 'delete', id]);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stderr, /exit code 42/, 'the SIGTERM trap\'s status');
    assert.equal((await cd.ctr(['containers', 'delete', id])).code, 0);

    // The last task gone, containerd's Shutdown ends the shim and its VM.
    assert.deepEqual(await settled(async () => (await processesMentioning(shim.paths.dir)).map((p) => `${p.pid}`)), []);

    await waitForEvent(id, '/tasks/delete', (b) => b.id === id || b.id === undefined);
    const topics = seen(id).filter((e) => e.topic !== '/tasks/oom').map((e) => `${e.topic}${e.body.exec_id ? ` ${String(e.body.exec_id)}` : ''}${e.body.id && e.body.id !== id ? ` ${String(e.body.id)}` : ''}`);
    const expected = [
      '/tasks/create',
      '/tasks/start',
      '/tasks/exec-added e1',
      '/tasks/exec-started e1',
      '/tasks/exit e1',
      '/tasks/delete e1',
      '/tasks/exec-added e2',
      '/tasks/exec-started e2',
      '/tasks/exit e2',
      '/tasks/delete e2',
      '/tasks/exec-added hog',
      '/tasks/exec-started hog',
      '/tasks/exit hog',
      '/tasks/delete hog',
      '/tasks/paused',
      '/tasks/resumed',
      '/tasks/exit',
    ];
    assert.deepEqual(topics.slice(0, expected.length), expected, 'published in order, each decoded by containerd');
    assert.ok(topics.slice(expected.length).every((t) => t === '/tasks/delete'), `then the delete: ${topics.join(', ')}`);
    const exits = seen(id).filter((e) => e.topic === '/tasks/exit');
    assert.deepEqual(exits.map((e) => [e.body.id, e.body.exit_status ?? 0, e.body.pid]), [['e1', 3, qemu], ['e2', 0, qemu], ['hog', 137, qemu], [id, 42, qemu]]);
  });

  test('a pod: two containers share one shim and one VM, which outlives the container deleted first; then the shim is killed', async () => {
    const pod = cd.newId('pod');
    const app = cd.newId('app');
    const sandbox = await cd.ctr(['run', '-d', ...rt(), '--annotation', `${CRI_TYPE}=sandbox`, '--annotation', `${CRI_SANDBOX}=${pod}`, IMAGE, pod, ...TRAPPING_SHELL]);
    assert.equal(sandbox.code, 0, sandbox.stderr);
    const member = await cd.ctr(['run', '-d', ...rt(), '--annotation', `${CRI_TYPE}=container`, '--annotation', `${CRI_SANDBOX}=${pod}`, IMAGE, app, ...TRAPPING_SHELL]);
    assert.equal(member.code, 0, member.stderr);
    await waitForTaskStatus(cd, app, 'RUNNING');

    const shim = shimOf(pod);
    assert.deepEqual(await cd.shims(cd.namespace), [shim.pid], 'one shim for the pod');
    const qemu = await qemuOf(pod);
    assert.equal(qemu.length, 1, 'one VM');
    const ls = (await cd.ctr(['tasks', 'ls'])).stdout;
    assert.match(ls, new RegExp(`^${pod}\\s+${qemu[0]}\\s+RUNNING$`, 'm'));
    assert.match(ls, new RegExp(`^${app}\\s+${qemu[0]}\\s+RUNNING$`, 'm'), 'both tasks report the same VM');
    // One guest: both containers see the same kernel boot.
    const bootId = async (id: string, execId: string) => (await cd.ctr([...execArgs(execId), id, 'cat', '/proc/sys/kernel/random/boot_id'])).stdout;
    const podBoot = await bootId(pod, 'b1');
    assert.match(podBoot, /^[0-9a-f-]{36}\n$/);
    assert.equal(await bootId(app, 'b2'), podBoot);

    // The app container goes; the pod's VM stays.
    assert.equal((await cd.ctr(['tasks', 'kill', app])).code, 0);
    await waitForTaskStatus(cd, app, 'STOPPED');
    assert.equal((await cd.ctr(['tasks', 'delete', app])).code, 0);
    assert.equal((await cd.ctr(['containers', 'delete', app])).code, 0);
    assert.deepEqual(await qemuOf(pod), qemu, 'the VM runs on');
    assert.equal(await taskStatus(cd, pod), 'RUNNING');
    assert.equal(await bootId(pod, 'b3'), podBoot);

    // The shim dies: containerd learns it from the closed connection, runs
    // `delete`, and reports the task gone; the VM died with the shim.
    const fifosBefore = new Set(await readdir(cd.fifoDir));
    process.kill(shim.pid, 'SIGKILL');
    await waitForEvent(pod, '/tasks/exit', (b) => b.exit_status === 137);
    const listed = await settled(async () => ((await taskStatus(cd, pod)) !== undefined ? [pod] : []));
    assert.deepEqual(listed, [], 'the task is gone from containerd');
    assert.deepEqual(await settled(async () => (await processesMentioning(shim.paths.dir)).map((p) => `${p.pid}`)), [], 'no VM left');
    assert.equal((await cd.ctr(['containers', 'delete', pod])).code, 0);
    // ctr removes a task's fifo directory at `task delete`, which a dead shim's task never gets.
    for (const f of await readdir(cd.fifoDir)) if (fifosBefore.has(f)) await rm(join(cd.fifoDir, f), { recursive: true, force: true });
  });

  test('QEMU killed: the task stops with status 255, an attached ctr run returns it, nothing is left', async () => {
    const id = cd.newId('vmgone');
    const ctrRun = cd.ctr(['run', '--rm', ...rt(), IMAGE, id, 'sleep', '1000']);
    await waitForTaskStatus(cd, id, 'RUNNING', 120_000);
    const [qemu] = await qemuOf(id);
    process.kill(qemu!, 'SIGKILL');
    const r = await ctrRun;
    assert.equal(r.code, 255, r.stderr);
    await waitForEvent(id, '/tasks/exit', (b) => b.exit_status === 255);
  });
});
