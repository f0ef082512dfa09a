// Errors of the uevent monitor. One class per failure, so the RPC layer can
// map them to status codes (a timeout is DEADLINE_EXCEEDED).

/** A hot-plugged device did not show up in time. */
export class UeventTimeoutError extends Error {
  override readonly name = 'UeventTimeoutError';
  constructor(
    /** What was awaited, e.g. 'virtio-blk PCI device 02/01 (...)'. */
    readonly description: string,
    readonly timeoutMs: number,
  ) {
    super(`timed out after ${timeoutMs} ms waiting for ${description} to appear`);
  }
}

/** The monitor was closed while somebody was waiting for a device. */
export class UeventMonitorClosedError extends Error {
  override readonly name = 'UeventMonitorClosedError';
  constructor(readonly description: string) {
    super(`stopped waiting for ${description}: the uevent monitor was closed`);
  }
}

/** The kernel uevent socket could not be opened or watched. */
export class UeventSocketError extends Error {
  override readonly name = 'UeventSocketError';
}
