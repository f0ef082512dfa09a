// `containerd-shim-kata-ts-v2 ... -id ID start`: containerd runs it in the
// bundle directory when it creates a task, reads the shim's socket address
// from its stdout (stdout and stderr together: nothing else may be written
// when it succeeds), and connects. For a container of a Kubernetes pod the
// address is that of the pod sandbox's shim, already running; otherwise a
// daemon is spawned (detached, in its own session) and the address is
// printed once it listens.
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { groupingOf, readBundleFacts } from './grouping.js';
import { readAddressFile, shimSocketAddress, socketPath, writeAddressFile } from './layout.js';
import { canConnect } from './probe.js';
import { decodeRuntimeOptions } from './runtime-options.js';

/** Environment variable naming the configuration file (set for the daemon from the runtime options). */
export const CONFIG_ENV = 'KATA_TS_CONFIG';
/** Environment variable telling the daemon which descriptor to report readiness on. */
export const READY_FD_ENV = 'KATA_TS_SHIM_READY_FD';
const READY_FD = 3;
/** How long the daemon may take to listen (it loads its modules and config; the VM boots later). */
const DAEMON_READY_TIMEOUT_MS = 30_000;

export interface StartRequest {
  namespace: string;
  id: string;
  /** containerd's gRPC socket path. */
  grpcAddress: string;
  publishBinary: string;
  bundle: string;
  debug: boolean;
  /** What containerd wrote on stdin (runtime options), possibly empty. */
  options: Uint8Array;
  /** The shim executable and the arguments node needs to run it again (the daemon). */
  self: { node: string; execArgv: string[]; script: string };
  env: NodeJS.ProcessEnv;
}

/** Returns the address to print. */
export async function startShim(req: StartRequest): Promise<string> {
  const facts = readBundleFacts(req.bundle);
  const grouping = groupingOf(req.id, facts.annotations);

  if (grouping.kind === 'pod-member') {
    // The sandbox's bundle is a sibling of ours (<state>/<runtime>/<namespace>/<id>).
    const sandboxBundle = join(dirname(req.bundle), grouping.sandboxId);
    const address = readAddressFile(sandboxBundle) ?? shimSocketAddress(req.grpcAddress, req.namespace, grouping.sandboxId);
    if (!(await canConnect(socketPath(address)))) {
      throw new Error(`the shim of pod sandbox ${grouping.sandboxId} is not running (nothing listens on ${address}): a pod's containers run in its sandbox's VM`);
    }
    writeAddressFile(req.bundle, address);
    return address;
  }

  const address = shimSocketAddress(req.grpcAddress, req.namespace, grouping.groupId);
  if (await canConnect(socketPath(address))) {
    // Already served (containerd asking again after a failure of its own).
    writeAddressFile(req.bundle, address);
    return address;
  }
  const options = decodeRuntimeOptions(req.options);
  const env: NodeJS.ProcessEnv = { ...req.env, [READY_FD_ENV]: String(READY_FD) };
  if (options?.configPath) env[CONFIG_ENV] = options.configPath;

  const args = [
    ...req.self.execArgv,
    req.self.script,
    '-namespace', req.namespace,
    '-id', req.id,
    '-address', req.grpcAddress,
    '-publish-binary', req.publishBinary,
    '-socket', socketPath(address),
    ...(req.debug ? ['-debug'] : []),
  ];
  const logFd = openShimLogFifo(req.bundle);
  let child;
  try {
    child = spawn(req.self.node, args, {
      cwd: req.bundle,
      detached: true,
      stdio: ['ignore', 'ignore', logFd ?? 'ignore', 'pipe'],
      env,
    });
  } finally {
    if (logFd !== undefined) closeSync(logFd);
  }
  await waitForReady(child.stdio[3] as Readable, child);
  child.unref();
  adjustOomScore(child.pid!);
  writeAddressFile(req.bundle, address);
  return address;
}

/**
 * containerd's `log` fifo in the bundle (it holds the reading end), opened
 * for writing without blocking; undefined when there is none or nobody
 * reads it. Non-blocking on purpose: a log line that does not fit is
 * dropped rather than stalling the shim.
 */
function openShimLogFifo(bundle: string): number | undefined {
  try {
    return openSync(join(bundle, 'log'), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
}

function waitForReady(channel: Readable, child: import('node:child_process').ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => fail(new Error(`the shim daemon did not start within ${DAEMON_READY_TIMEOUT_MS / 1000} s`)), DAEMON_READY_TIMEOUT_MS);
    const done = (err?: Error) => {
      clearTimeout(timer);
      channel.removeAllListeners();
      child.removeListener('exit', onExit);
      channel.destroy();
      if (err) reject(err);
      else resolve();
    };
    const fail = (err: Error) => {
      child.kill('SIGKILL');
      done(err);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      done(new Error(`the shim daemon exited (${signal ?? `status ${code}`}) before it was ready${text ? `: ${text.trim()}` : ''}`));
    child.once('exit', onExit);
    child.once('error', (err) => done(new Error(`cannot start the shim daemon: ${err.message}`)));
    channel.setEncoding('utf8');
    channel.on('data', (d: string) => {
      text += d;
      const line = text.split('\n')[0]!;
      if (!text.includes('\n')) return;
      if (line === 'ready') done();
      else fail(new Error(line.replace(/^error: /, '')));
    });
    channel.on('error', () => {});
  });
}

/** The shim gets containerd's OOM score + 1, as containerd's own shims do: the kernel kills a shim before containerd. */
function adjustOomScore(pid: number): void {
  try {
    const parent = Number(readFileSync(`/proc/${process.ppid}/oom_score_adj`, 'utf8').trim());
    if (Number.isInteger(parent)) writeFileSync(`/proc/${pid}/oom_score_adj`, String(Math.min(parent + 1, 1000)));
  } catch {
    // not fatal: the shim just keeps its inherited score
  }
}

export function selfCommand(): StartRequest['self'] {
  return { node: process.execPath, execArgv: process.execArgv, script: realpathSync(process.argv[1]!) };
}
