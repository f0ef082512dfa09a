// podman with everything private for tests: storage, run state, libpod's
// tmpdir, volumes, network config and the OCI runtime's own state in a
// temporary directory, containers in a cgroup parent of their own, no
// network. Containers run from a plain directory (`--rootfs DIR`), so no
// image or registry is involved. The teardown leaves nothing behind.
//
// Facts about podman 4.3.1 / conmon 2.1.6 (Debian 12) on this kind of host
// (root without CAP_SYS_RESOURCE, hybrid cgroups, no network, no systemd as
// PID 1), found by running them:
// - Ulimits: as root, podman puts RLIMIT_NOFILE and RLIMIT_NPROC 1048576 in
//   every spec, and itself runs with RLIMIT_NPROC 32768. Raising a hard limit
//   needs CAP_SYS_RESOURCE, which this machine's root lacks, so runc fails
//   with "error setting rlimit type 7 (then 6): operation not permitted".
//   A `--ulimit` on the command line replaces containers.conf's
//   default_ulimits as a whole (a limit it does not name is back to
//   1048576), and `--ulimit host` does not help (NOFILE 1048576 again), so
//   the private containers.conf sets default_ulimits for both to 1024 and
//   tests add no --ulimit.
// - CONTAINERS_CONF makes podman read that one file and no other
//   containers.conf (not /usr/share/containers/containers.conf either).
// - The CNI backend writes /etc/cni/net.d/cni.lock even for --network none
//   unless --network-config-dir points elsewhere.
// - podman passes `--runtime-flag` values to the runtime for its own calls,
//   but not to the cleanup it asks conmon to run at exit (`podman container
//   cleanup`, whose flags are podman's global flags only): with
//   `--runtime-flag root=X` the cleanup's `runc delete` looks in the default
//   root and the container's state and cgroup stay. So the runtime is given
//   to podman as a wrapper script, `<dir>/bin/<name>`, that execs it with
//   `--root <dir>/runtime-root`: every caller then agrees on the root. (The
//   wrapper keeps the runtime's base name: podman keys some behaviour on it,
//   e.g. runtime_supports_json lists `runc`, `crun`, `kata`.)
// - With --cgroup-manager cgroupfs and --cgroup-parent P, containers go to
//   P/libpod-<id> (in every v1 hierarchy and in cgroup2) and conmon to
//   P/conmon (v1 hierarchies only); the runtime removes the container's
//   cgroup at delete, nobody removes P or P/conmon: the teardown does.
// - conmon double-forks and is re-parented to PID 1 (left as a zombie until
//   PID 1 reaps it).
// - podman mounts a tmpfs for each container's /dev/shm on the host at
//   <root>/overlay-containers/<id>/userdata/shm, unmounted at `podman rm`.
// - The overlay storage driver bind-mounts its home (<root>/overlay) onto
//   itself and leaves that mount when podman exits, even with --rootfs
//   containers only: the teardown unmounts everything under the directory.
// - The runtime writes mount points (etc/hosts, etc/hostname, run/.containerenv)
//   into the --rootfs directory: use a throw-away rootfs.
// - `podman run` (attached) exits with the container's status; `podman exec`
//   with the exec'd process's; `podman stop -t N` sends SIGTERM, then SIGKILL
//   after N seconds; `podman inspect --format {{.State.ExitCode}}` reports it.
// - What podman and conmon run, given `--runtime R` (logged with a wrapper;
//   <u> is <root>/overlay-containers/<id>/userdata, <r> the same under runroot):
//     R --log-format=json --log <r>/oci-log create --bundle <u> --pid-file <r>/pidfile [--console-socket /tmp/conmon-term.XXXXXX] ID
//     R start ID
//     R --log-format=json --log <u>/<exec-id>/oci-log exec --pid-file <u>/<exec-id>/exec_pid --process <u>/<exec-id>/exec-process-<n> --detach ID
//     R kill ID 15, then R kill ID 9 after the stop timeout
//     R delete --force ID
//   Never `state` in these flows: conmon (a subreaper) waits for the pid
//   from --pid-file and records its exit status.
// - Terminal: `podman run -it` needs a terminal on its stdin; a test gets one
//   from `script -qec CMD /dev/null` (util-linux, package bsdutils), which
//   also returns CMD's exit status (-e). conmon hands the runtime a console
//   socket (--console-socket) and relays the pty.

import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { runCommand, shellQuote, type CommandOptions, type CommandResult } from '../managers/command.js';
import {
  cgroupDirs,
  cgroupPids,
  killAndWait,
  mountsUnder,
  processesMentioning,
  removeCgroupTree,
  unmountUnder,
} from '../managers/leftovers.js';

const PODMAN = 'podman';

/** Why podman tests cannot run here, or undefined when they can. */
export function podmanSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync('/usr/bin/podman')) return 'needs podman (package podman)';
  if (!existsSync('/usr/bin/conmon')) return 'needs conmon (package conmon)';
  return undefined;
}

export interface PodmanOptions {
  /** Path of the runc-compatible runtime binary. */
  runtime: string;
  /** Ulimits every container gets (see the notes above); default nofile and nproc 1024. */
  defaultUlimits?: string[];
}

export interface Podman {
  /** The temporary directory holding everything. */
  dir: string;
  /** What podman is told to run (a wrapper around the runtime; see above). */
  runtimeWrapper: string;
  /** The runtime's --root. */
  runtimeRoot: string;
  /** The cgroup parent of every container (`run/create` flags in runArgs()). */
  cgroupParent: string;
  /** The environment podman runs with (private containers.conf and storage.conf). */
  env: NodeJS.ProcessEnv;
  /** podman's global flags, for building a command line elsewhere (see shellCommand). */
  globalArgs: string[];
  /** Flags for `podman run/create`: no network, the private cgroup parent. */
  runArgs(): string[];
  /** Runs `podman <global flags> args...`. */
  podman(args: string[], opts?: CommandOptions): Promise<CommandResult>;
  /** The whole podman command line, shell-quoted (for `script -c`). */
  shellCommand(args: string[]): string;
  /**
   * What a finished test left while podman stays usable: containers,
   * conmon/runtime processes, processes or container cgroups under the
   * cgroup parent, mounts, runtime state. Empty when the test cleaned up.
   */
  idleLeftovers(): Promise<string[]>;
  /** Removes every container, kills what survived, unmounts, removes cgroups and `dir`. */
  stop(): Promise<void>;
  /** What is still on the host from this podman (empty after stop()). */
  leftovers(): Promise<string[]>;
}

export async function startPodman(opts: PodmanOptions): Promise<Podman> {
  if (!existsSync(opts.runtime)) throw new Error(`runtime ${opts.runtime} does not exist`);
  const dir = await mkdtemp(join(tmpdir(), 'kata-ts-podman-'));
  const p = (name: string) => join(dir, name);
  for (const d of ['root', 'runroot', 'tmp', 'volumes', 'net', 'runtime-root', 'bin']) await mkdir(p(d), { recursive: true });
  const cgroupParent = `/kata-ts-podman-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  // The runtime, with its state in our directory for every caller (see above).
  const runtimeWrapper = join(p('bin'), basename(opts.runtime));
  await writeFile(runtimeWrapper, `#!/bin/sh\nexec ${shellQuote(opts.runtime)} --root ${shellQuote(p('runtime-root'))} "$@"\n`);
  await chmod(runtimeWrapper, 0o755);

  const ulimits = opts.defaultUlimits ?? ['nofile=1024:1024', 'nproc=1024:1024'];
  await writeFile(
    p('containers.conf'),
    ['[containers]', `default_ulimits = [${ulimits.map((u) => JSON.stringify(u)).join(', ')}]`, ''].join('\n'),
  );
  // Storage as the flags say, whatever /etc/containers/storage.conf says.
  await writeFile(
    p('storage.conf'),
    ['[storage]', 'driver = "overlay"', `graphroot = ${JSON.stringify(p('root'))}`, `runroot = ${JSON.stringify(p('runroot'))}`, ''].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CONTAINERS_CONF: p('containers.conf'),
    CONTAINERS_STORAGE_CONF: p('storage.conf'),
  };
  const globalArgs = [
    '--root', p('root'),
    '--runroot', p('runroot'),
    '--tmpdir', p('tmp'),
    '--volumepath', p('volumes'),
    '--network-config-dir', p('net'),
    '--cgroup-manager', 'cgroupfs',
    '--events-backend', 'file',
    '--runtime', runtimeWrapper,
  ];
  const podman = (args: string[], o: CommandOptions = {}) => runCommand(PODMAN, [...globalArgs, ...args], { env, ...o });

  let stopped = false;
  return {
    dir,
    runtimeWrapper,
    runtimeRoot: p('runtime-root'),
    cgroupParent,
    env,
    globalArgs,
    runArgs: () => ['--network', 'none', '--cgroup-parent', cgroupParent],
    podman,
    shellCommand: (args) => [PODMAN, ...globalArgs, ...args].map(shellQuote).join(' '),
    async stop() {
      if (stopped) return;
      stopped = true;
      // 1. Through podman: force-remove every container (-t 0: SIGKILL at once).
      await podman(['rm', '--all', '--force', '--time', '0'], { timeoutMs: 60_000 }).catch(() => undefined);
      // 2. Whatever survived: conmon, runtime and cleanup processes naming our
      //    directory, and anything left in our cgroups.
      await killAndWait((await processesMentioning(dir)).map((x) => x.pid));
      await killAndWait(await cgroupPids(cgroupParent));
      // 3. Mounts (per-container shm, storage), cgroups, the directory.
      await unmountUnder(dir);
      await removeCgroupTree(cgroupParent);
      await rm(dir, { recursive: true, force: true });
    },
    async idleLeftovers() {
      const out: string[] = [];
      const ps = await podman(['ps', '--all', '--quiet', '--no-trunc'], { timeoutMs: 30_000 });
      for (const id of ps.stdout.split('\n').filter((l) => l.trim() !== '')) out.push(`container ${id.trim()}`);
      for (const x of await processesMentioning(dir)) out.push(`process ${x.pid}: ${x.cmdline}`);
      for (const pid of await cgroupPids(cgroupParent)) out.push(`process ${pid} in cgroup ${cgroupParent}`);
      for (const d of await cgroupDirs(cgroupParent)) {
        // P/conmon (v1 hierarchies) stays between containers, by design.
        const children = (await readdir(d, { withFileTypes: true })).filter((e) => e.isDirectory() && e.name !== 'conmon');
        for (const c of children) out.push(`cgroup ${join(d, c.name)}`);
      }
      for (const m of await mountsUnder(dir)) out.push(`mount ${m}`);
      for (const f of await readdir(p('runtime-root'))) out.push(`runtime state ${join(p('runtime-root'), f)}`);
      return out;
    },
    async leftovers() {
      const out: string[] = [];
      for (const x of await processesMentioning(dir)) out.push(`process ${x.pid}: ${x.cmdline}`);
      for (const pid of await cgroupPids(cgroupParent)) out.push(`process ${pid} in cgroup ${cgroupParent}`);
      for (const d of await cgroupDirs(cgroupParent)) out.push(`cgroup ${d}`);
      for (const m of await mountsUnder(dir)) out.push(`mount ${m}`);
      if (existsSync(dir)) out.push(`directory ${dir}`);
      return out;
    },
  };
}
