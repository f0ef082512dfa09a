// The config.json `kata-ts-runtime spec` writes: the same starting point as
// `runc spec` (runc 1.1), so tools and people used to runc's template find
// what they expect. An interactive `sh` on a terminal, a read-only "rootfs",
// the usual pseudo-filesystems, new pid/network/ipc/uts/mount namespaces,
// runc's default capabilities, masked and read-only /proc and /sys paths,
// and a cgroup rule denying every device.
//
// Deliberate differences from runc's template:
// - hostname is "kata-ts" instead of "runc".
// (ociVersion is runc's "1.0.2-dev" on purpose: the guest's crun 1.8 refuses
// a config whose version does not contain "1.0".)
//
// The rootless variant changes what runc's does: no network namespace (an
// unprivileged user cannot configure one), a user namespace mapping root in
// the container to the calling user and group, devpts without gid=5 (that
// group is not mapped), /sys bind-mounted from the host (sysfs cannot be
// mounted without owning the network namespace), and no cgroup device rules.
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { stringifySpec } from '../../oci/json.js';
import type { Mount, Spec } from '../../oci/spec.js';

/** The spec version the template declares (see above). */
export const TEMPLATE_OCI_VERSION = '1.0.2-dev';
export const TEMPLATE_HOSTNAME = 'kata-ts';
/** The file a bundle's spec lives in. */
export const SPEC_FILE_NAME = 'config.json';

/** runc's default capability set: each of the four sets gets these. */
export const DEFAULT_CAPABILITIES = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'] as const;

export const DEFAULT_MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/proc/scsi',
] as const;

export const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'] as const;

export interface SpecTemplateOptions {
  /** The rootless variant (runc spec --rootless). */
  rootless?: boolean;
  /** Host uid and gid that root in a rootless container maps to. Default: this process's effective ids. */
  uid?: number;
  gid?: number;
}

function defaultMounts(rootless: boolean): Mount[] {
  const sys: Mount = rootless
    ? { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
    : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] };
  const devptsOptions = ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'];
  if (!rootless) devptsOptions.push('gid=5');
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: devptsOptions },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    sys,
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

/** A fresh template spec (a new object on every call). */
export function defaultSpec(opts: SpecTemplateOptions = {}): Spec {
  const rootless = opts.rootless ?? false;
  const caps = (): string[] => [...DEFAULT_CAPABILITIES];
  const spec: Spec = {
    ociVersion: TEMPLATE_OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: caps(), effective: caps(), permitted: caps(), ambient: caps() },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: TEMPLATE_HOSTNAME,
    mounts: defaultMounts(rootless),
    linux: rootless
      ? {
          uidMappings: [{ containerID: 0, hostID: opts.uid ?? process.geteuid?.() ?? 0, size: 1 }],
          gidMappings: [{ containerID: 0, hostID: opts.gid ?? process.getegid?.() ?? 0, size: 1 }],
          namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'user' }],
          maskedPaths: [...DEFAULT_MASKED_PATHS],
          readonlyPaths: [...DEFAULT_READONLY_PATHS],
        }
      : {
          resources: { devices: [{ allow: false, access: 'rwm' }] },
          namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
          maskedPaths: [...DEFAULT_MASKED_PATHS],
          readonlyPaths: [...DEFAULT_READONLY_PATHS],
        },
  };
  return spec;
}

/** The file's text: tab-indented JSON without a final newline, as runc writes it. */
export function specFileText(spec: Spec): string {
  return stringifySpec(spec, '\t');
}

/** The bundle already has a config.json (the message is runc's). */
export class SpecFileExistsError extends Error {
  override name = 'SpecFileExistsError';
  constructor(readonly path: string) {
    super(`File ${SPEC_FILE_NAME} exists. Remove it first`);
  }
}

/**
 * Writes `spec` to <bundleDir>/config.json, which must not exist yet
 * (SpecFileExistsError otherwise; the check and the creation are one
 * step). The file is created with mode 0666 less the umask, as runc does.
 * Returns the path written.
 */
export async function writeSpecFile(bundleDir: string, spec: Spec): Promise<string> {
  const path = join(bundleDir, SPEC_FILE_NAME);
  let file;
  try {
    file = await open(path, 'wx', 0o666);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new SpecFileExistsError(path);
    throw new Error(`cannot create ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    await file.writeFile(specFileText(spec));
    await file.close();
  } catch (err) {
    // Leave no half-written file behind.
    await file.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw new Error(`cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
  return path;
}
