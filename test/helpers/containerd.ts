// A private containerd for tests: its own config, root, state and sockets in
// a temporary directory, driven with `ctr`, and a teardown that leaves
// nothing behind (tasks, shims, container processes, mounts, cgroups, shim
// sockets, files).
//
// Facts about containerd 1.6 (Debian 12's 1.6.20) on this kind of host (root,
// no network, hybrid cgroups: v1 controllers plus cgroup2 at
// /sys/fs/cgroup/unified), found by running it:
// - Plugins to disable: the CRI plugin (not needed by ctr), aufs/btrfs/zfs/
//   devmapper snapshotters (they only log why they cannot load; aufs even
//   runs modprobe), and `io.containerd.internal.v1.opt`, which otherwise
//   creates /opt/containerd/{bin,lib} on the host whatever `root` says.
// - Snapshotters overlayfs (the default ctr asks for) and native both load.
// - containerd removes its gRPC socket when it exits, not its ttRPC socket.
// - Shim sockets do not follow `state`: the runc shim (and any shim using
//   containerd's shim library) listens on
//     /run/containerd/s/<hex sha256 of "<grpc address>/<namespace>/<id>">
//   and removes it when it shuts down cleanly. The teardown removes the ones
//   of this containerd's containers, and the directories it created.
// - `ctr run` puts its stdio fifos in /run/containerd/fifo unless given
//   --fifo-dir, and the runc shim keeps runc's state in
//   /run/containerd/runc/<namespace> unless given --runc-root: runcArgs()
//   points both into the temporary directory.
// - ctr's default spec sets cgroupsPath `/<namespace>/<id>`: runc creates it in
//   every v1 hierarchy and in the cgroup2 one, and removes the leaf on delete,
//   never `/<namespace>`. The namespace is unique per harness, so the
//   teardown removes `/<namespace>` in every hierarchy.
// - A daemonised shim is re-parented to PID 1 (containerd is not a
//   subreaper); its command line is
//     containerd-shim-<name>-v2 -namespace NS -id ID -address <grpc address>
//   which is how the teardown finds shims this containerd started.
// - containerd finds shim `io.containerd.<name>.v2` as the executable
//   `containerd-shim-<name>-v2` on its own PATH (extraPath is put first).
// - `ctr run` (attached) exits with the container's exit status; `ctr task
//   exec` (attached) with the exec'd process's. `ctr task delete ID` exits 0
//   and prints "task <id> exit with non-zero exit code <n>" on stderr for a
//   non-zero exit; `ctr task delete --exec-id E ID` exits with E's status.
// - ctr removes a task's fifo directory at `ctr task delete`, but never the
//   one of a detached exec (`ctr task exec -d`): a test removes that itself.
// - `ctr task ps` lists the processes in the container's cgroup: an exec
//   that was killed disappears from it before it is deleted.
// - pid 1 of a container ignores SIGTERM unless it handles it (`sleep` as pid
//   1 does not die from `ctr task kill`); tests use a shell trap or SIGKILL.
// - Metrics (`ctr task metrics`) come from the cgroup v1 hierarchies on this
//   host: memory.usage_in_bytes, cpuacct.usage, pids.current...
// - The native snapshotter works too (the rootfs is then a bind mount, not
//   an overlay).
// - What containerd's runc shim runs, given `--runc-binary B --runc-root R`
//   (logged with a wrapper; <b> is the bundle, state/io.containerd.runtime.v2.task/<ns>/<id>):
//     B --root R/<ns> --log <b>/log.json --log-format json create --bundle <b> --pid-file <b>/init.pid [--console-socket S] ID
//     B ... start ID
//     B ... exec --process /tmp/runc-process<random> --detach --pid-file <b>/<exec-id>.pid ID
//     B ... pause ID / resume ID / ps --format json ID / kill ID <signal number>
//     B ... delete ID, then B ... delete --force ID
//   `ctr task metrics` runs nothing: the shim reads the cgroups of the pid in
//   init.pid. The shim is a child subreaper and learns exits by reaping, so
//   that pid must be (or become) its descendant.

import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand, type CommandOptions, type CommandResult } from '../managers/command.js';
import {
  cgroupDirs,
  cgroupPids,
  killAndWait,
  mountsUnder,
  processesMentioning,
  removeCgroupTree,
  unmountUnder,
} from '../managers/leftovers.js';

const CONTAINERD = 'containerd';
const CTR = 'ctr';

/** Where containerd 1.6's shim library puts shim sockets, whatever the config says. */
export const SHIM_SOCKET_DIR = '/run/containerd/s';
/** Directories under /run that containerd or ctr create outside the configured state. */
const RUN_DIRS = ['/run/containerd/s', '/run/containerd/fifo', '/run/containerd/runc', '/run/containerd'];

/** Plugins that cannot work (or should not run) here; see the notes above. */
export const DISABLED_PLUGINS = [
  'io.containerd.grpc.v1.cri',
  'io.containerd.internal.v1.opt',
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.zfs',
  'io.containerd.snapshotter.v1.devmapper',
];

/** Why containerd tests cannot run here, or undefined when they can. */
export function containerdSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const bin of ['/usr/bin/containerd', '/usr/bin/ctr', '/usr/bin/containerd-shim-runc-v2']) {
    if (!existsSync(bin)) return `needs ${bin} (package containerd)`;
  }
  return undefined;
}

export interface ContainerdOptions {
  /** Directories put first on containerd's PATH (where containerd-shim-<name>-v2 binaries live). */
  extraPath?: string[];
  /** Snapshotter ctr uses (CONTAINERD_SNAPSHOTTER); default overlayfs. */
  snapshotter?: 'overlayfs' | 'native';
  /** containerd's log level (its log is in log()); default info. */
  logLevel?: 'debug' | 'info' | 'warn';
  /** Namespace for ctr(); default a unique `kata-ts-<pid>-<random>`. */
  namespace?: string;
}

export interface Containerd {
  /** The temporary directory holding config, root, state, sockets, fifos. */
  dir: string;
  /** gRPC socket (ctr --address). */
  address: string;
  ttrpcAddress: string;
  /** Default namespace of ctr(). */
  namespace: string;
  /** For `ctr run/exec --fifo-dir`. */
  fifoDir: string;
  /** For `ctr run --runc-root` (the runc shim's runtime state). */
  runcRoot: string;
  /** Runs `ctr --address A -n NS args...`. */
  ctr(args: string[], opts?: CommandOptions & { namespace?: string }): Promise<CommandResult>;
  /** `ctr run` flags that keep fifos and runc state in `dir` and select a runc-compatible binary. */
  runcArgs(runcBinary: string): string[];
  /** Imports an OCI layout tarball; throws with ctr's output on failure. */
  importImage(tarball: string, opts?: { indexName?: string; namespace?: string }): Promise<void>;
  /** Live shim processes of this containerd (optionally only of one namespace). */
  shims(namespace?: string): Promise<number[]>;
  /** containerd's output so far. */
  log(): string;
  /**
   * A fresh container id, remembered so that idleLeftovers() and stop()
   * check (and remove) its shim socket.
   */
  newId(prefix?: string, namespace?: string): string;
  /** Force-deletes every task and container of `namespace` (default: ctr()'s). */
  cleanNamespace(namespace?: string): Promise<void>;
  /**
   * What a finished test left while containerd keeps running: tasks,
   * containers, shims, processes or child cgroups under `/<namespace>`,
   * mounts, fifos, runc state, shim sockets. Empty when the test cleaned up.
   */
  idleLeftovers(namespace?: string): Promise<string[]>;
  /**
   * Deletes every task and container (all namespaces), stops containerd,
   * kills what survived, unmounts, removes sockets, cgroups and `dir`.
   * Safe to call twice.
   */
  stop(): Promise<void>;
  /** What is still on the host from this containerd (empty after stop()). */
  leftovers(): Promise<string[]>;
}

function configToml(dir: string, address: string, ttrpcAddress: string, logLevel: string): string {
  const q = (s: string) => JSON.stringify(s); // TOML basic strings share JSON's escapes for these paths
  return [
    'version = 2',
    `root = ${q(join(dir, 'root'))}`,
    `state = ${q(join(dir, 'state'))}`,
    `disabled_plugins = [${DISABLED_PLUGINS.map(q).join(', ')}]`,
    '',
    '[grpc]',
    `  address = ${q(address)}`,
    '',
    '[ttrpc]',
    `  address = ${q(ttrpcAddress)}`,
    '',
    '[debug]',
    `  level = ${q(logLevel)}`,
    '',
  ].join('\n');
}

/** The socket a containerd shim listens on for container `id` (see the notes above). */
export function shimSocketPath(address: string, namespace: string, id: string): string {
  const hash = createHash('sha256').update(`${address}/${namespace}/${id}`).digest('hex');
  return join(SHIM_SOCKET_DIR, hash);
}

function lines(text: string): string[] {
  return text.split('\n').map((s) => s.trim()).filter(Boolean);
}

function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function startContainerd(opts: ContainerdOptions = {}): Promise<Containerd> {
  const dir = await mkdtemp(join(tmpdir(), 'kata-ts-containerd-'));
  const address = join(dir, 'containerd.sock');
  const ttrpcAddress = join(dir, 'containerd.sock.ttrpc');
  const fifoDir = join(dir, 'fifo');
  const runcRoot = join(dir, 'runc');
  const namespace = opts.namespace ?? uniqueName('kata-ts');
  const runDirsBefore = new Set(RUN_DIRS.filter((d) => existsSync(d)));
  // Namespaces used by this harness: their cgroups and shim sockets are ours.
  const namespaces = new Set<string>([namespace]);
  // (namespace, container id) pairs seen, for the shim socket sweep.
  const containers = new Set<string>();

  for (const d of [fifoDir, runcRoot]) await mkdir(d, { recursive: true });
  const configFile = join(dir, 'config.toml');
  await writeFile(configFile, configToml(dir, address, ttrpcAddress, opts.logLevel ?? 'info'));

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: [...(opts.extraPath ?? []), process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'].join(delimiter),
    // The kata-ts shim's own state (VM directories) under our directory too
    // (unless the caller chose), not in /run/kata-ts/shim; containerd passes
    // its environment on to shims.
    KATA_TS_SHIM_RUN_ROOT: process.env.KATA_TS_SHIM_RUN_ROOT ?? join(dir, 'kata-ts-shim'),
  };
  let output = '';
  const daemon: ChildProcess = spawn(CONTAINERD, ['--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  daemon.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));

  const ctrEnv: NodeJS.ProcessEnv = { ...process.env, CONTAINERD_SNAPSHOTTER: opts.snapshotter ?? 'overlayfs' };
  const ctr = (args: string[], o: CommandOptions & { namespace?: string } = {}): Promise<CommandResult> => {
    const ns = o.namespace ?? namespace;
    namespaces.add(ns);
    return runCommand(CTR, ['--address', address, '-n', ns, ...args], { env: ctrEnv, ...o });
  };

  const shims = async (ns?: string): Promise<number[]> =>
    (await processesMentioning(`-address ${address}`))
      .filter((p) => ns === undefined || p.cmdline.includes(`-namespace ${ns} `))
      .map((p) => p.pid);

  const listIds = async (what: 'containers' | 'tasks', ns: string): Promise<string[]> => {
    const r = await ctr([what, 'ls', '-q'], { namespace: ns, timeoutMs: 20_000 }).catch(() => undefined);
    return lines(r?.stdout ?? '');
  };

  const cleanNamespace = async (ns: string = namespace): Promise<void> => {
    for (const id of await listIds('containers', ns)) {
      containers.add(`${ns}/${id}`);
      await ctr(['tasks', 'delete', '--force', id], { namespace: ns, timeoutMs: 30_000 }).catch(() => undefined);
      await ctr(['containers', 'delete', id], { namespace: ns, timeoutMs: 30_000 }).catch(() => undefined);
    }
  };

  const idleLeftovers = async (ns: string = namespace): Promise<string[]> => {
    const out: string[] = [];
    for (const id of await listIds('tasks', ns)) out.push(`task ${ns}/${id}`);
    for (const id of await listIds('containers', ns)) {
      containers.add(`${ns}/${id}`);
      out.push(`container ${ns}/${id}`);
    }
    for (const pid of await shims(ns)) out.push(`shim process ${pid}`);
    for (const pid of await cgroupPids(`/${ns}`)) out.push(`process ${pid} in cgroup /${ns}`);
    for (const d of await cgroupDirs(`/${ns}`)) {
      const children = (await readdir(d, { withFileTypes: true })).filter((e) => e.isDirectory());
      for (const c of children) out.push(`cgroup ${join(d, c.name)}`);
    }
    for (const m of await mountsUnder(dir)) out.push(`mount ${m}`);
    for (const f of await readdir(fifoDir)) out.push(`fifo directory ${join(fifoDir, f)}`);
    const runcNs = join(runcRoot, ns);
    if (existsSync(runcNs)) for (const f of await readdir(runcNs)) out.push(`runc state ${join(runcNs, f)}`);
    for (const key of containers) {
      const i = key.indexOf('/');
      if (key.slice(0, i) !== ns) continue;
      const sock = shimSocketPath(address, ns, key.slice(i + 1));
      if (existsSync(sock)) out.push(`shim socket ${sock}`);
    }
    return out;
  };

  let idCounter = 0;
  let stopped = false;
  const handle: Containerd = {
    dir,
    address,
    ttrpcAddress,
    namespace,
    fifoDir,
    runcRoot,
    ctr,
    runcArgs: (runcBinary) => ['--runc-binary', runcBinary, '--runc-root', runcRoot, '--fifo-dir', fifoDir],
    async importImage(tarball, o = {}) {
      const args = ['image', 'import', ...(o.indexName ? ['--index-name', o.indexName] : []), tarball];
      const r = await ctr(args, { namespace: o.namespace });
      if (r.code !== 0) throw new Error(`ctr image import failed (exit ${r.code}): ${r.stderr}${r.stdout}`);
    },
    shims,
    newId(prefix = 'c', ns = namespace) {
      const id = `${prefix}-${(++idCounter).toString()}-${Math.random().toString(36).slice(2, 6)}`;
      containers.add(`${ns}/${id}`);
      return id;
    },
    cleanNamespace,
    idleLeftovers,
    log: () => output,
    async stop() {
      if (stopped) return;
      stopped = true;
      // 1. Politely, through containerd: kill and delete tasks, delete containers.
      if (daemon.exitCode === null && daemon.signalCode === null) {
        const nsList = await ctr(['namespaces', 'ls', '-q'], { timeoutMs: 20_000 }).catch(() => undefined);
        for (const ns of lines(nsList?.stdout ?? '')) namespaces.add(ns);
        for (const ns of namespaces) await cleanNamespace(ns);
      }
      // 2. Stop containerd (SIGKILL if it does not go within 10 s).
      if (daemon.exitCode === null && daemon.signalCode === null) {
        daemon.kill('SIGTERM');
        const giveUp = new AbortController();
        const gone = await Promise.race([
          exited.then(() => true),
          sleep(10_000, false, { signal: giveUp.signal }).catch(() => false),
        ]);
        giveUp.abort(); // no timer left to keep the test process alive
        if (!gone) {
          daemon.kill('SIGKILL');
          await exited;
        }
      }
      // 3. Whatever survived: shims of this containerd, processes in its cgroups.
      await killAndWait(await shims());
      for (const ns of namespaces) await killAndWait(await cgroupPids(`/${ns}`));
      await killAndWait((await processesMentioning(dir)).map((p) => p.pid));
      // 4. Mounts (rootfs overlays of tasks not deleted), shim sockets, /run dirs.
      await unmountUnder(dir);
      for (const key of containers) {
        const [ns, id] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
        await rm(shimSocketPath(address, ns, id), { force: true });
      }
      for (const ns of namespaces) await rmdir(join('/run/containerd/runc', ns)).catch(() => undefined);
      for (const d of RUN_DIRS) if (!runDirsBefore.has(d)) await rmdir(d).catch(() => undefined);
      // 5. Cgroups, then the directory.
      for (const ns of namespaces) await removeCgroupTree(`/${ns}`);
      await rm(dir, { recursive: true, force: true });
    },
    async leftovers() {
      const out: string[] = [];
      if (daemon.exitCode === null && daemon.signalCode === null) out.push(`containerd (pid ${daemon.pid}) still running`);
      for (const p of await processesMentioning(dir)) out.push(`process ${p.pid}: ${p.cmdline}`);
      for (const pid of await shims()) out.push(`shim process ${pid}`);
      for (const ns of namespaces) {
        for (const pid of await cgroupPids(`/${ns}`)) out.push(`process ${pid} in cgroup /${ns}`);
        for (const d of await cgroupDirs(`/${ns}`)) out.push(`cgroup ${d}`);
      }
      for (const m of await mountsUnder(dir)) out.push(`mount ${m}`);
      for (const key of containers) {
        const i = key.indexOf('/');
        const sock = shimSocketPath(address, key.slice(0, i), key.slice(i + 1));
        if (existsSync(sock)) out.push(`shim socket ${sock}`);
      }
      for (const d of RUN_DIRS) {
        if (!runDirsBefore.has(d) && existsSync(d) && (await readdir(d)).length === 0) out.push(`empty directory ${d}`);
      }
      if (existsSync(dir)) out.push(`directory ${dir}`);
      return out;
    },
  };

  // Ready when ctr gets an answer over the socket.
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (daemon.exitCode !== null || daemon.signalCode !== null) throw new Error('containerd exited');
      if (existsSync(address)) {
        const r = await ctr(['version'], { timeoutMs: 5_000 }).catch(() => undefined);
        if (r?.code === 0) break;
      }
      if (Date.now() > deadline) throw new Error('containerd did not answer within 20 s');
      await sleep(50);
    }
  } catch (err) {
    await handle.stop();
    throw new Error(`containerd did not start: ${(err as Error).message}\n${output}`, { cause: err });
  }
  return handle;
}

/** Task status from `ctr task ls` (RUNNING, PAUSED, STOPPED, CREATED), or undefined if no task. */
export async function taskStatus(c: Containerd, id: string): Promise<string | undefined> {
  const r = await c.ctr(['tasks', 'ls']);
  for (const line of r.stdout.split('\n').slice(1)) {
    const [task, , status] = line.trim().split(/\s+/);
    if (task === id) return status;
  }
  return undefined;
}

/** Waits until task `id` has `status` (throws after `timeoutMs`). */
export async function waitForTaskStatus(c: Containerd, id: string, status: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  while ((last = await taskStatus(c, id)) !== status) {
    if (Date.now() > deadline) throw new Error(`task ${id} is ${last ?? 'absent'}, not ${status}, after ${timeoutMs} ms`);
    await sleep(50);
  }
}
