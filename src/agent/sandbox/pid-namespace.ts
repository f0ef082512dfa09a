// CreateSandbox's `sandbox_pidns`: one pid namespace shared by all the
// sandbox's containers.
//
// A long-lived "pause" process is started as pid 1 of a new pid namespace
// (`unshare --pid --fork --kill-child -- sleep infinity`): unshare(1) makes
// the namespace and forks the pause into it, waiting for it. Containers join
// the namespace through `nsPath` (/proc/<pause pid>/ns/pid) in their spec's
// linux.namespaces; the namespace lives as long as the pause does.
//
// stop() kills the pause (SIGKILL is the one signal a namespace's init cannot
// ignore from outside), which ends the namespace and every process still in
// it; unshare then reaps it and exits, and Node reaps unshare. --kill-child
// also makes the kernel kill the pause should unshare die first.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, readlink, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { SandboxError, SandboxGrpcCode } from './errors.js';

const FIELD = 'create_sandbox.sandbox_pidns';

export interface SandboxPidNamespaceOptions {
  /** The unshare(1) program (util-linux). Default "unshare". */
  unshare?: string;
  /** What runs as pid 1 of the namespace; it must never exit by itself. Default sleep infinity. */
  pauseCommand?: readonly string[];
  /** Where procfs is mounted. Default "/proc". */
  procRoot?: string;
  /** How long to wait for the pause process to be running, in ms. Default 10000. */
  startTimeoutMs?: number;
}

/** A running sandbox pid namespace. */
export class SandboxPidNamespace {
  private exited = false;
  private readonly exit: Promise<unknown>;

  constructor(
    private readonly holder: ChildProcess,
    /** Pid (in our namespace) of the pause process, pid 1 of the new namespace. */
    readonly initPid: number,
    /** The namespace file containers join: /proc/<initPid>/ns/pid. */
    readonly nsPath: string,
  ) {
    this.exit = holder.exitCode !== null || holder.signalCode !== null ? Promise.resolve() : once(holder, 'exit');
    void this.exit.then(() => {
      this.exited = true;
    });
  }

  /** Pid of the unshare process holding the pause (our child). */
  get holderPid(): number {
    return this.holder.pid ?? -1;
  }

  /** Whether the namespace is still there (its pause process runs). */
  get running(): boolean {
    return !this.exited && this.holder.exitCode === null && this.holder.signalCode === null;
  }

  /**
   * Kills the pause process (and so every process of the namespace) and waits
   * until unshare has reaped it and exited. Safe to call more than once.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.running) {
      try {
        // While unshare runs it has not reaped the pause, so the pid is still the pause's.
        process.kill(this.initPid, 'SIGKILL');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        // The pause did not die or unshare hung: kill unshare; --kill-child takes the pause with it.
        this.holder.kill('SIGKILL');
      }, timeoutMs);
      try {
        await this.exit;
      } finally {
        clearTimeout(timer);
      }
    }
    await this.exit;
  }
}

/** The first child of `pid`, from /proc/<pid>/task/<pid>/children, or by scanning /proc for its PPid. */
async function firstChildOf(procRoot: string, pid: number): Promise<number | undefined> {
  try {
    const text = await readFile(join(procRoot, String(pid), 'task', String(pid), 'children'), 'utf8');
    const first = text.trim().split(/\s+/)[0];
    if (first) return Number(first);
    return undefined;
  } catch {
    // kernels without CONFIG_PROC_CHILDREN: scan
  }
  for (const name of await readdir(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = await readFile(join(procRoot, name, 'status'), 'utf8');
      if (new RegExp(`^PPid:\\s+${pid}$`, 'm').test(status)) return Number(name);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

async function linkOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch {
    return undefined;
  }
}

/**
 * Starts the sandbox pid namespace and resolves once its pause process runs
 * (forked into the new namespace and past its exec). Throws an INTERNAL
 * SandboxError naming `create_sandbox.sandbox_pidns` if it cannot be started.
 */
export async function startSandboxPidNamespace(options: SandboxPidNamespaceOptions = {}): Promise<SandboxPidNamespace> {
  const procRoot = options.procRoot ?? '/proc';
  const pause = options.pauseCommand ?? ['sleep', 'infinity'];
  if (pause.length === 0) throw new SandboxError(SandboxGrpcCode.INTERNAL, FIELD, 'the pause command is empty');
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);

  const holder = spawn(options.unshare ?? 'unshare', ['--pid', '--fork', '--kill-child', '--', ...pause], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  holder.stderr?.setEncoding('utf8');
  holder.stderr?.on('data', (chunk: string) => {
    if (stderr.length < 4096) stderr += chunk;
  });
  let spawnError: Error | undefined;
  holder.on('error', (err) => {
    spawnError = err;
  });
  const fail = async (why: string): Promise<never> => {
    if (holder.exitCode === null && holder.signalCode === null && holder.pid !== undefined) {
      const gone = once(holder, 'exit');
      holder.kill('SIGKILL');
      await gone;
    }
    const detail = stderr.trim() === '' ? '' : ` (${stderr.trim()})`;
    throw new SandboxError(SandboxGrpcCode.INTERNAL, FIELD, `starting the sandbox pid namespace failed: ${why}${detail}`, {
      cause: spawnError,
    });
  };

  const ourNs = await readlink(join(procRoot, 'self', 'ns', 'pid'));
  for (;;) {
    if (spawnError !== undefined) return fail(spawnError.message);
    if (holder.exitCode !== null || holder.signalCode !== null) {
      return fail(`unshare exited (${holder.exitCode ?? holder.signalCode}) before the pause process ran`);
    }
    if (Date.now() > deadline) return fail('timed out waiting for the pause process');
    const pid = holder.pid;
    if (pid !== undefined) {
      const child = await firstChildOf(procRoot, pid);
      if (child !== undefined) {
        const childDir = join(procRoot, String(child));
        const [ns, childExe, holderExe] = await Promise.all([
          linkOrUndefined(join(childDir, 'ns', 'pid')),
          linkOrUndefined(join(childDir, 'exe')),
          linkOrUndefined(join(procRoot, String(pid), 'exe')),
        ]);
        // In the new namespace and past its exec (no longer running unshare's image).
        if (ns !== undefined && ns !== ourNs && childExe !== undefined && childExe !== holderExe) {
          return new SandboxPidNamespace(holder, child, join(childDir, 'ns', 'pid'));
        }
      }
    }
    await sleep(5);
  }
}
