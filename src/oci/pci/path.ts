// PCI paths: how the runtime tells the agent where a hot-plugged device
// sits in the guest's PCI tree without knowing the bus numbers the guest
// kernel will assign.
//
// A path is a list of slot/function pairs separated by '/':
//   "02"         device in slot 2 of the root bus
//   "02/03.1"    function 1 of slot 3 on the bus behind the bridge in slot 2
// Each element but the last is a bridge; the bus number behind a bridge is
// only known to the guest (see sysfs.ts).
//
// The runtime may also put a root complex in front (NUMA pxb-pcie expander
// bridges get guest bus numbers from 0x20 up): "20/00/02" means root complex
// 0x20, path "00/02". See parseDeviceTreePciPath for the exact rule.
import { formatSlotFn, parseSlotFn, type PciSlotFn } from './address.js';
import { PciParseError } from './errors.js';

/** A non-empty list of slot/function pairs, root-most first. */
export type PciPath = readonly [PciSlotFn, ...PciSlotFn[]];

/** Builds a path from its elements; a path needs at least one. */
export function makePciPath(elements: readonly PciSlotFn[]): PciPath {
  if (elements.length === 0) {
    throw new PciParseError('path', '', 'a PCI path needs at least one element');
  }
  return Object.freeze([...elements]) as unknown as PciPath;
}

/** Parses "SS[.F]/SS[.F]/...". */
export function parsePciPath(s: string): PciPath {
  if (s === '') {
    throw new PciParseError('path', s, 'a PCI path needs at least one element');
  }
  const elements = s.split('/').map((part, i) => {
    try {
      return parseSlotFn(part);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new PciParseError('path', s, `element ${i + 1}: ${reason}`);
    }
  });
  return makePciPath(elements);
}

/** Formats as "SS.F/SS.F/...", e.g. "02.0/03.0". */
export function formatPciPath(p: PciPath): string {
  return p.map(formatSlotFn).join('/');
}

/** The root complex used when a path names none. */
export const DEFAULT_ROOT_COMPLEX = '00';

/**
 * Smallest guest bus number the runtime gives a pxb-pcie (NUMA) root
 * complex; anything below is a slot on the default root complex.
 */
export const PXB_ROOT_COMPLEX_MIN = 0x20;

/** A PCI path together with the root complex it hangs off. */
export interface RootedPciPath {
  /** Two lower-case hex digits, e.g. "00" or "20". */
  readonly rootComplex: string;
  readonly path: PciPath;
}

/**
 * Splits a device path as the runtime sends it into root complex and PCI
 * path. The first segment names a root complex only when there are at
 * least three segments and it is a hex bus number >= 0x20 (a value no slot
 * can have). Otherwise the whole string is a path on root complex "00":
 *   "02/01"    -> rc "00", path 02/01
 *   "02/00/01" -> rc "00", path 02/00/01
 *   "20/00/02" -> rc "20", path 00/02
 */
export function parseDeviceTreePciPath(s: string): RootedPciPath {
  const segments = s.split('/');
  const first = segments[0] ?? '';
  if (segments.length >= 3 && /^[0-9a-f]{1,2}$/i.test(first) && parseInt(first, 16) >= PXB_ROOT_COMPLEX_MIN) {
    const rest = segments.slice(1).join('/');
    let path: PciPath;
    try {
      path = parsePciPath(rest);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new PciParseError('path', s, `after root complex ${first}: ${reason}`);
    }
    return Object.freeze({ rootComplex: parseInt(first, 16).toString(16).padStart(2, '0'), path });
  }
  return Object.freeze({ rootComplex: DEFAULT_ROOT_COMPLEX, path: parsePciPath(s) });
}

/**
 * The sysfs device path (without the leading "/sys") of a root complex's
 * host bridge, e.g. "/devices/pci0000:00". Uevent DEVPATHs start with it.
 */
export function pciRootBusPath(rootComplex: string): string {
  if (!/^[0-9a-f]{2}$/i.test(rootComplex)) {
    throw new PciParseError('root complex', rootComplex, 'expected two hex digits, e.g. "00"');
  }
  return `/devices/pci0000:${rootComplex.toLowerCase()}`;
}
