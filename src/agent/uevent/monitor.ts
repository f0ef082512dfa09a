// The uevent monitor: remembers which devices the kernel has added and lets
// device handlers wait for the one they need.
//
// Hot-plug is a race: the host plugs a disk into the VM and then asks the
// agent to use it, but the guest kernel may announce the disk (a uevent)
// before or after that request arrives. So the monitor:
//
// - records every "add" event by DEVPATH, and forgets it on "remove";
// - answers waitFor(matcher) from those records when it can; otherwise it
//   registers a waiter, which the next matching "add" resolves. Looking up
//   and registering happen in the same synchronous step, so no event can
//   slip in between;
// - gives up after a timeout with UeventTimeoutError, naming the device,
//   and drops the waiter.
//
// It also onlines hot-added memory: an "add" for a memory block
// (/devices/system/memory/memoryN) gets "1" written to its `online` file,
// since no udev runs in the guest to do it.
//
// Events come from the kernel's netlink socket (startNetlink) or, in tests,
// from inject(). The sysfs root is configurable for tests ("/sys" normally).
import { closeSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../../common/logger.js';
import { netlinkNative, type UeventWatchHandle } from '../../native/netlink.js';
import { UeventMonitorClosedError, UeventSocketError, UeventTimeoutError } from './errors.js';
import type { UeventMatcher } from './matchers.js';
import { onlineDevice } from './sysfs-attribute.js';
import { parseUevent, UEVENT_ACTION_ADD, UEVENT_ACTION_REMOVE, type Uevent } from './uevent.js';

/** Devpaths of memory blocks start with this. */
export const MEMORY_DEVPATH_PREFIX = '/devices/system/memory/';

export interface UeventMonitorOptions {
  /** Where sysfs is mounted; "/sys" unless a test points it at a fake tree. */
  sysfsRoot?: string;
  logger?: Logger;
}

interface Waiter {
  readonly matcher: UeventMatcher;
  readonly description: string;
  readonly resolve: (ev: Uevent) => void;
  readonly reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

export type UeventListener = (ev: Uevent) => void;

export class UeventMonitor {
  readonly sysfsRoot: string;
  private readonly logger: Logger;
  /** Devices added and not removed since the monitor started, by devpath. */
  private readonly added = new Map<string, Uevent>();
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<UeventListener>();
  private watch: UeventWatchHandle | undefined;
  private closed = false;

  constructor(options: UeventMonitorOptions = {}) {
    this.sysfsRoot = options.sysfsRoot ?? '/sys';
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * Handles one event as if the kernel had just sent it. The returned
   * promise settles once its side effects are done (memory onlining); the
   * event is recorded and waiters are resolved before that for devices
   * other than memory blocks. Never rejects.
   */
  async inject(ev: Uevent): Promise<void> {
    if (ev.action === UEVENT_ACTION_ADD) {
      if (ev.devpath.startsWith(MEMORY_DEVPATH_PREFIX)) await this.onlineMemory(ev);
      this.recordAdd(ev);
    } else if (ev.action === UEVENT_ACTION_REMOVE) {
      this.added.delete(ev.devpath);
    }
    for (const listener of this.listeners) {
      try {
        listener(ev);
      } catch (err) {
        this.logger.warn({ err, devpath: ev.devpath }, 'uevent listener failed');
      }
    }
  }

  /** A recorded "add" event the matcher accepts (the oldest one), if any. */
  find(matcher: UeventMatcher): Uevent | undefined {
    for (const ev of this.added.values()) {
      if (matcher.matches(ev)) return ev;
    }
    return undefined;
  }

  /**
   * The "add" event of the device `matcher` describes: a recorded one, or
   * the next one to arrive within `timeoutMs`. `description` names the
   * device in errors. Rejects with UeventTimeoutError on timeout, and with
   * UeventMonitorClosedError if the monitor is closed meanwhile.
   */
  waitFor(matcher: UeventMatcher, timeoutMs: number, description: string): Promise<Uevent> {
    if (this.closed) return Promise.reject(new UeventMonitorClosedError(description));
    const known = this.find(matcher);
    if (known) return Promise.resolve(known);
    if (!(timeoutMs > 0)) return Promise.reject(new UeventTimeoutError(description, timeoutMs));
    return new Promise<Uevent>((resolve, reject) => {
      const waiter: Waiter = { matcher, description, resolve, reject };
      waiter.timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new UeventTimeoutError(description, timeoutMs));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Calls `listener` for every event after it was handled. Returns the unsubscribe function. */
  onEvent(listener: UeventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many waitFor() calls are waiting right now. */
  get waiterCount(): number {
    return this.waiters.size;
  }

  /** Whether the kernel socket is being listened to. */
  get listening(): boolean {
    return this.watch !== undefined;
  }

  /**
   * Starts receiving the kernel's uevents (needs the native addon and, for
   * the socket, root or CAP_NET_ADMIN in practice). Idempotent.
   */
  startNetlink(): void {
    if (this.closed) throw new UeventSocketError('the uevent monitor is closed');
    if (this.watch) return;
    const native = netlinkNative();
    let fd: number;
    try {
      fd = native.ueventOpen();
    } catch (err) {
      throw new UeventSocketError(`cannot open the kernel uevent socket: ${errText(err)}`, { cause: err });
    }
    try {
      this.watch = native.ueventWatch(fd, (err, message) => this.onDatagram(err, message));
    } catch (err) {
      closeSync(fd);
      throw new UeventSocketError(`cannot watch the kernel uevent socket: ${errText(err)}`, { cause: err });
    }
    this.logger.debug('listening for kernel uevents');
  }

  /** Stops listening and fails every pending waitFor(). Idempotent. */
  close(): void {
    this.closed = true;
    this.stopNetlink();
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new UeventMonitorClosedError(waiter.description));
    }
    this.waiters.clear();
  }

  private stopNetlink(): void {
    if (this.watch === undefined) return;
    netlinkNative().ueventUnwatch(this.watch);
    this.watch = undefined;
  }

  private onDatagram(err: (Error & { code?: string }) | null, message: Buffer | null): void {
    if (err) {
      if (err.code === 'ENOBUFS') {
        this.logger.warn('uevent socket overflowed: some device events were lost');
      } else {
        this.logger.error({ err }, 'uevent socket failed: no more device events will be seen');
        this.stopNetlink();
      }
      return;
    }
    const ev = message ? parseUevent(message) : undefined;
    if (!ev) return;
    this.logger.trace({ action: ev.action, devpath: ev.devpath, devname: ev.devname }, 'uevent');
    void this.inject(ev);
  }

  private recordAdd(ev: Uevent): void {
    this.added.set(ev.devpath, ev);
    for (const waiter of this.waiters) {
      if (!waiter.matcher.matches(ev)) continue;
      this.waiters.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve(ev);
    }
  }

  private async onlineMemory(ev: Uevent): Promise<void> {
    const onlinePath = join(this.sysfsRoot, ev.devpath, 'online');
    try {
      await onlineDevice(onlinePath);
      this.logger.info({ devpath: ev.devpath }, 'onlined hot-added memory block');
    } catch (err) {
      this.logger.warn({ err, path: onlinePath }, 'cannot online hot-added memory block');
    }
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
