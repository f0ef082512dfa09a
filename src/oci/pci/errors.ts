// Errors raised by the PCI helpers. One class per kind of failure, so that
// callers (and tests) can tell "this string is not a PCI address" apart from
// "sysfs does not look the way we expected".

/** A string that should be a PCI slot/function, address or path is not one. */
export class PciParseError extends Error {
  override readonly name = 'PciParseError';
  constructor(
    /** What we tried to parse: 'slot/function', 'address', 'path' or 'root complex'. */
    readonly what: string,
    /** The offending input, verbatim. */
    readonly input: string,
    reason: string,
  ) {
    super(`invalid PCI ${what} ${JSON.stringify(input)}: ${reason}`);
  }
}

/** A PCI path could not be resolved to a device directory in sysfs. */
export class PciSysfsError extends Error {
  override readonly name = 'PciSysfsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
