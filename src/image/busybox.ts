// busybox in the guest: the shell that runs /init and the small tools
// (mount, insmod, modprobe, ps, poweroff...), one symlink per applet.
import { runText } from './command.js';
import { addHostProgram, type AddedProgram } from './host-programs.js';
import type { Progress } from './progress.js';
import type { RootfsLayout } from './rootfs-layout.js';

/** Debian's busybox-static; static, so it works before anything else is set up. */
export const HOST_BUSYBOX = '/usr/bin/busybox';

/**
 * Adds busybox and a symlink for each of its applets, at the path busybox
 * lists for it, unless a real program is already there (iproute2's ip wins
 * over the applet, for instance). Returns the host files used.
 */
export async function addBusybox(layout: RootfsLayout, busybox: string, workDir: string, progress: Progress): Promise<AddedProgram | undefined> {
  const added = await addHostProgram(layout, { path: busybox }, workDir, progress);
  const list = await runText(busybox, ['--list-full']);
  for (const applet of list.split('\n').map((l) => l.trim())) {
    // Only applets with a directory ("usr/bin/[", "sbin/ip"); "linuxrc" is not one we want.
    if (!/^(usr\/)?s?bin\/\S+$/.test(applet)) continue;
    const path = `/${applet}`;
    if (!layout.has(path)) layout.addSymlink(path, busybox);
  }
  return added;
}
