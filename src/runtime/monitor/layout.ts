// Where the OCI command line keeps a container's state under --root:
//
//   <root>/<id>/state.json     the container's state (state-file.ts)
//   <root>/<id>/monitor.log    the monitor's log, unless --log names a file
//   <root>/.vm/<hash>/         the VM's directory: QEMU's sockets and console
//                              log, the shared directory
//   <root>/.vm/<hash>.sock     the monitor's task socket
//
// The VM directory is named by a hash of the id because unix socket paths
// are limited to 107 bytes and container ids may be 64 characters or more.
import { createHash } from 'node:crypto';
import { join } from 'node:path';

export interface ContainerPaths {
  stateDir: string;
  stateFile: string;
  monitorLog: string;
  vmDir: string;
  taskSocket: string;
}

/** The directory under --root that holds VM directories (skipped by `list`). */
export const VM_DIRS = '.vm';

export function containerPaths(root: string, id: string): ContainerPaths {
  const stateDir = join(root, id);
  const vmDir = join(root, VM_DIRS, createHash('sha256').update(id).digest('hex').slice(0, 16));
  return {
    stateDir,
    stateFile: join(stateDir, 'state.json'),
    monitorLog: join(stateDir, 'monitor.log'),
    vmDir,
    taskSocket: `${vmDir}.sock`,
  };
}
