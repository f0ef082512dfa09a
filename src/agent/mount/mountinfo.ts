// Reading the kernel's mount table, /proc/<pid>/mountinfo (proc(5)):
//
//   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//   (1)(2)(3)   (4)   (5)         (6)      (7)       (8)(9)  (10)      (11)
//
// Paths in it escape space, tab, newline and backslash as \040 \011 \012 \134.
import { readFile } from 'node:fs/promises';

/** One line of mountinfo. */
export interface MountInfoEntry {
  mountId: number;
  parentId: number;
  /** "major:minor" of the filesystem's device. */
  device: string;
  /** The directory of the filesystem that is mounted (bind mounts of a subdirectory show it). */
  root: string;
  /** Where it is mounted. */
  mountPoint: string;
  /** Per-mount options (ro/rw, nosuid, nodev, noexec, relatime, ...). */
  mountOptions: string[];
  /** Optional fields such as "shared:1" or "master:2". */
  optionalFields: string[];
  fstype: string;
  source: string;
  /** Per-superblock (filesystem) options, e.g. "size=1024k,mode=755". */
  superOptions: string[];
}

/** Undoes mountinfo's octal escapes. */
export function unescapeMountInfoField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses the text of a mountinfo file; malformed lines throw. */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const entries: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (fields.length < 10 || sep < 0 || fields.length < sep + 3) {
      throw new Error(`malformed mountinfo line: ${JSON.stringify(line)}`);
    }
    entries.push({
      mountId: Number(fields[0]),
      parentId: Number(fields[1]),
      device: fields[2]!,
      root: unescapeMountInfoField(fields[3]!),
      mountPoint: unescapeMountInfoField(fields[4]!),
      mountOptions: fields[5]!.split(','),
      optionalFields: fields.slice(6, sep),
      fstype: unescapeMountInfoField(fields[sep + 1]!),
      source: unescapeMountInfoField(fields[sep + 2]!),
      superOptions: (fields[sep + 3] ?? '').split(',').filter((o) => o !== ''),
    });
  }
  return entries;
}

/** The mounts seen by this process (or another process, by pid). */
export async function readMountInfo(pid: number | 'self' = 'self'): Promise<MountInfoEntry[]> {
  return parseMountInfo(await readFile(`/proc/${pid}/mountinfo`, 'utf8'));
}

/**
 * The mounts whose mount point is exactly `path` (a canonical absolute path),
 * the most recent (topmost) last.
 */
export function mountsAt(entries: readonly MountInfoEntry[], path: string): MountInfoEntry[] {
  return entries.filter((e) => e.mountPoint === path);
}
