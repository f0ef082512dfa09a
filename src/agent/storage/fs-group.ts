// Storage.fs_group: hand a mounted volume to a group (Kubernetes fsGroup),
// after the mount, as the Kata agent does:
// - every file and directory gets the group and group read (+write unless the
//   mount is read-only) permission; directories also group search and setgid,
//   so new files inherit the group;
// - symlinks are left alone (changing them would change their targets);
// - policy OnRootMismatch skips the walk when the volume root already has the
//   group, those permissions and setgid; Always walks every time.
import { chmod, chown, lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import type { Logger } from '../../common/logger.js';
import type { FSGroup } from '../../protocols/gen/agent_pb.js';
import { FSGroupChangePolicy } from '../../protocols/gen/types_pb.js';

const GROUP_RW = 0o060;
const GROUP_RO = 0o040;
const GROUP_X = 0o010;
const SETGID = 0o2000;

/** Whether `mode` (of the volume root) already satisfies the fsGroup permissions. */
export function rootModeSatisfied(mode: number, readOnly: boolean): boolean {
  const want = (readOnly ? GROUP_RO : GROUP_RW) | GROUP_X;
  return (mode & want) === want && (mode & SETGID) !== 0;
}

/** Applies `fsGroup` to the tree at `path` (see the file comment). */
export async function applyFsGroup(
  path: string,
  fsGroup: FSGroup | undefined,
  readOnly: boolean,
  logger?: Logger,
): Promise<void> {
  if (fsGroup === undefined) return;
  const gid = fsGroup.groupId;
  if (fsGroup.groupChangePolicy === FSGroupChangePolicy.OnRootMismatch) {
    const st = await stat(path);
    if (st.gid === gid && rootModeSatisfied(st.mode, readOnly)) {
      logger?.info({ path, gid }, 'volume already has its fsGroup; skipping the ownership change');
      return;
    }
  }
  logger?.info({ path, gid, readOnly }, 'changing the group of the volume');
  await changeGroup(path, gid, readOnly);
}

async function changeGroup(path: string, gid: number, readOnly: boolean): Promise<void> {
  const before = await lstat(path);
  if (before.isSymbolicLink()) return;
  let add = readOnly ? GROUP_RO : GROUP_RW;
  if (before.isDirectory()) {
    for (const name of await readdir(path)) await changeGroup(join(path, name), gid, readOnly);
    add |= GROUP_X | SETGID;
  }
  await chown(path, -1, gid);
  // chown may clear setuid/setgid of files: read the mode back before adding bits.
  const after = await lstat(path);
  await chmod(path, (after.mode & 0o7777) | add);
}
