// Running a config.json's OCI hooks on the host, as the runtime spec says
// (config.md "POSIX-platform Hooks", runtime.md "Lifecycle"):
//
// - each hook is `path` executed with `args` (args[0] is argv[0]; no args
//   means argv = [path]) and exactly `env` (nothing of the runtime's own
//   environment is inherited);
// - the container's state (state.md) arrives as JSON on the hook's stdin;
// - `timeout` (seconds) bounds its run: on expiry the hook is killed and
//   counts as failed;
// - hooks of one kind run in the order listed. A failing prestart,
//   createRuntime, createContainer or startContainer hook fails the
//   operation (the hooks after it do not run); a failing poststart or
//   poststop hook is only a warning, and the hooks after it still run.
//
// Every failure names the hook the way the spec document does, e.g.
// `hooks.prestart[1] (/usr/bin/x): exit status 3: <the end of its stderr>`.
//
// Each hook gets a session (and so a process group) of its own: a hook that
// times out is killed together with whatever it started, so nothing is left
// running. The working directory is the bundle unless told otherwise.
import { spawn } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { silentLogger, type Logger } from '../../common/logger.js';
import type { Hook, Hooks } from '../../oci/spec.js';

/** The hook kinds of the runtime spec, in lifecycle order. */
export const HOOK_KINDS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
export type HookKind = (typeof HOOK_KINDS)[number];

/** Kinds whose failure fails the operation (the others only warn). */
export const FATAL_HOOK_KINDS: ReadonlySet<HookKind> = new Set(['prestart', 'createRuntime', 'createContainer', 'startContainer']);

/**
 * The kinds kata-ts-runtime runs, on the host. startContainer hooks are
 * meant to run inside the container's namespaces, which live in the guest,
 * and the spec the guest receives has no hooks: they are not run. (The
 * features document lists exactly these kinds.)
 */
export const HOST_HOOK_KINDS: readonly HookKind[] = ['prestart', 'createRuntime', 'createContainer', 'poststart', 'poststop'];

/** A container's status in the OCI state (runc also reports "paused"). */
export type OciStatus = 'creating' | 'created' | 'running' | 'stopped' | 'paused';

/** The container state of the runtime spec (state.md), as hooks and `state` see it. */
export interface OciState {
  ociVersion: string;
  id: string;
  status: OciStatus;
  /** The container process's pid on the host; absent once it is gone or before it exists. */
  pid?: number;
  /** Absolute path of the bundle directory. */
  bundle: string;
  annotations?: Record<string, string>;
}

/**
 * The state as JSON, exactly as hooks receive it on stdin: the fields in the
 * spec's order, absent optional fields left out.
 */
export function stateJson(state: OciState): string {
  const ordered: Record<string, unknown> = { ociVersion: state.ociVersion, id: state.id, status: state.status };
  if (state.pid !== undefined) ordered.pid = state.pid;
  ordered.bundle = state.bundle;
  if (state.annotations !== undefined) ordered.annotations = state.annotations;
  return JSON.stringify(ordered);
}

/** One hook that failed: which one, and how. */
export class HookError extends Error {
  override name = 'HookError';
  constructor(
    readonly kind: HookKind,
    /** Position in the spec's list of hooks of this kind. */
    readonly index: number,
    readonly path: string,
    /** How it failed, without the hook's name ("exit status 3: ..."). */
    readonly reason: string,
    /** What the hook wrote (the last MAX_CAPTURE bytes of each stream). */
    readonly stdout = '',
    readonly stderr = '',
  ) {
    super(`${hookLabel(kind, index, path)}: ${reason}`);
  }
}

/** "hooks.prestart[1] (/usr/bin/x)": how messages and logs name a hook. */
export function hookLabel(kind: HookKind, index: number, path: string): string {
  return `hooks.${kind}[${index}] (${path})`;
}

export interface RunHooksOptions {
  kind: HookKind;
  /** The hooks' working directory. Default: the bundle (state.bundle). */
  cwd?: string;
  /** Warnings and the output of hooks that succeeded (debug) go here. */
  logger?: Logger;
  /**
   * How long to wait, after a hook has exited, for the rest of its output
   * when something it started keeps its stdout or stderr open (ms). Default 1000.
   */
  outputGraceMs?: number;
}

/** The hooks of `kind` in a spec's `hooks` object (none when absent). */
export function hooksOfKind(hooks: Hooks | undefined, kind: HookKind): Hook[] {
  return hooks?.[kind] ?? [];
}

/**
 * Runs `hooks` (all of one kind) in order with `state` on their stdin.
 *
 * For a fatal kind (prestart, createRuntime, createContainer, startContainer)
 * the first failure is thrown as a HookError and the hooks after it are not
 * run. For poststart and poststop every hook runs; the failures are logged
 * as warnings and returned (an empty list when all succeeded).
 */
export async function runHooks(hooks: readonly Hook[] | undefined, state: OciState, opts: RunHooksOptions): Promise<HookError[]> {
  const logger = opts.logger ?? silentLogger;
  const input = Buffer.from(stateJson(state));
  const fatal = FATAL_HOOK_KINDS.has(opts.kind);
  const warnings: HookError[] = [];
  for (const [index, hook] of (hooks ?? []).entries()) {
    try {
      await runHook(hook, input, { kind: opts.kind, index, cwd: opts.cwd ?? state.bundle, logger, outputGraceMs: opts.outputGraceMs ?? 1000 });
    } catch (err) {
      if (!(err instanceof HookError) || fatal) throw err;
      logger.warn({ hook: hookLabel(err.kind, err.index, err.path), reason: err.reason }, `${err.message} (ignored: ${opts.kind} hooks only warn)`);
      warnings.push(err);
    }
  }
  return warnings;
}

/** Largest part of each output stream kept (the end of it). */
const MAX_CAPTURE = 64 * 1024;
/** How much of a failed hook's output goes into the error message. */
const MESSAGE_TAIL_LINES = 10;
const MESSAGE_TAIL_CHARS = 2000;
/** The longest delay setTimeout accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface RunOneOptions {
  kind: HookKind;
  index: number;
  cwd: string;
  logger: Logger;
  outputGraceMs: number;
}

/** The hook's env list as an object, checking every entry is KEY=value. */
function hookEnvironment(env: readonly string[] | undefined, fail: (reason: string) => HookError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, entry] of (env ?? []).entries()) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw fail(`env[${i}] ${JSON.stringify(entry)} is not KEY=value`);
    if (entry.includes('\0')) throw fail(`env[${i}] contains a NUL byte`);
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** The end of a hook's output for an error message: the last lines, trimmed. */
function outputTail(text: string): string {
  const lines = text.trim().split('\n');
  let tail = lines.slice(-MESSAGE_TAIL_LINES).join('\n');
  if (tail.length > MESSAGE_TAIL_CHARS) tail = `...${tail.slice(-MESSAGE_TAIL_CHARS)}`;
  return tail;
}

/** Appends to a bounded buffer of output, keeping its end. */
class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > 2 * MAX_CAPTURE) {
      const all = Buffer.concat(this.chunks).subarray(-MAX_CAPTURE);
      this.chunks = [all];
      this.size = all.length;
    }
  }
  text(): string {
    return Buffer.concat(this.chunks).subarray(-MAX_CAPTURE).toString('utf8');
  }
}

/** Runs one hook; resolves when it succeeded, rejects with a HookError otherwise. */
function runHook(hook: Hook, input: Buffer, opts: RunOneOptions): Promise<void> {
  const label = hookLabel(opts.kind, opts.index, hook.path);
  const fail = (reason: string, stdout = '', stderr = '') => new HookError(opts.kind, opts.index, hook.path, reason, stdout, stderr);
  if (!isAbsolute(hook.path)) return Promise.reject(fail('path must be absolute'));
  if (hook.path.includes('\0')) return Promise.reject(fail('path contains a NUL byte'));
  let env: Record<string, string>;
  try {
    env = hookEnvironment(hook.env, fail);
  } catch (err) {
    return Promise.reject(err);
  }
  const args = hook.args ?? [];
  const argv0 = args[0] ?? hook.path;

  return new Promise((resolve, reject) => {
    const child = spawn(hook.path, args.slice(1), {
      argv0,
      env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      // A session of its own, so a timed-out hook is killed with its children.
      detached: true,
    });
    const stdout = new OutputTail();
    const stderr = new OutputTail();
    child.stdout.on('data', (d: Buffer) => stdout.add(d));
    child.stderr.on('data', (d: Buffer) => stderr.add(d));
    // A hook that does not read its stdin and exits makes the write fail (EPIPE): not an error.
    child.stdin.on('error', () => {});
    child.stdin.end(input);

    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    // (A timeout beyond setTimeout's range, about 24 days, is no limit in practice.)
    if (hook.timeout !== undefined && Number(hook.timeout) * 1000 <= MAX_TIMER_MS) {
      timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, Number(hook.timeout) * 1000);
    }

    let settled = false;
    const finish = (reason: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const out = stdout.text();
      const err = stderr.text();
      if (reason === undefined) {
        if (out.trim() !== '' || err.trim() !== '') opts.logger.debug({ hook: label, stdout: out, stderr: err }, 'hook output');
        resolve();
        return;
      }
      const said = err.trim() !== '' ? err : out;
      reject(fail(said.trim() !== '' ? `${reason}: ${outputTail(said)}` : reason, out, err));
    };

    child.on('error', (e: NodeJS.ErrnoException) => {
      // The program could not be started (missing, not executable, bad cwd).
      finish(`cannot execute: ${e.code ?? e.message}${e.code === 'ENOENT' ? ` (no such file, or no working directory ${opts.cwd})` : ''}`);
    });
    child.on('exit', (code, signal) => {
      // The hook itself is done: its time limit no longer applies (what it
      // left running in the background is not ours to kill).
      clearTimeout(timer);
      let reason: string | undefined;
      if (timedOut) reason = `timed out after ${Number(hook.timeout)} s (killed)`;
      else if (signal !== null) reason = `killed by signal ${signal}`;
      else if (code !== 0) reason = `exit status ${code}`;
      // Read what is left in the pipes; if something the hook started keeps
      // them open, stop waiting after a grace period.
      const grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(reason);
      }, opts.outputGraceMs);
      child.on('close', () => {
        clearTimeout(grace);
        finish(reason);
      });
    });
  });
}

/** SIGKILL to the hook's process group (the hook and everything it started). */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
