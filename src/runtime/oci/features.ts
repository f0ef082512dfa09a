// The `features` document (runtime-spec features.md and features-linux.md,
// in the shape `runc features` of runc 1.1 prints): what a config.json may
// ask of kata-ts and have honoured.
//
// kata-ts runs the container in a VM: the host runtime runs hooks and shares
// the rootfs and bind mounts; the guest agent hands the rest of the spec to
// crun 1.8 in the guest (see sandbox/guest-spec.ts for what is rewritten on
// the way). So the values describe the host runtime plus that guest:
//
// - ociVersionMax is "1.0.2-dev", as runc 1.1: the guest's crun refuses a
//   config whose version does not contain "1.0".
// - hooks: the kinds kata-ts-runtime runs (hooks.ts, HOST_HOOK_KINDS).
// - mountOptions: the option names crun 1.8 recognises (its table; options
//   it does not know are passed to mount(2) as data, which features.md says
//   need not be listed).
// - namespaces: all seven of runtime-spec 1.0 are accepted. The network and
//   cgroup namespaces are the VM's (the guest spec drops them).
// - capabilities: every capability of the guest's kernel 6.1 and libcap
//   2.66, which crun resolves by name.
// - cgroup: the agent drives cgroup v1 and v2 hierarchies. A systemd-style
//   cgroupsPath ("slice:prefix:name") is accepted but turned into a plain
//   path: there is no systemd in the guest, so the systemd drivers are false.
// - seccomp: the agent reports seccomp support and crun in the guest applies
//   the filter (built with libseccomp). SCMP_ACT_NOTIFY is left out: its
//   listener would have to be a socket in the guest, out of a host
//   manager's reach. Architectures: those libseccomp 2.5 resolves by name.
// - apparmor and selinux: false. The guest loads no AppArmor profiles and has
//   no SELinux policy; the runtime drops process.selinuxLabel.
import { KATA_TS_VERSION } from '../../common/version.js';
import { HOST_HOOK_KINDS } from './hooks.js';
import { guestOciRuntime, upstreamVersion, type ImageFacts } from './image-facts.js';

/** The features structure (fields of runtime-spec 1.0.2 / runc 1.1). */
export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean };
    seccomp: { enabled: boolean; actions: string[]; operators: string[]; archs: string[] };
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
  };
  annotations: Record<string, string>;
}

export const OCI_VERSION_MIN = '1.0.0';
export const OCI_VERSION_MAX = '1.0.2-dev';

/** Mount option names crun 1.8 recognises (the guest applies the mounts). */
const MOUNT_OPTIONS = [
  'defaults', 'bind', 'rbind', 'ro', 'rw', 'suid', 'nosuid', 'dev', 'nodev', 'exec', 'noexec',
  'sync', 'async', 'dirsync', 'remount', 'mand', 'nomand', 'atime', 'noatime', 'diratime', 'nodiratime',
  'relatime', 'norelatime', 'strictatime', 'nostrictatime',
  'shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate', 'unbindable', 'runbindable',
  'rro', 'rrw', 'rsuid', 'rnosuid', 'rdev', 'rnodev', 'rexec', 'rnoexec', 'rsync', 'rasync', 'rdirsync',
  'rmand', 'rnomand', 'ratime', 'rnoatime', 'rdiratime', 'rnodiratime', 'rrelatime', 'rnorelatime',
  'rstrictatime', 'rnostrictatime', 'tmpcopyup', 'idmap',
];

const NAMESPACES = ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts'];

/** Linux capabilities 0..40, in number order (CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40). */
export const LINUX_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

const SECCOMP_ACTIONS = [
  'SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_LOG', 'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP',
];

const SECCOMP_OPERATORS = ['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE'];

const SECCOMP_ARCHS = [
  'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X', 'SCMP_ARCH_X32', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64',
];

/** Annotation keys of the document (besides the libseccomp one runc also uses). */
export const FEATURE_ANNOTATIONS = {
  libseccompVersion: 'io.github.seccomp.libseccomp.version',
  version: 'io.kata-ts.version',
  hypervisor: 'io.kata-ts.hypervisor',
  guestKernel: 'io.kata-ts.guest.kernel',
  guestOciRuntime: 'io.kata-ts.guest.oci-runtime',
} as const;

const sorted = (list: readonly string[]): string[] => [...list].sort();

/**
 * The features document. `image` (from readImageFacts) adds annotations
 * naming the guest's kernel, OCI runtime and libseccomp versions; without
 * its manifest those are left out.
 */
export function featuresDocument(image?: ImageFacts): Features {
  const annotations: Record<string, string> = {
    [FEATURE_ANNOTATIONS.version]: KATA_TS_VERSION,
    [FEATURE_ANNOTATIONS.hypervisor]: 'qemu',
  };
  if (image?.manifest) {
    const m = image.manifest;
    const libseccomp = m.packages['libseccomp2'];
    if (libseccomp !== undefined) annotations[FEATURE_ANNOTATIONS.libseccompVersion] = upstreamVersion(libseccomp);
    annotations[FEATURE_ANNOTATIONS.guestKernel] = m.kernelRelease;
    const ociRuntime = guestOciRuntime(image);
    if (ociRuntime !== undefined) annotations[FEATURE_ANNOTATIONS.guestOciRuntime] = ociRuntime;
  }
  return {
    ociVersionMin: OCI_VERSION_MIN,
    ociVersionMax: OCI_VERSION_MAX,
    hooks: [...HOST_HOOK_KINDS],
    mountOptions: sorted(MOUNT_OPTIONS),
    linux: {
      namespaces: [...NAMESPACES],
      capabilities: [...LINUX_CAPABILITIES],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: { enabled: true, actions: [...SECCOMP_ACTIONS], operators: [...SECCOMP_OPERATORS], archs: [...SECCOMP_ARCHS] },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: Object.fromEntries(Object.entries(annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  };
}

/** The document as `features` prints it: JSON indented by four spaces, with a final newline (as runc). */
export function formatFeatures(doc: Features): string {
  return `${JSON.stringify(doc, null, 4)}\n`;
}
