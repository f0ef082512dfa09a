// Driver for an OCI runtime binary (crun by default, runc supported): one
// method per runtime command, each running the binary once and turning a
// failure into a RuntimeCommandError that carries what the runtime said.
//
// Commands that start a container process (create, exec) run the runtime
// with the process's own stdio descriptors: the runtime hands its stdin,
// stdout and stderr to the process ("pass-through"). Its own error messages
// would then land in the process's stderr, so those commands also write a
// JSON error log (--log, --log-format json) that the driver reads on failure.
//
// crun 1.8 refuses a "hybrid" cgroup host (cgroup v1 controllers plus a
// cgroup2 mount at /sys/fs/cgroup/unified). On such a host, and only for
// crun, every command runs in a private mount namespace where that cgroup2
// mount is unmounted (`unshare --mount` + `umount`), so crun sees a plain
// cgroup v1 host. runc handles hybrid hosts itself. A VM guest has a pure
// cgroup v2 (or v1) layout and needs no workaround.
//
// When / is the initramfs (as in the VM), pivot_root is impossible, so
// `create` gets --no-pivot.

import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, delimiter, isAbsolute, join } from 'node:path';
import { silentLogger, type Logger } from '../../common/logger.js';
import { stringifySpec } from '../../oci/json.js';
import type { LinuxResources, Process as OciProcess } from '../../oci/spec.js';
import type { ChildStdioFds } from '../process/stdio.js';
import { ContainerError, RuntimeCommandError } from './errors.js';

/** Which command-line dialect the binary speaks. */
export type RuntimeKind = 'crun' | 'runc';

export interface OciRuntimeOptions {
  /**
   * The runtime: "crun" (default), "runc", another name looked up on PATH,
   * or an absolute path. The dialect comes from the binary's name, or from
   * its `--version` output when the name says nothing.
   */
  runtime?: string;
  /** State directory (`--root`). Default: the runtime's own (/run/crun, /run/runc). */
  root?: string;
  /** Run crun in a private mount namespace without the cgroup2 mount of a hybrid host. Default 'auto' (detect). */
  hybridCgroupWorkaround?: 'auto' | boolean;
  /** Pass --no-pivot to create. Default 'auto': when / is the initramfs. */
  noPivot?: 'auto' | boolean;
  /** Time limit for one runtime command, in ms (0 = none). Default 60000. */
  commandTimeoutMs?: number;
  logger?: Logger;
}

/** The runtime's `state` output (OCI runtime spec "State"). */
export interface RuntimeState {
  ociVersion?: string;
  id: string;
  /** "creating" | "created" | "running" | "paused" | "stopped" */
  status: string;
  pid?: number;
  bundle?: string;
  [key: string]: unknown;
}

export interface CreateOptions {
  bundle: string;
  /** Where the runtime writes the pid of the container's init process. */
  pidFile: string;
  /** For a terminal process: socket that receives the pty master. */
  consoleSocket?: string;
  /** The process's stdio (pass-through); without it the process gets /dev/null. */
  stdio?: ChildStdioFds;
}

export interface ExecOptions {
  /** process.json is written here. */
  processFile: string;
  pidFile: string;
  consoleSocket?: string;
  stdio?: ChildStdioFds;
}

/** Mount point of the cgroup2 hierarchy on a hybrid host. */
const HYBRID_UNIFIED_MOUNT = '/sys/fs/cgroup/unified';
/** Largest runtime output kept for error messages. */
const MAX_CAPTURE = 64 * 1024;

interface MountEntry {
  mountPoint: string;
  fsType: string;
}

/** The mounts of this process's mount namespace, from /proc/self/mountinfo. */
async function readMounts(): Promise<MountEntry[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const mounts: MountEntry[] = [];
  for (const line of text.split('\n')) {
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw"
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const mountPoint = left.split(' ')[4];
    const fsType = right.split(' ')[0];
    if (mountPoint !== undefined && fsType !== undefined) {
      mounts.push({ mountPoint: mountPoint.replace(/\\040/g, ' '), fsType });
    }
  }
  return mounts;
}

/** True when cgroup v1 hierarchies and a separate cgroup2 mount at /sys/fs/cgroup/unified coexist. */
export async function isHybridCgroupHost(): Promise<boolean> {
  const mounts = await readMounts();
  const hasV1 = mounts.some((m) => m.fsType === 'cgroup');
  const unified = mounts.some((m) => m.fsType === 'cgroup2' && m.mountPoint === HYBRID_UNIFIED_MOUNT);
  return hasV1 && unified;
}

/** True when / is the kernel's initial ramfs (the initramfs was not switched away from). */
export async function isRootInitramfs(): Promise<boolean> {
  const mounts = await readMounts();
  const root = mounts.filter((m) => m.mountPoint === '/').at(-1);
  return root?.fsType === 'rootfs';
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Resolves a runtime name on PATH (plus the sbin directories, where runc lives). */
async function findBinary(name: string): Promise<string> {
  if (isAbsolute(name)) {
    if (await isExecutable(name)) return name;
    throw new ContainerError('INVALID_ARGUMENT', `runtime: ${name} is not an executable file`);
  }
  if (name.includes('/') || name.length === 0) {
    throw new ContainerError('INVALID_ARGUMENT', `runtime: expected a name or an absolute path, got ${JSON.stringify(name)}`);
  }
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d.length > 0);
  for (const extra of ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin']) {
    if (!dirs.includes(extra)) dirs.push(extra);
  }
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  throw new ContainerError('INVALID_ARGUMENT', `runtime: ${name} not found on PATH`);
}

interface RunResult {
  stdout: string;
  stderr: string;
}

/** Stdio handed to the runtime and, through it, to the process it starts. */
type PassThroughStdio = [number | 'ignore', number | 'ignore', number | 'ignore'];

interface RunOptions {
  /** Pass-through stdio for the process the runtime starts (else output is captured). */
  stdio?: PassThroughStdio;
  /** Error log file (JSON lines) to read on failure. */
  logFile?: string;
}

/** Appends to a string, keeping at most MAX_CAPTURE characters. */
function capped(acc: string, chunk: Buffer): string {
  return acc.length >= MAX_CAPTURE ? acc : (acc + chunk.toString('utf8')).slice(0, MAX_CAPTURE);
}

/** The messages of a runtime's JSON log ({"level":"error","msg":...} lines), or the raw text. */
function messagesFromLog(text: string): string {
  const messages: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim().length === 0) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if (entry.msg !== undefined && (entry.level === undefined || /^(error|fatal|warn|warning)$/.test(entry.level))) {
        messages.push(entry.msg);
      }
    } catch {
      messages.push(line.trim());
    }
  }
  return messages.join('; ');
}

export class OciRuntime {
  private constructor(
    /** Absolute path of the binary. */
    readonly path: string,
    readonly kind: RuntimeKind,
    /** The --root state directory, if set. */
    readonly root: string | undefined,
    /** Whether commands run in a private mount namespace (see file comment). */
    readonly hybridWorkaround: boolean,
    readonly noPivot: boolean,
    private readonly commandTimeoutMs: number,
    private readonly log: Logger,
  ) {}

  /** Finds the binary and inspects the host. */
  static async open(opts: OciRuntimeOptions = {}): Promise<OciRuntime> {
    const path = await findBinary(opts.runtime ?? 'crun');
    const kind = await OciRuntime.detectKind(path);
    const hybrid =
      kind === 'crun' &&
      (opts.hybridCgroupWorkaround === 'auto' || opts.hybridCgroupWorkaround === undefined
        ? await isHybridCgroupHost()
        : opts.hybridCgroupWorkaround);
    const noPivot = opts.noPivot === 'auto' || opts.noPivot === undefined ? await isRootInitramfs() : opts.noPivot;
    const log = (opts.logger ?? silentLogger).child({ subsystem: 'oci-runtime', runtime: kind });
    return new OciRuntime(path, kind, opts.root, hybrid, noPivot, opts.commandTimeoutMs ?? 60_000, log);
  }

  private static async detectKind(path: string): Promise<RuntimeKind> {
    const name = basename(path);
    if (name.includes('crun')) return 'crun';
    if (name.includes('runc')) return 'runc';
    const out = await new Promise<string>((resolve) => {
      const child = spawn(path, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text = capped(text, d)));
      child.on('error', () => resolve(''));
      child.on('close', () => resolve(text));
    });
    if (/^crun/m.test(out)) return 'crun';
    if (/^runc/m.test(out)) return 'runc';
    throw new ContainerError('INVALID_ARGUMENT', `runtime: cannot tell whether ${path} is crun or runc (from its name or --version)`);
  }

  /** `create`: sets up the container; its init process waits for `start`. */
  async create(id: string, opts: CreateOptions): Promise<void> {
    const args = ['create', '--bundle', opts.bundle, '--pid-file', opts.pidFile];
    if (opts.consoleSocket !== undefined) args.push('--console-socket', opts.consoleSocket);
    if (this.noPivot) args.push('--no-pivot');
    args.push(id);
    await this.runWithLog(args, opts.stdio, join(opts.bundle, `create-${process.pid}.log`));
  }

  /** `start`: lets the init process exec the user's program. */
  async start(id: string): Promise<void> {
    await this.run(['start', id]);
  }

  /** `kill`: signals the init process, or with `all` every process of the container. */
  async kill(id: string, signal: number, opts: { all?: boolean } = {}): Promise<void> {
    const args = ['kill'];
    if (opts.all) args.push('--all');
    args.push(id, String(signal));
    await this.run(args);
  }

  /** `delete`: removes the runtime's state and the container's cgroup. */
  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    const args = ['delete'];
    if (opts.force) args.push('--force');
    args.push(id);
    await this.run(args);
  }

  /** `state`: the container's OCI state. */
  async state(id: string): Promise<RuntimeState> {
    const { stdout } = await this.run(['state', id]);
    return JSON.parse(stdout) as RuntimeState;
  }

  /** `list`: every container in the state directory. */
  async list(): Promise<RuntimeState[]> {
    const { stdout } = await this.run(['list', '--format', 'json']);
    const parsed = JSON.parse(stdout.trim().length === 0 ? '[]' : stdout) as RuntimeState[] | null;
    return parsed ?? [];
  }

  /** `pause`: freezes every process of the container. */
  async pause(id: string): Promise<void> {
    await this.run(['pause', id]);
  }

  /** `resume`: thaws a paused container. */
  async resume(id: string): Promise<void> {
    await this.run(['resume', id]);
  }

  /** `update --resources`: applies new cgroup limits; `scratchFile` holds the JSON meanwhile. */
  async update(id: string, resources: LinuxResources, scratchFile: string): Promise<void> {
    await writeFile(scratchFile, stringifySpec(resources), { mode: 0o600 });
    try {
      await this.run(['update', '--resources', scratchFile, id]);
    } finally {
      await rm(scratchFile, { force: true });
    }
  }

  /** `exec --detach`: starts another process in the running container. */
  async exec(id: string, processSpec: OciProcess, opts: ExecOptions): Promise<void> {
    await writeFile(opts.processFile, stringifySpec(processSpec), { mode: 0o600 });
    try {
      const args = ['exec', '--process', opts.processFile, '--detach', '--pid-file', opts.pidFile];
      if (opts.consoleSocket !== undefined) args.push('--console-socket', opts.consoleSocket);
      args.push(id);
      await this.runWithLog(args, opts.stdio, `${opts.processFile}.log`);
    } finally {
      await rm(opts.processFile, { force: true });
    }
  }

  /**
   * A command whose stdio is the container process's (or /dev/null): errors
   * are read from a log file.
   */
  private async runWithLog(args: string[], stdio: ChildStdioFds | undefined, logFile: string): Promise<void> {
    await rm(logFile, { force: true });
    try {
      await this.run(args, { stdio: stdio ?? ['ignore', 'ignore', 'ignore'], logFile });
    } finally {
      await rm(logFile, { force: true });
    }
  }

  /** Runs `<binary> [--root R] [--log F --log-format json] args...` and waits for it. */
  private run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const global: string[] = [];
    if (this.root !== undefined) global.push('--root', this.root);
    if (opts.logFile !== undefined) global.push('--log', opts.logFile, '--log-format', 'json');
    const fullArgs = [...global, ...args];
    let file = this.path;
    let argv = fullArgs;
    if (this.hybridWorkaround) {
      file = 'unshare';
      argv = [
        '--mount',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        `umount -l ${HYBRID_UNIFIED_MOUNT} 2>/dev/null; exec "$0" "$@"`,
        this.path,
        ...fullArgs,
      ];
    }
    const command = args[0] ?? '';
    this.log.debug({ args: fullArgs }, 'running runtime command');
    return new Promise<RunResult>((resolve, reject) => {
      const child = spawn(file, argv, {
        stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => (stdout = capped(stdout, d)));
      child.stderr?.on('data', (d: Buffer) => (stderr = capped(stderr, d)));
      let timedOut = false;
      const timer =
        this.commandTimeoutMs > 0
          ? setTimeout(() => {
              timedOut = true;
              child.kill('SIGKILL');
            }, this.commandTimeoutMs)
          : undefined;
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(new ContainerError('INTERNAL', `cannot run ${file}: ${err.message}`, { cause: err }));
      });
      // 'close' waits for our stdout/stderr pipes; with pass-through stdio
      // there are none, and the container process may hold them open anyway.
      child.on(opts.stdio ? 'exit' : 'close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) {
          reject(new ContainerError('DEADLINE_EXCEEDED', `runtime ${command} did not finish within ${this.commandTimeoutMs} ms`));
          return;
        }
        if (code === 0) {
          resolve({ stdout, stderr });
          return;
        }
        void this.failureText(stderr, opts.logFile).then((text) => {
          this.log.debug({ args: fullArgs, code, signal, text }, 'runtime command failed');
          reject(new RuntimeCommandError(command, [file, ...argv], code, text));
        });
      });
    });
  }

  private async failureText(stderr: string, logFile: string | undefined): Promise<string> {
    if (logFile !== undefined) {
      try {
        const fromLog = messagesFromLog(await readFile(logFile, 'utf8'));
        if (fromLog.length > 0) return fromLog.slice(0, MAX_CAPTURE);
      } catch {
        // no log written: fall back to stderr
      }
    }
    return stderr.trim();
  }
}

/** True if a runtime error says the container is unknown to the runtime. */
export function isNotFoundError(err: unknown): boolean {
  return err instanceof RuntimeCommandError && /does not exist|not exist|no such file|not found/i.test(err.stderr);
}
