// The agent's single reaper of child processes.
//
// The agent is a child subreaper (prctl PR_SET_CHILD_SUBREAPER): when an OCI
// runtime's `create` or `exec --detach` exits, the container process it
// started is re-parented to the agent, and so is any other orphan below it.
// This module collects every such exit so no zombie is left behind, and keeps
// the statuses until someone claims them (WaitProcess).
//
// Node's child_process also reaps: libuv waits for each of its own children by
// pid (never waitpid(-1)) when SIGCHLD arrives. To coexist without stealing
// its children, the reaper
//   - reaps the pids it was asked to watch with waitpid(pid) - those are never
//     child_process children (they are re-parented container processes);
//   - looks at other exited children with waitid(WNOWAIT), which leaves them
//     waitable, and reaps one only after it has stayed unreaped for a grace
//     period, checked in the event loop's "check" phase (setImmediate), that
//     is after the poll phase in which libuv handles the SIGCHLD and reaps
//     its own.
// Exit statuses are also kept (bounded, most recent) after they were
// delivered, so a watch() that comes late - e.g. for an exec that exited
// before its pid file was read - or a second watch() of the same pid still
// gets the status. A pid seen running again drops its kept status (reuse).
// Sweeps run on SIGCHLD and, as a fallback for coalesced signals, on a timer.
//
// Limitation: children spawned by child_process in worker threads are only
// protected by the grace period (their loop is not ordered with ours).

import { existsSync } from 'node:fs';
import { silentLogger, type Logger } from '../../common/logger.js';
import { processNative, type NativeExit, type ProcessNative } from '../../native/process.js';
import { exitStatus, type ExitStatus } from './exit-status.js';

export interface ReaperOptions {
  /** Sweep at least this often even without SIGCHLD, in ms. Default 1000. */
  pollIntervalMs?: number;
  /**
   * How long an exited child that nobody watches stays unreaped before the
   * reaper takes it (letting child_process reap its own first), in ms.
   * Default 100.
   */
  orphanGraceMs?: number;
  /** How many exit statuses to keep for late watchers; the oldest are dropped. Default 1024. */
  maxKept?: number;
  logger?: Logger;
}

interface Watcher {
  promise: Promise<ExitStatus>;
  resolve: (status: ExitStatus) => void;
  /** Called synchronously right after the reap, before the promise settles. */
  onExit: Array<(status: ExitStatus) => void>;
}

export class Reaper {
  private static current: Reaper | undefined;

  /**
   * The process-wide reaper, started on first use (this makes the process a
   * child subreaper). Options apply only when this call starts it.
   */
  static shared(opts: ReaperOptions = {}): Reaper {
    if (Reaper.current === undefined) {
      const reaper = new Reaper(opts, processNative());
      reaper.start();
      Reaper.current = reaper;
    }
    return Reaper.current;
  }

  private readonly pollIntervalMs: number;
  private readonly orphanGraceMs: number;
  private readonly maxKept: number;
  private readonly log: Logger;
  private readonly watchers = new Map<number, Watcher>();
  /** Exit statuses of reaped children, for late watchers; oldest first. */
  private readonly kept = new Map<number, ExitStatus>();
  /** Exited, unwatched children seen by a sweep, with when they were first seen. */
  private readonly candidates = new Map<number, number>();
  private pollTimer: NodeJS.Timeout | undefined;
  private orphanTimer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly onSigchld = () => this.sweep();

  private constructor(
    opts: ReaperOptions,
    private readonly native: ProcessNative,
  ) {
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.orphanGraceMs = opts.orphanGraceMs ?? 100;
    this.maxKept = opts.maxKept ?? 1024;
    this.log = (opts.logger ?? silentLogger).child({ subsystem: 'reaper' });
  }

  private start(): void {
    this.native.setChildSubreaper(true);
    process.on('SIGCHLD', this.onSigchld);
    this.pollTimer = setInterval(() => this.sweep(), this.pollIntervalMs);
    this.pollTimer.unref();
    this.running = true;
    this.sweep();
  }

  /**
   * Stops sweeping (the process stays a subreaper). Pending watch() promises
   * stay pending. The next shared() call starts a new reaper.
   */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    process.off('SIGCHLD', this.onSigchld);
    clearInterval(this.pollTimer);
    clearTimeout(this.orphanTimer);
    this.orphanTimer = undefined;
    if (Reaper.current === this) Reaper.current = undefined;
  }

  /**
   * Resolves with the exit status of `pid` once it has exited and been
   * reaped. Calling it again for the same pid returns the same promise.
   * `onExit` runs synchronously in the same tick as the reap (so a caller can
   * stop using the pid before anything else runs and it could be reused).
   * While any watch is pending the reaper keeps the event loop alive.
   */
  watch(pid: number, onExit?: (status: ExitStatus) => void): Promise<ExitStatus> {
    if (!Number.isSafeInteger(pid) || pid <= 0) {
      throw new TypeError(`pid must be a positive integer, got ${String(pid)}`);
    }
    const existing = this.watchers.get(pid);
    if (existing) {
      if (onExit) existing.onExit.push(onExit);
      return existing.promise;
    }
    let resolve!: (status: ExitStatus) => void;
    const promise = new Promise<ExitStatus>((r) => (resolve = r));
    this.watchers.set(pid, { promise, resolve, onExit: onExit ? [onExit] : [] });
    this.pollTimer?.ref();
    this.reapWatched(pid);
    return promise;
  }

  /** Number of watched pids that have not exited yet. */
  get pendingWatches(): number {
    return this.watchers.size;
  }

  /** Reaps whatever has exited now. Runs on SIGCHLD and on the poll timer. */
  sweep(): void {
    for (const pid of [...this.watchers.keys()]) this.reapWatched(pid);
    this.noteOrphan();
  }

  private settle(pid: number, status: ExitStatus): void {
    const watcher = this.watchers.get(pid);
    if (!watcher) return;
    this.watchers.delete(pid);
    if (this.watchers.size === 0) this.pollTimer?.unref();
    this.keepStatus(status);
    for (const listener of watcher.onExit) {
      try {
        listener(status);
      } catch (err) {
        this.log.error({ err, pid }, 'exit listener failed');
      }
    }
    watcher.resolve(status);
  }

  private reapWatched(pid: number): void {
    let exit: NativeExit | null;
    try {
      exit = this.native.waitPid(pid);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ECHILD') this.notOurChild(pid);
      else this.log.error({ err, pid }, 'waitpid failed');
      return;
    }
    if (exit === null) {
      // It runs, so any status kept under this pid belongs to an older process.
      this.kept.delete(pid);
      return;
    }
    this.settle(pid, exitStatus(exit.pid, exit.code, exit.signal));
  }

  /** A watched pid that waitpid does not know: reaped earlier, or not (yet) our child. */
  private notOurChild(pid: number): void {
    const kept = this.kept.get(pid);
    if (kept) {
      this.kept.delete(pid);
      this.settle(pid, kept);
      return;
    }
    // Still alive (e.g. not re-parented to us yet): the next sweep retries.
    if (existsSync(`/proc/${pid}`)) return;
    this.log.warn({ pid }, 'exit status lost: process was reaped by someone else');
    this.settle(pid, exitStatus(pid, null, null));
  }

  /**
   * The pid of an exited child still waiting to be reaped, without reaping
   * it. 0 when there is none (the candidates are then forgotten: they were
   * all reaped meanwhile); undefined when waitid failed (logged).
   */
  private peekExited(): number | undefined {
    let pid: number;
    try {
      pid = this.native.peekExitedChild();
    } catch (err) {
      this.log.error({ err }, 'waitid failed');
      return undefined;
    }
    if (pid === 0) this.candidates.clear();
    return pid;
  }

  /** Remembers the first exited child nobody watches and schedules its reaping. */
  private noteOrphan(): void {
    const pid = this.peekExited();
    if (!pid) return;
    if (this.watchers.has(pid)) return; // reapWatched will take it
    if (!this.candidates.has(pid)) this.candidates.set(pid, Date.now());
    this.scheduleOrphanCheck();
  }

  private scheduleOrphanCheck(): void {
    if (this.orphanTimer !== undefined || !this.running) return;
    this.orphanTimer = setTimeout(() => {
      // The check phase follows this iteration's poll phase, where libuv
      // handles a pending SIGCHLD and reaps its own children.
      setImmediate(() => {
        this.orphanTimer = undefined;
        if (this.running) this.reapOrphans();
      });
    }, this.orphanGraceMs);
    this.orphanTimer.unref();
  }

  /** Reaps exited children nobody watches once their grace period is over. */
  private reapOrphans(): void {
    const now = Date.now();
    for (;;) {
      const pid = this.peekExited();
      if (!pid) return;
      if (this.watchers.has(pid)) {
        this.reapWatched(pid);
        continue;
      }
      const seen = this.candidates.get(pid);
      if (seen === undefined || now - seen < this.orphanGraceMs) {
        if (seen === undefined) this.candidates.set(pid, now);
        this.scheduleOrphanCheck();
        return;
      }
      this.candidates.delete(pid);
      let exit: NativeExit | null;
      try {
        exit = this.native.waitPid(pid);
      } catch (err) {
        this.log.error({ err, pid }, 'waitpid failed');
        return;
      }
      if (exit !== null) {
        this.log.debug({ pid, code: exit.code, signal: exit.signal }, 'reaped unwatched child');
        this.keepStatus(exitStatus(exit.pid, exit.code, exit.signal));
      }
    }
  }

  private keepStatus(status: ExitStatus): void {
    this.kept.delete(status.pid);
    this.kept.set(status.pid, status);
    while (this.kept.size > this.maxKept) {
      const oldest = this.kept.keys().next().value as number;
      this.kept.delete(oldest);
    }
  }
}

