// Runs a command line tool (ctr, podman, script) to completion with a time
// limit, so a hung container manager fails the test with its output instead
// of stalling the whole run.

import { spawn } from 'node:child_process';

export interface CommandResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed (an empty stdin by default). */
  input?: string;
  /** Killed with SIGKILL after this long (default 120 s: a VM boot under TCG takes ~7 s). */
  timeoutMs?: number;
  cwd?: string;
}

export class CommandTimeoutError extends Error {
  constructor(
    readonly commandLine: string,
    readonly timeoutMs: number,
    readonly partial: CommandResult,
  ) {
    super(`${commandLine}: no exit after ${timeoutMs} ms\nstdout: ${partial.stdout}\nstderr: ${partial.stderr}`);
    this.name = 'CommandTimeoutError';
  }
}

export async function runCommand(cmd: string, args: string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const child = spawn(cmd, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // A command that exits without reading its stdin makes the write fail with
  // EPIPE; that is not an error of the command.
  child.stdin.on('error', () => undefined);
  child.stdin.end(opts.input ?? '');

  const timeoutMs = opts.timeoutMs ?? 120_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      // 'close' (not 'exit'): all output has been read by then.
      child.once('close', (c: number | null, s: NodeJS.Signals | null) => resolve([c, s]));
    });
    const result = { code, signal, stdout, stderr };
    if (timedOut) throw new CommandTimeoutError([cmd, ...args].join(' '), timeoutMs, result);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/** Throws with the command's output unless it exited with status 0. */
export function expectSuccess(what: string, r: CommandResult): CommandResult {
  if (r.code !== 0) {
    throw new Error(`${what} failed (exit ${r.code ?? r.signal})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r;
}

/** Quotes one argument for /bin/sh. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
