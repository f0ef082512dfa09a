// Kernel device events ("uevents") as the guest agent sees them.
//
// The kernel describes each event in one netlink datagram of NUL-separated
// strings: a header "<action>@<devpath>" followed by KEY=VALUE pairs:
//
//   add@/devices/pci0000:00/0000:00:02.0/virtio1/block/vda \0
//   ACTION=add \0 DEVPATH=/devices/pci0000:00/.../block/vda \0
//   SUBSYSTEM=block \0 MAJOR=254 \0 MINOR=0 \0 DEVNAME=vda \0
//   DEVTYPE=disk \0 SEQNUM=1234 \0
//
// DEVPATH is the device's directory under sysfs WITHOUT the "/sys" prefix.
// DEVNAME, when present, is the node's path relative to /dev ("vda",
// "vfio/12"). INTERFACE is set for network devices ("eth0").

export const UEVENT_ACTION_ADD = 'add';
export const UEVENT_ACTION_REMOVE = 'remove';

export interface Uevent {
  /** "add", "remove", "change", "bind", ... */
  readonly action: string;
  /** Sysfs path without "/sys", e.g. "/devices/virtual/block/loop0". */
  readonly devpath: string;
  /** Node name relative to /dev, or "" if the device has no node. */
  readonly devname: string;
  readonly subsystem: string;
  /** The kernel's event sequence number, as text ("" if absent). */
  readonly seqnum: string;
  /** Network interface name, for net devices ("" otherwise). */
  readonly interface: string;
  /** Every KEY=VALUE pair of the event, including the ones above. */
  readonly env: Readonly<Record<string, string>>;
}

/** Builds an event from its KEY=VALUE pairs (ACTION and DEVPATH required by callers, not here). */
export function makeUevent(env: Readonly<Record<string, string>>): Uevent {
  return Object.freeze({
    action: env.ACTION ?? '',
    devpath: env.DEVPATH ?? '',
    devname: env.DEVNAME ?? '',
    subsystem: env.SUBSYSTEM ?? '',
    seqnum: env.SEQNUM ?? '',
    interface: env.INTERFACE ?? '',
    env: Object.freeze({ ...env }),
  });
}

/**
 * Parses one uevent datagram. Returns undefined for anything that is not a
 * kernel uevent: no "action@devpath" header (e.g. udevd's "libudev"
 * messages), or no ACTION or DEVPATH.
 */
export function parseUevent(datagram: Buffer | string): Uevent | undefined {
  const text = typeof datagram === 'string' ? datagram : datagram.toString('utf8');
  const [header, ...fields] = text.split('\0');
  if (header === undefined || !header.includes('@')) return undefined;
  const env: Record<string, string> = {};
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq <= 0) continue; // the empty string after the final NUL, or junk
    env[field.slice(0, eq)] = field.slice(eq + 1);
  }
  if (!env.ACTION || !env.DEVPATH) return undefined;
  return makeUevent(env);
}

/** Formats an event as the kernel sends it (for tests and tools). */
export function formatUevent(ev: Uevent): Buffer {
  const pairs = Object.entries(ev.env).map(([k, v]) => `${k}=${v}`);
  return Buffer.from(`${ev.action}@${ev.devpath}\0${pairs.join('\0')}\0`, 'utf8');
}
