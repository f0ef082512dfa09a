// The runtime's configuration file, in the spirit of Kata's configuration.toml:
//
//   [hypervisor.qemu]
//   path = "/usr/bin/qemu-system-x86_64"
//   kernel = "/path/to/vmlinux"            # PVH ELF kernel
//   initrd = "/path/to/initrd.img"
//   default_vcpus = 1
//   default_memory = 512                   # MiB
//   shared_fs = "virtio-fs"                # or "virtio-9p"
//   virtio_fs_daemon = "/usr/lib/qemu/virtiofsd"
//   msize_9p = 8192
//   pcie_root_port = 4                     # hot-plug slots
//   accel = "auto"                         # "kvm", "tcg" or "auto" (KVM when it works)
//   kernel_params = "..."                  # appended to the guest kernel command line
//   debug = false
//
//   [agent]
//   dial_timeout = 60                      # seconds to wait for the agent after QEMU starts
//   hotplug_timeout = 3                    # seconds the agent waits for a hot-plugged device
//   debug_console = false
//   channel = "auto"                       # "vsock", "virtio-serial" or "auto" (vsock when /dev/vhost-vsock works)
//   vsock_guest_cid = 3                    # the guest's vsock context id (default: picked at random per VM)
//
// Every key is optional; unknown keys are errors (a misspelt key would
// otherwise be ignored silently). The zod schema below describes the file as
// written (snake_case); load.ts turns it into a RuntimeConfig.
import { z } from 'zod';

export const SHARED_FS_KINDS = ['virtio-fs', 'virtio-9p'] as const;
export type SharedFsKind = (typeof SHARED_FS_KINDS)[number];

export const ACCELERATORS = ['auto', 'kvm', 'tcg'] as const;
export type AcceleratorChoice = (typeof ACCELERATORS)[number];

/** How the runtime reaches the agent: see qemu/agent-channel.ts. */
export const AGENT_CHANNELS = ['auto', 'vsock', 'virtio-serial'] as const;
export type AgentChannelChoice = (typeof AGENT_CHANNELS)[number];

/** vsock context ids 0-2 are reserved (hypervisor, local, host); 0xffffffff means "any". */
export const MIN_GUEST_CID = 3;
export const MAX_GUEST_CID = 0xffff_fffe;

/** Most hot-plug root ports the PCI layout has room for (see qemu/pci-layout.ts). */
export const MAX_PCIE_ROOT_PORTS = 12;

const nonEmpty = z.string().min(1, 'must not be empty');
const seconds = (max: number) => z.number().positive('must be a positive number of seconds').max(max, `must be at most ${max} seconds`);

export const QemuSectionSchema = z.strictObject({
  path: nonEmpty.optional(),
  kernel: nonEmpty.optional(),
  initrd: nonEmpty.optional(),
  default_vcpus: z.number().int('must be an integer').min(1).max(64).optional(),
  default_memory: z.number().int('must be an integer').min(64, 'must be at least 64 (MiB)').max(65536).optional(),
  shared_fs: z.enum(SHARED_FS_KINDS).optional(),
  virtio_fs_daemon: nonEmpty.optional(),
  msize_9p: z.number().int().min(4096).max(1 << 20).optional(),
  pcie_root_port: z.number().int().min(0).max(MAX_PCIE_ROOT_PORTS).optional(),
  accel: z.enum(ACCELERATORS).optional(),
  kernel_params: z.string().optional(),
  debug: z.boolean().optional(),
});

export const AgentSectionSchema = z.strictObject({
  dial_timeout: seconds(3600).optional(),
  hotplug_timeout: seconds(600).optional(),
  debug_console: z.boolean().optional(),
  channel: z.enum(AGENT_CHANNELS).optional(),
  vsock_guest_cid: z
    .number()
    .int('must be an integer')
    .min(MIN_GUEST_CID, `must be at least ${MIN_GUEST_CID} (0-2 are reserved)`)
    .max(MAX_GUEST_CID, `must be at most ${MAX_GUEST_CID}`)
    .optional(),
});

export const ConfigFileSchema = z.strictObject({
  hypervisor: z.strictObject({ qemu: QemuSectionSchema.optional() }).optional(),
  agent: AgentSectionSchema.optional(),
});

export type ConfigFile = z.infer<typeof ConfigFileSchema>;

/** The resolved configuration the runtime works with (every value filled in). */
export interface RuntimeConfig {
  qemu: {
    path: string;
    kernel: string;
    initrd: string;
    vcpus: number;
    memoryMiB: number;
    sharedFs: SharedFsKind;
    virtioFsDaemon: string;
    msize9p: number;
    pcieRootPorts: number;
    accel: AcceleratorChoice;
    /** Extra kernel parameters, already split on whitespace. */
    kernelParams: string[];
    debug: boolean;
  };
  agent: {
    dialTimeoutMs: number;
    hotplugTimeoutMs: number;
    debugConsole: boolean;
    channel: AgentChannelChoice;
    /** The guest's vsock context id; absent: one is picked per VM. */
    vsockGuestCid?: number;
  };
  /** The file the values came from, or undefined for built-in defaults. */
  source: string | undefined;
}
