// A container root filesystem made of Debian's static busybox (package
// busybox-static) and a config.json builder in the shape `runc spec` writes,
// for tests that run real containers.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Spec } from '../../src/oci/spec.js';

/** Where Debian's busybox-static installs the binary. */
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

export function findBusybox(): string | undefined {
  return BUSYBOX_CANDIDATES.find((p) => existsSync(p));
}

export interface BusyboxRootfs {
  /** The temporary directory holding everything (removed by cleanup). */
  dir: string;
  /** The root filesystem: /bin/busybox plus one symlink per applet. */
  rootfs: string;
  cleanup(): Promise<void>;
}

/**
 * Builds a rootfs in a new temporary directory: /bin/busybox and its
 * applets, empty /proc /dev /sys /tmp /root, and /etc/passwd, /etc/group.
 * Mount it read-only to share it between containers.
 */
export async function createBusyboxRootfs(): Promise<BusyboxRootfs> {
  const busybox = findBusybox();
  if (!busybox) throw new Error('busybox not found: install the busybox-static package');
  const dir = await mkdtemp(join(tmpdir(), 'kata-ts-rootfs-'));
  const rootfs = join(dir, 'rootfs');
  try {
    for (const sub of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc', 'root']) {
      await mkdir(join(rootfs, sub), { recursive: true });
    }
    await copyFile(busybox, join(rootfs, 'bin', 'busybox'));
    const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' })
      .split('\n')
      .map((a) => a.trim())
      .filter((a) => a.length > 0 && a !== 'busybox' && !a.includes('/'));
    for (const applet of applets) await symlink('busybox', join(rootfs, 'bin', applet));
    await writeFile(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
    await writeFile(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, rootfs, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface BusyboxSpecOptions {
  /** Absolute path of the root filesystem. */
  rootfs: string;
  args: string[];
  terminal?: boolean;
  env?: string[];
  cwd?: string;
  /** linux.cgroupsPath; an absolute path under each hierarchy. */
  cgroupsPath?: string;
  /** Default true (the rootfs is shared between containers). */
  readonlyRoot?: boolean;
  hostname?: string;
}

const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

/** The process part of a spec, as `runc spec` writes it (also the shape ExecProcess takes). */
export function busyboxProcess(opts: Pick<BusyboxSpecOptions, 'args' | 'terminal' | 'env' | 'cwd'>): NonNullable<Spec['process']> {
  return {
    terminal: opts.terminal ?? false,
    user: { uid: 0, gid: 0 },
    args: opts.args,
    env: opts.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
    cwd: opts.cwd ?? '/',
    capabilities: {
      bounding: [...DEFAULT_CAPS],
      effective: [...DEFAULT_CAPS],
      permitted: [...DEFAULT_CAPS],
      ambient: [...DEFAULT_CAPS],
    },
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
    noNewPrivileges: true,
  };
}

/** A minimal spec in the shape of `runc spec`'s output. */
export function busyboxSpec(opts: BusyboxSpecOptions): Spec {
  return {
    ociVersion: '1.0.2-dev',
    process: busyboxProcess(opts),
    root: { path: opts.rootfs, readonly: opts.readonlyRoot ?? true },
    hostname: opts.hostname ?? 'busybox',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
    ],
    linux: {
      ...(opts.cgroupsPath !== undefined ? { cgroupsPath: opts.cgroupsPath } : {}),
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
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
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
