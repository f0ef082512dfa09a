// Drives the Go interop peer (interop/go: containerd's Go ttrpc plus message
// types generated from our .proto files): builds it, runs it as a server, as
// a checking client, or as a benchmark client. Used by the interop tests and
// by bench/ttrpc.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const BUILD_SCRIPT = fileURLToPath(new URL('../../interop/go/build.sh', import.meta.url));

/** Whether the Go toolchain is installed (the peer cannot be built without it). */
export function goInstalled(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

/** Builds the peer if needed (see build.sh) and returns the binary's path. */
export function buildGoPeer(): string {
  const out = execFileSync(BUILD_SCRIPT, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = out.trim().split('\n');
  return lines[lines.length - 1]!;
}

/** A server running in a child process. */
export interface ServerProcess {
  socket: string;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

/** A running `kata-ttrpc-peer server`. */
export type GoServer = ServerProcess;

/**
 * Starts `kata-ttrpc-peer server` on a unix socket and resolves once it
 * prints its "listening on" line. The server also exits if our process dies
 * (it watches its stdin, which we hold open).
 */
export function startGoServer(binary: string, socket: string): Promise<GoServer> {
  return startServerProcess(binary, ['server', '--socket', socket, '--exit-on-stdin-eof'], socket);
}

/**
 * Spawns a server that prints "listening on ..." on stdout once it accepts
 * connections, and exits on SIGTERM or when its stdin closes.
 */
export async function startServerProcess(command: string, args: string[], socket: string): Promise<ServerProcess> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));

  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const onExit = (code: number | null, signal: string | null): void =>
      reject(new Error(`${command} exited (${signal ?? code}) before listening: ${stderr.join('')}`));
    child.once('exit', onExit);
    child.once('error', reject);
    lines.on('line', (line) => {
      if (line.startsWith('listening on ')) {
        child.off('exit', onExit);
        resolve();
      }
    });
  });

  return { socket, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the peer with `args` to completion (asynchronously, so an in-process server keeps serving). */
export function runGoPeer(binary: string, args: string[], timeoutMs = 60_000): Promise<ProcessResult> {
  return runProcess(binary, args, timeoutMs);
}

/** Runs a command to completion, collecting its output; killed after `timeoutMs`. */
export function runProcess(command: string, args: string[], timeoutMs = 60_000): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** One benchmark run's numbers, as printed by both benchmark clients. */
export interface BenchResult {
  client: string;
  concurrency: number;
  calls: number;
  seconds: number;
  p50_us: number;
  p99_us: number;
  calls_per_sec: number;
}

/** Runs `kata-ttrpc-peer bench-client` and returns its JSON result. */
export async function runGoBenchClient(
  binary: string,
  socket: string,
  opts: { concurrency: number; durationMs: number; warmupMs: number },
): Promise<BenchResult> {
  const result = await runGoPeer(binary, [
    'bench-client',
    '--socket', socket,
    '--concurrency', String(opts.concurrency),
    '--duration', `${opts.durationMs}ms`,
    '--warmup', `${opts.warmupMs}ms`,
  ]);
  if (result.code !== 0) throw new Error(`Go bench-client failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as BenchResult;
}
