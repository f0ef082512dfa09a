// Mount options as mount(8) understands them: the words that are flags of
// mount(2) (ro, nosuid, bind, rprivate, ...) become MS_* bits, everything else
// is filesystem data, passed on in order as one comma-separated string.
//
// The table follows util-linux's libmount (its Linux option map): each name
// either sets or clears bits, later words win over earlier ones ("ro,rw" is
// read-write), "defaults" means nothing, and propagation changes (private,
// rshared, ...) are kept apart because mount(8) applies each of them with its
// own mount(2) call after the mount itself. Filesystem-independent words that
// util-linux keeps to itself (noauto, user, nofail, x-*, ...) are not special
// here: a storage request is not an fstab line, so they go to the data like
// any other word the kernel flags don't cover.
//
// Pure functions only; mount.ts performs the calls.

/** mount(2) flag bits (linux/mount.h). */
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  I_VERSION: 0x800000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** The bits that change a mount's propagation type (one per mount(2) call). */
export const PROPAGATION_FLAGS = MS.UNBINDABLE | MS.PRIVATE | MS.SLAVE | MS.SHARED;

/**
 * Flags that describe a mount (not the operation) and so must be repeated
 * when a bind mount is remounted read-only, or the remount would drop them.
 */
export const PER_MOUNT_FLAGS =
  MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOSYMFOLLOW | MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME;

/** What one option word does to the flags. */
interface FlagEffect {
  /** Bits the word sets. */
  set?: number;
  /** Bits the word clears (the "no"/inverse forms). */
  clear?: number;
  /** A propagation change: applied by its own mount(2) call, in order. */
  propagation?: number;
}

/** Every option word that is a mount(2) flag (util-linux names). */
const FLAG_WORDS: ReadonlyMap<string, FlagEffect> = new Map<string, FlagEffect>([
  ['defaults', {}],
  ['ro', { set: MS.RDONLY }],
  ['rw', { clear: MS.RDONLY }],
  ['nosuid', { set: MS.NOSUID }],
  ['suid', { clear: MS.NOSUID }],
  ['nodev', { set: MS.NODEV }],
  ['dev', { clear: MS.NODEV }],
  ['noexec', { set: MS.NOEXEC }],
  ['exec', { clear: MS.NOEXEC }],
  ['sync', { set: MS.SYNCHRONOUS }],
  ['async', { clear: MS.SYNCHRONOUS }],
  ['remount', { set: MS.REMOUNT }],
  ['mand', { set: MS.MANDLOCK }],
  ['nomand', { clear: MS.MANDLOCK }],
  ['dirsync', { set: MS.DIRSYNC }],
  ['nosymfollow', { set: MS.NOSYMFOLLOW }],
  ['symfollow', { clear: MS.NOSYMFOLLOW }],
  ['noatime', { set: MS.NOATIME }],
  ['atime', { clear: MS.NOATIME }],
  ['nodiratime', { set: MS.NODIRATIME }],
  ['diratime', { clear: MS.NODIRATIME }],
  ['bind', { set: MS.BIND }],
  ['rbind', { set: MS.BIND | MS.REC }],
  ['move', { set: MS.MOVE }],
  ['silent', { set: MS.SILENT }],
  ['loud', { clear: MS.SILENT }],
  ['relatime', { set: MS.RELATIME }],
  ['norelatime', { clear: MS.RELATIME }],
  ['iversion', { set: MS.I_VERSION }],
  ['noiversion', { clear: MS.I_VERSION }],
  ['strictatime', { set: MS.STRICTATIME }],
  ['nostrictatime', { clear: MS.STRICTATIME }],
  ['lazytime', { set: MS.LAZYTIME }],
  ['nolazytime', { clear: MS.LAZYTIME }],
  ['unbindable', { propagation: MS.UNBINDABLE }],
  ['runbindable', { propagation: MS.UNBINDABLE | MS.REC }],
  ['private', { propagation: MS.PRIVATE }],
  ['rprivate', { propagation: MS.PRIVATE | MS.REC }],
  ['slave', { propagation: MS.SLAVE }],
  ['rslave', { propagation: MS.SLAVE | MS.REC }],
  ['shared', { propagation: MS.SHARED }],
  ['rshared', { propagation: MS.SHARED | MS.REC }],
]);

/** Options split into what mount(2) needs. */
export interface ParsedMountOptions {
  /** Flags of the mount(2) call that creates the mount: no propagation bits; MS_REC only from rbind. */
  mountFlags: number;
  /** Propagation changes in the order given, each for its own mount(2) call (e.g. MS_PRIVATE | MS_REC). */
  propagation: number[];
  /** Every bit the options asked for: mountFlags plus all propagation bits (what a one-call parser reports). */
  flags: number;
  /** The words that are not flags, in order. */
  dataOptions: string[];
  /** dataOptions joined with commas: the mount(2) data argument. */
  data: string;
}

/**
 * Splits option list entries at commas, as mount(8) does with `-o a,b`: the
 * runtime sends some options joined (hugetlbfs "pagesize=2097152,size=N").
 * Empty words (",," or a trailing comma) are dropped.
 */
export function splitMountOptions(options: readonly string[]): string[] {
  const words: string[] = [];
  for (const entry of options) {
    for (const word of entry.split(',')) {
      const w = word.trim();
      if (w !== '') words.push(w);
    }
  }
  return words;
}

/** Whether `word` (one option, no commas) is a mount(2) flag rather than data. */
export function isFlagOption(word: string): boolean {
  return FLAG_WORDS.has(word);
}

/** Turns option words into mount(2) flags and data, exactly like mount(8). */
export function parseMountOptions(options: readonly string[]): ParsedMountOptions {
  let mountFlags = 0;
  const propagation: number[] = [];
  const dataOptions: string[] = [];
  for (const word of splitMountOptions(options)) {
    const effect = FLAG_WORDS.get(word);
    if (effect === undefined) {
      dataOptions.push(word);
      continue;
    }
    if (effect.propagation !== undefined) {
      propagation.push(effect.propagation);
      continue;
    }
    if (effect.set !== undefined) mountFlags |= effect.set;
    if (effect.clear !== undefined) mountFlags &= ~effect.clear;
  }
  const flags = propagation.reduce((acc, p) => acc | p, mountFlags);
  return { mountFlags, propagation, flags, dataOptions, data: dataOptions.join(',') };
}

/** Names of the flags formatMountOptions() writes, in the order it writes them. */
const FORMAT_ORDER: ReadonlyArray<[string, number]> = [
  ['ro', MS.RDONLY],
  ['nosuid', MS.NOSUID],
  ['nodev', MS.NODEV],
  ['noexec', MS.NOEXEC],
  ['sync', MS.SYNCHRONOUS],
  ['remount', MS.REMOUNT],
  ['mand', MS.MANDLOCK],
  ['dirsync', MS.DIRSYNC],
  ['nosymfollow', MS.NOSYMFOLLOW],
  ['noatime', MS.NOATIME],
  ['nodiratime', MS.NODIRATIME],
  ['move', MS.MOVE],
  ['silent', MS.SILENT],
  ['relatime', MS.RELATIME],
  ['iversion', MS.I_VERSION],
  ['strictatime', MS.STRICTATIME],
  ['lazytime', MS.LAZYTIME],
];

const PROPAGATION_NAMES: ReadonlyMap<number, string> = new Map([
  [MS.UNBINDABLE, 'unbindable'],
  [MS.UNBINDABLE | MS.REC, 'runbindable'],
  [MS.PRIVATE, 'private'],
  [MS.PRIVATE | MS.REC, 'rprivate'],
  [MS.SLAVE, 'slave'],
  [MS.SLAVE | MS.REC, 'rslave'],
  [MS.SHARED, 'shared'],
  [MS.SHARED | MS.REC, 'rshared'],
]);

/**
 * The inverse of parseMountOptions(): option words that parse back to the
 * same mountFlags, propagation and data (flags first, then data, in order).
 * Throws on bits no option word produces (e.g. MS_REC without MS_BIND).
 */
export function formatMountOptions(parsed: Pick<ParsedMountOptions, 'mountFlags' | 'propagation' | 'dataOptions'>): string[] {
  const words: string[] = [];
  let rest = parsed.mountFlags;
  if ((rest & MS.BIND) !== 0) {
    words.push((rest & MS.REC) !== 0 ? 'rbind' : 'bind');
    rest &= ~(MS.BIND | MS.REC);
  }
  for (const [name, bit] of FORMAT_ORDER) {
    if ((rest & bit) !== 0) {
      words.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) throw new RangeError(`mount flags 0x${rest.toString(16)} have no option name`);
  for (const p of parsed.propagation) {
    const name = PROPAGATION_NAMES.get(p);
    if (name === undefined) throw new RangeError(`propagation flags 0x${p.toString(16)} have no option name`);
    words.push(name);
  }
  words.push(...parsed.dataOptions);
  return words;
}

/**
 * Looks up `key=value` among data words (the last one wins, as filesystems
 * parse their options left to right). Undefined if absent.
 */
export function optionValue(words: readonly string[], key: string): string | undefined {
  let value: string | undefined;
  const prefix = `${key}=`;
  for (const w of words) if (w.startsWith(prefix)) value = w.slice(prefix.length);
  return value;
}
