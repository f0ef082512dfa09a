// OomWatcher: tells which containers had a process killed by the OOM killer,
// for GetOOMEvent.
//
// Each registered cgroup's kill counter is watched:
//   v1  memory.oom_control, line "oom_kill N" (polled: v1 files send no
//       inotify events; the eventfd interface would need native code)
//   v2  memory.events, line "oom_kill N" (inotify wakes us; polled as well)
// Every time a counter grows, the container id is emitted once. Events wait
// in a queue until a nextOomEvent() call takes them, one event per call, in
// order; callers already waiting are served first come, first served.
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../../common/logger.js';
import type { Cgroup } from './cgroup.js';
import { CgroupError } from './errors.js';
import { readOptional } from './fs.js';
import { OOM_EVENTS_FILE_V1, oomKillCountV1 } from './v1/memory.js';
import { OOM_EVENTS_FILE_V2, oomKillCountV2 } from './v2/memory.js';

export interface OomWatcherOptions {
  /** How often counters are read (default 200 ms). */
  pollIntervalMs?: number;
  logger?: Logger;
}

interface Watched {
  containerId: string;
  file: string;
  count: (text: string) => bigint;
  last: bigint;
  watcher?: FSWatcher;
  /** The check under way, so that checks of one entry never overlap. */
  running?: Promise<void>;
  /** A wake-up arrived during the running check: check once more after it. */
  again: boolean;
}

interface Waiter {
  resolve: (containerId: string) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class OomWatcher {
  readonly #entries = new Map<string, Watched>();
  readonly #queue: string[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #listeners = new Set<(containerId: string) => void>();
  readonly #pollIntervalMs: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: OomWatcherOptions = {}) {
    this.#pollIntervalMs = options.pollIntervalMs ?? 200;
    this.#log = options.logger ?? silentLogger;
  }

  /**
   * Starts watching `cg` on behalf of `containerId` (replacing an earlier
   * registration of that id). Kills that happened before are not reported.
   */
  async register(containerId: string, cg: Cgroup): Promise<void> {
    if (this.#closed) throw new CgroupError('FAILED_PRECONDITION', 'the OOM watcher is closed');
    if (typeof containerId !== 'string' || containerId === '') {
      throw new CgroupError('INVALID_ARGUMENT', 'container id is empty');
    }
    const d = cg.controllerDir('memory');
    if (!d) {
      throw new CgroupError('FAILED_PRECONDITION', `no memory controller for cgroup ${JSON.stringify(cg.path)}`);
    }
    const file = join(d.dir, d.version === 1 ? OOM_EVENTS_FILE_V1 : OOM_EVENTS_FILE_V2);
    const count = d.version === 1 ? oomKillCountV1 : oomKillCountV2;
    const text = await readOptional(file);
    if (text === null) throw new CgroupError('NOT_FOUND', `${file} does not exist`);
    this.#forget(containerId);
    const entry: Watched = { containerId, file, count, last: count(text), again: false };
    if (d.version === 2) {
      try {
        entry.watcher = watch(file, { persistent: false }, () => void this.#check(entry));
        entry.watcher.on('error', () => undefined);
      } catch (err) {
        this.#log.debug({ err, file }, 'cannot watch memory.events; polling only');
      }
    }
    this.#entries.set(containerId, entry);
    this.#startTimer();
  }

  /**
   * Stops watching a container, after a last look at its counter so that a
   * kill just before removal is still reported. Call it before the cgroup
   * is removed.
   */
  async unregister(containerId: string): Promise<void> {
    const entry = this.#entries.get(containerId);
    if (!entry) return;
    await this.#check(entry);
    this.#forget(containerId);
  }

  /** Container ids being watched. */
  registered(): string[] {
    return [...this.#entries.keys()];
  }

  /** Events waiting to be taken by nextOomEvent(). */
  pendingEvents(): number {
    return this.#queue.length;
  }

  /** Calls `listener` on every OOM event (besides queueing it). Returns an unsubscribe function. */
  onOom(listener: (containerId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The next OOM event's container id: a queued one at once, else the next
   * one to happen. Rejects with the signal's reason when `signal` aborts,
   * and with CgroupError CANCELLED when the watcher is closed.
   */
  nextOomEvent(signal?: AbortSignal): Promise<string> {
    if (this.#queue.length > 0) return Promise.resolve(this.#queue.shift()!);
    if (this.#closed) return Promise.reject(new CgroupError('CANCELLED', 'the OOM watcher is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<string>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          this.#updateRef();
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
      this.#updateRef();
    });
  }

  /** Reads every watched counter now (the timer does this periodically). */
  async checkNow(): Promise<void> {
    await Promise.all([...this.#entries.values()].map((e) => this.#check(e)));
  }

  /** Stops all watching; pending nextOomEvent() calls reject with CANCELLED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#entries.keys()]) this.#forget(id);
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const w of this.#waiters.splice(0)) {
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(new CgroupError('CANCELLED', 'the OOM watcher is closed'));
    }
  }

  #startTimer(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.checkNow(), this.#pollIntervalMs);
    this.#updateRef();
  }

  /**
   * The poll timer keeps the process alive only while someone waits in
   * nextOomEvent(), like any pending I/O would; a watcher nobody waits on
   * does not hold the process up.
   */
  #updateRef(): void {
    if (!this.#timer) return;
    if (this.#waiters.length > 0) this.#timer.ref();
    else this.#timer.unref();
  }

  #forget(containerId: string): void {
    const entry = this.#entries.get(containerId);
    if (!entry) return;
    entry.watcher?.close();
    this.#entries.delete(containerId);
    if (this.#entries.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #check(entry: Watched): Promise<void> {
    if (entry.running) {
      entry.again = true;
      return entry.running;
    }
    entry.running = (async () => {
      do {
        entry.again = false;
        await this.#readOnce(entry);
      } while (entry.again);
    })().finally(() => {
      entry.running = undefined;
    });
    return entry.running;
  }

  async #readOnce(entry: Watched): Promise<void> {
    let text: string | null;
    try {
      text = await readOptional(entry.file);
    } catch (err) {
      this.#log.warn({ err, file: entry.file }, 'reading OOM counter failed');
      return;
    }
    if (this.#entries.get(entry.containerId) !== entry) return; // unregistered meanwhile
    if (text === null) {
      // The cgroup is gone: nothing more can happen to it.
      this.#log.debug({ containerId: entry.containerId }, 'cgroup removed; no longer watching for OOM');
      this.#forget(entry.containerId);
      return;
    }
    const n = entry.count(text);
    if (n > entry.last) {
      entry.last = n;
      this.#emit(entry.containerId);
    } else if (n < entry.last) {
      entry.last = n; // a new cgroup under the same path
    }
  }

  #emit(containerId: string): void {
    this.#log.info({ containerId }, 'OOM kill in container');
    for (const l of this.#listeners) {
      try {
        l(containerId);
      } catch (err) {
        this.#log.warn({ err }, 'OOM listener threw');
      }
    }
    const waiter = this.#waiters.shift();
    if (waiter) {
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      this.#updateRef();
      waiter.resolve(containerId);
    } else {
      this.#queue.push(containerId);
    }
  }
}
