// The guest's root filesystem as a list of entries, before it is packed.
//
// Paths are guest paths ("/usr/bin/node"). Adding an entry creates its
// missing parent directories, and a path that goes through a symlink already
// in the layout is resolved (so "/lib/x86_64-linux-gnu/libc.so.6" lands in
// "/usr/lib/..." once "/lib" links to "usr/lib", as on a merged-/usr host).
// Entries come out parents first, as an initramfs unpacker needs them.
import { posix } from 'node:path';
import { ImageBuildError } from './errors.js';
import { S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG, type CpioEntry } from './initrd-cpio.js';

export type LayoutEntry =
  | { kind: 'dir'; path: string; mode: number }
  /** A host file copied in; `source` is read when the image is packed. */
  | { kind: 'file'; path: string; mode: number; source: string }
  | { kind: 'data'; path: string; mode: number; data: Buffer }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; mode: number; major: number; minor: number };

/** How many symlinks a path may go through before it is called a loop. */
const MAX_LINKS = 40;

export class RootfsLayout {
  private readonly byPath = new Map<string, LayoutEntry>();

  /** Every entry, each after its parent directory. */
  entries(): LayoutEntry[] {
    return [...this.byPath.values()];
  }

  get(path: string): LayoutEntry | undefined {
    return this.byPath.get(this.resolve(path));
  }

  /** True if something (of any kind) is at `path`. */
  has(path: string): boolean {
    return this.get(path) !== undefined;
  }

  addDir(path: string, mode = 0o755): void {
    this.add({ kind: 'dir', path, mode });
  }

  addFile(path: string, source: string, mode = 0o644): void {
    this.add({ kind: 'file', path, mode, source });
  }

  addData(path: string, data: string | Buffer, mode = 0o644): void {
    this.add({ kind: 'data', path, mode, data: typeof data === 'string' ? Buffer.from(data) : data });
  }

  addSymlink(path: string, target: string): void {
    this.add({ kind: 'symlink', path, target });
  }

  addCharDevice(path: string, major: number, minor: number, mode = 0o600): void {
    this.add({ kind: 'chardev', path, mode, major, minor });
  }

  /**
   * Adds an entry. Adding the same entry twice is allowed (the second is a
   * no-op); anything else already at the path is a conflict.
   */
  add(entry: LayoutEntry): void {
    const path = this.resolve(entry.path);
    if (path === '/') throw new ImageBuildError('the root directory cannot be replaced');
    this.ensureParents(path);
    const resolved = { ...entry, path } as LayoutEntry;
    const existing = this.byPath.get(path);
    if (existing !== undefined) {
      if (existing.kind === 'dir' && resolved.kind === 'dir') {
        existing.mode = resolved.mode; // e.g. /tmp made 1777 after a file was put below it
        return;
      }
      if (sameEntry(existing, resolved)) return;
      throw new ImageBuildError(`guest path ${path}: ${describe(resolved)} conflicts with ${describe(existing)} already there`);
    }
    this.byPath.set(path, resolved);
  }

  /**
   * The path with every directory component that is a symlink in the layout
   * replaced by its target (the last component is kept, like lstat()).
   */
  resolve(path: string): string {
    if (!path.startsWith('/')) throw new ImageBuildError(`guest path ${JSON.stringify(path)} is not absolute`);
    let parts = posix.normalize(path).split('/').filter(Boolean);
    let links = 0;
    for (let i = 0; i < parts.length - 1; i++) {
      const prefix = `/${parts.slice(0, i + 1).join('/')}`;
      const entry = this.byPath.get(prefix);
      if (entry?.kind !== 'symlink') continue;
      if (++links > MAX_LINKS) throw new ImageBuildError(`guest path ${path}: too many levels of symbolic links`);
      const base = entry.target.startsWith('/') ? entry.target : posix.join(posix.dirname(prefix), entry.target);
      parts = [...posix.normalize(base).split('/').filter(Boolean), ...parts.slice(i + 1)];
      i = -1; // the target may itself go through links
    }
    return `/${parts.join('/')}`;
  }

  private ensureParents(path: string): void {
    const parent = posix.dirname(path);
    if (parent === '/') return;
    const existing = this.byPath.get(parent);
    if (existing === undefined) {
      this.ensureParents(parent);
      this.byPath.set(parent, { kind: 'dir', path: parent, mode: 0o755 });
    } else if (existing.kind !== 'dir') {
      throw new ImageBuildError(`guest path ${path}: its parent ${parent} is a ${existing.kind}, not a directory`);
    }
  }
}

function sameEntry(a: LayoutEntry, b: LayoutEntry): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'dir':
      return a.mode === (b as typeof a).mode;
    case 'file':
      return a.mode === (b as typeof a).mode && a.source === (b as typeof a).source;
    case 'data':
      return a.mode === (b as typeof a).mode && a.data.equals((b as typeof a).data);
    case 'symlink':
      return a.target === (b as typeof a).target;
    case 'chardev':
      return a.mode === (b as typeof a).mode && a.major === (b as typeof a).major && a.minor === (b as typeof a).minor;
  }
}

function describe(e: LayoutEntry): string {
  switch (e.kind) {
    case 'dir':
      return 'a directory';
    case 'file':
      return `a copy of ${e.source}`;
    case 'data':
      return `a ${e.data.length}-byte file`;
    case 'symlink':
      return `a symlink to ${e.target}`;
    case 'chardev':
      return `character device ${e.major}:${e.minor}`;
  }
}

/** The layout's entries as cpio members (names relative to the root, owned by root). */
export function layoutToCpio(entries: readonly LayoutEntry[]): CpioEntry[] {
  return entries.map((e): CpioEntry => {
    const name = e.path.slice(1);
    switch (e.kind) {
      case 'dir':
        return { name, mode: S_IFDIR | e.mode };
      case 'file':
        return { name, mode: S_IFREG | e.mode, body: { path: e.source } };
      case 'data':
        return { name, mode: S_IFREG | e.mode, body: e.data };
      case 'symlink':
        return { name, mode: S_IFLNK | 0o777, body: Buffer.from(e.target) };
      case 'chardev':
        return { name, mode: S_IFCHR | e.mode, rdevMajor: e.major, rdevMinor: e.minor };
    }
  });
}
