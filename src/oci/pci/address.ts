// PCI slot/function pairs and full addresses ("BDF": domain, bus,
// device/slot, function), as the kernel prints them in sysfs:
//
//   DDDD:BB:SS.F   e.g. 0000:00:02.0   (domain 16 bits, bus 8 bits,
//                                       slot 5 bits, function 3 bits)
//
// Values are plain frozen objects, so they compare with the helpers below
// and serialise naturally. Output is always lower-case hex with full width;
// input hex is accepted in either case.
import { PciParseError } from './errors.js';

/** Largest slot (device) number: the PCI spec gives the slot 5 bits. */
export const PCI_SLOT_MAX = 0x1f;
/** Largest function number: the PCI spec gives the function 3 bits. */
export const PCI_FUNCTION_MAX = 0x7;
const PCI_DOMAIN_MAX = 0xffff;
const PCI_BUS_MAX = 0xff;

/** A function's position on one bus: slot (a.k.a. device) and function. */
export interface PciSlotFn {
  readonly slot: number;
  readonly fn: number;
}

/** A full PCI address: which domain, which bus, which slot and function. */
export interface PciAddress {
  readonly domain: number;
  readonly bus: number;
  readonly slotFn: PciSlotFn;
}

function inRange(n: number, max: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= max;
}

/** Builds a slot/function pair, checking both ranges. */
export function makeSlotFn(slot: number, fn = 0): PciSlotFn {
  if (!inRange(slot, PCI_SLOT_MAX)) {
    throw new PciParseError('slot/function', `${slot}.${fn}`, `slot ${slot} is outside 0..0x1f`);
  }
  if (!inRange(fn, PCI_FUNCTION_MAX)) {
    throw new PciParseError('slot/function', `${slot}.${fn}`, `function ${fn} is outside 0..7`);
  }
  return Object.freeze({ slot, fn });
}

/** Builds an address, checking every range. */
export function makePciAddress(domain: number, bus: number, slotFn: PciSlotFn): PciAddress {
  const shown = `${domain}:${bus}:${slotFn.slot}.${slotFn.fn}`;
  if (!inRange(domain, PCI_DOMAIN_MAX)) {
    throw new PciParseError('address', shown, `domain ${domain} is outside 0..0xffff`);
  }
  if (!inRange(bus, PCI_BUS_MAX)) {
    throw new PciParseError('address', shown, `bus ${bus} is outside 0..0xff`);
  }
  return Object.freeze({ domain, bus, slotFn: makeSlotFn(slotFn.slot, slotFn.fn) });
}

const SLOT_FN_RE = /^([0-9a-f]{1,2})(?:\.([0-9a-f]))?$/i;

/**
 * Parses `SS[.F]`: one or two hex digits of slot, optionally a dot and one
 * hex digit of function (default 0). Examples: "02", "2", "1f.7".
 */
export function parseSlotFn(s: string): PciSlotFn {
  const m = SLOT_FN_RE.exec(s);
  if (!m) {
    throw new PciParseError('slot/function', s, 'expected SS[.F] (hex slot, optional function)');
  }
  const slot = parseInt(m[1]!, 16);
  const fn = m[2] === undefined ? 0 : parseInt(m[2], 16);
  if (slot > PCI_SLOT_MAX) {
    throw new PciParseError('slot/function', s, `slot 0x${m[1]} is above 0x1f`);
  }
  if (fn > PCI_FUNCTION_MAX) {
    throw new PciParseError('slot/function', s, `function ${m[2]} is above 7`);
  }
  return Object.freeze({ slot, fn });
}

/** Formats as "SS.F", e.g. "02.0". */
export function formatSlotFn(sf: PciSlotFn): string {
  return `${hex(sf.slot, 2)}.${sf.fn.toString(16)}`;
}

const ADDRESS_RE = /^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2}\.[0-9a-f])$/i;

/**
 * Parses a full address "DDDD:BB:SS.F" (4 hex digits of domain, 2 of bus,
 * 2 of slot, 1 of function), the form sysfs and device plugins use.
 */
export function parsePciAddress(s: string): PciAddress {
  const m = ADDRESS_RE.exec(s);
  if (!m) {
    throw new PciParseError('address', s, 'expected DDDD:BB:SS.F (hex, e.g. 0000:00:02.0)');
  }
  let slotFn: PciSlotFn;
  try {
    slotFn = parseSlotFn(m[3]!);
  } catch (err) {
    // Re-word the inner error so the message names the whole address.
    const reason = err instanceof PciParseError ? err.message.replace(/^[^:]*: /, '') : String(err);
    throw new PciParseError('address', s, reason);
  }
  return Object.freeze({ domain: parseInt(m[1]!, 16), bus: parseInt(m[2]!, 16), slotFn });
}

/** Like parsePciAddress, but returns undefined instead of throwing. */
export function tryParsePciAddress(s: string): PciAddress | undefined {
  try {
    return parsePciAddress(s);
  } catch {
    return undefined;
  }
}

/** Formats as "DDDD:BB:SS.F", lower-case, e.g. "0000:00:02.0". */
export function formatPciAddress(a: PciAddress): string {
  return `${hex(a.domain, 4)}:${hex(a.bus, 2)}:${formatSlotFn(a.slotFn)}`;
}

/** The bus an address sits on, as sysfs names buses: "DDDD:BB". */
export function pciBusOf(a: PciAddress): string {
  return `${hex(a.domain, 4)}:${hex(a.bus, 2)}`;
}

export function slotFnEquals(a: PciSlotFn, b: PciSlotFn): boolean {
  return a.slot === b.slot && a.fn === b.fn;
}

export function pciAddressEquals(a: PciAddress, b: PciAddress): boolean {
  return a.domain === b.domain && a.bus === b.bus && slotFnEquals(a.slotFn, b.slotFn);
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}
