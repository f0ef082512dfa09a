// Where a shim keeps things.
//
//   /run/containerd/s/<sha256 hex>      the shim's ttRPC socket, named as
//                                       containerd's own shims name theirs:
//                                       sha256 of "<containerd address>/<namespace>/<group id>"
//   <bundle>/address                    "unix://<that socket>", written by `start`
//                                       (containerd reads it when it reconnects)
//   <run root>/<16 hex>/                the shim's directory, named by a hash of
//     shim.json                         the socket address: which process serves
//     vm/                               the VM's state directory (QEMU's sockets,
//                                       the shared directory)
//
// The run root is /run/kata-ts/shim (or $KATA_TS_SHIM_RUN_ROOT). Unix socket
// paths are limited to 107 bytes: the VM's sockets live in vm/, so the run
// root must stay short; container ids (64 characters under Kubernetes) never
// appear in these paths.
//
// The group id is the container's own id, except for a container of a
// Kubernetes pod, which is served by its sandbox's shim (see grouping.ts).
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';

/** Where containerd's shims put their sockets (containerd's state directory + "/s"). */
export const SHIM_SOCKET_DIR = '/run/containerd/s';
/** Longest socket path containerd accepts from a shim. */
export const SOCKET_PATH_LIMIT = 106;
export const DEFAULT_SHIM_RUN_ROOT = '/run/kata-ts/shim';
/** Environment variable overriding DEFAULT_SHIM_RUN_ROOT. */
export const SHIM_RUN_ROOT_ENV = 'KATA_TS_SHIM_RUN_ROOT';
/** The file in the bundle holding the shim's socket address. */
export const ADDRESS_FILE = 'address';

const UNIX_PREFIX = 'unix://';

/**
 * The socket address of the shim serving `groupId` in `namespace` for the
 * containerd at `grpcAddress` (e.g. "unix:///run/containerd/s/7f3c...").
 * The hashed text is the three parts joined and cleaned as a path, exactly
 * as containerd does, so our sockets sit where its tools expect them.
 */
export function shimSocketAddress(grpcAddress: string, namespace: string, groupId: string): string {
  const digest = createHash('sha256').update(posix.join(grpcAddress, namespace, groupId)).digest('hex');
  return `${UNIX_PREFIX}${SHIM_SOCKET_DIR}/${digest}`;
}

/** The file path of a "unix://" socket address. */
export function socketPath(address: string): string {
  if (!address.startsWith(UNIX_PREFIX) || address.length === UNIX_PREFIX.length) {
    throw new Error(`shim address ${JSON.stringify(address)} is not a unix:// socket path`);
  }
  const path = address.slice(UNIX_PREFIX.length);
  if (!path.startsWith('/')) throw new Error(`shim address ${JSON.stringify(address)}: the socket path must be absolute`);
  if (path.length > SOCKET_PATH_LIMIT) throw new Error(`shim socket path ${path} is longer than ${SOCKET_PATH_LIMIT} bytes`);
  return path;
}

export interface ShimPaths {
  /** "unix://..." */
  address: string;
  socket: string;
  /** The shim's directory. */
  dir: string;
  /** Which process serves the socket (ShimRecord). */
  recordFile: string;
  /** The VM's state directory (created by the sandbox; its parent is `dir`). */
  vmDir: string;
}

export function shimRunRoot(env: NodeJS.ProcessEnv = process.env): string {
  const root = env[SHIM_RUN_ROOT_ENV];
  if (root === undefined || root === '') return DEFAULT_SHIM_RUN_ROOT;
  if (!root.startsWith('/')) throw new Error(`${SHIM_RUN_ROOT_ENV} must be an absolute path (got ${JSON.stringify(root)})`);
  return root;
}

/** Everything of the shim behind `address`. */
export function shimPaths(address: string, runRoot = shimRunRoot()): ShimPaths {
  const socket = socketPath(address);
  const dir = join(runRoot, createHash('sha256').update(address).digest('hex').slice(0, 16));
  return { address, socket, dir, recordFile: join(dir, 'shim.json'), vmDir: join(dir, 'vm') };
}

/** Writes <dir>/address atomically (a temporary file renamed over it). */
export function writeAddressFile(dir: string, address: string): void {
  const file = join(dir, ADDRESS_FILE);
  const tmp = join(dir, `.${ADDRESS_FILE}.${process.pid}`);
  writeFileSync(tmp, address, { mode: 0o600 });
  renameSync(tmp, file);
}

/** The address in <dir>/address, or undefined when there is none. */
export function readAddressFile(dir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, ADDRESS_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const address = text.trim();
  return address === '' ? undefined : address;
}
