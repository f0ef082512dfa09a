// Kernel modules the agent does not need to listen (block, network and
// filesystem drivers) are loaded by the agent itself once it is listening,
// from a list the guest's init names in KATA_TS_LATE_MODULES. Under TCG a
// module load is costly for everything else running (the kernel patches its
// own text), so doing it while the agent starts would only slow the start.
// AgentService RPCs may need those modules (a 9p mount, a virtio-blk disk), so
// they wait for the load to end; Health answers at once. The loading shell
// (and so every insmod) runs at the lowest priority: on a one-vCPU guest the
// agent answering the runtime's first calls comes first.
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import type { Logger } from '../../common/logger.js';

/** insmod each file named in the list ($0), one a line; failures on stderr; exit status 1 if any failed. */
const LOAD_SCRIPT = 'status=0; while read -r m; do [ -n "$m" ] || continue; insmod "$m" || { echo "insmod $m failed" >&2; status=1; }; done < "$0"; exit $status';

export interface LateModules {
  /** Resolves once the load has ended (whatever its outcome; failures are logged). */
  ready(): Promise<void>;
}

/** The niceness of the loading shell (the lowest priority). */
export const LATE_MODULES_NICENESS = 19;

/** Nothing to load: ready at once. */
export const NO_LATE_MODULES: LateModules = { ready: () => Promise.resolve() };

/**
 * Starts loading the modules listed in `listFile` with the guest's shell and
 * insmod; ready() resolves when the shell has exited.
 */
export function loadLateModules(listFile: string, logger: Logger, shell = '/bin/sh'): LateModules {
  const done = new Promise<void>((resolve) => {
    let stderr = '';
    const child = spawn(shell, ['-c', LOAD_SCRIPT, listFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, LATE_MODULES_NICENESS);
      } catch (err) {
        logger.debug({ err }, 'cannot lower the priority of the late module load');
      }
    }
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', (err) => {
      logger.warn({ err, listFile }, 'cannot load the late kernel modules');
      resolve();
    });
    child.on('close', (code, signal) => {
      if (code === 0) logger.debug({ listFile }, 'late kernel modules loaded');
      else logger.warn({ listFile, code, signal, stderr: stderr.trim() }, 'loading the late kernel modules failed');
      resolve();
    });
  });
  return { ready: () => done };
}
