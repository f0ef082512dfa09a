// Typed access to the kernel uevent socket of the native addon
// (native/src/netlink.c). The socket is watched by libuv's poller on the
// main event loop, so waiting for device events blocks no thread.

import { loadAddon } from './addon.js';

/** Opaque handle returned by ueventWatch(). */
export type UeventWatchHandle = { readonly __brand: 'UeventWatchHandle' };

/**
 * Called once per datagram the kernel sent (error null), or with the error
 * of a failed receive (message null). After an ENOBUFS error (the socket
 * buffer overflowed, some events were lost) watching goes on; after any
 * other error it has stopped.
 */
export type UeventCallback = (error: (Error & { code?: string }) | null, message: Buffer | null) => void;

export interface NetlinkNative {
  /** A non-blocking NETLINK_KOBJECT_UEVENT socket bound to the kernel's group 1. */
  ueventOpen(): number;
  /** Starts delivering the socket's datagrams; takes ownership of fd. */
  ueventWatch(fd: number, callback: UeventCallback): UeventWatchHandle;
  /** Stops watching and closes the fd. Idempotent. */
  ueventUnwatch(handle: UeventWatchHandle): void;
}

let cached: NetlinkNative | undefined;

/** The netlink functions of the native addon (loaded on first use). */
export function netlinkNative(): NetlinkNative {
  cached ??= loadAddon() as unknown as NetlinkNative;
  return cached;
}
