// The QEMU command line and the guest kernel command line for a sandbox VM.
//
// A q35 machine with nothing but what we add (-nodefaults): the agent's
// channel (a virtio-serial port or a vhost-vsock device, see
// agent-channel.ts), PCIe root ports to hot-plug disks into, and the shared
// filesystem. The kernel and initrd are booted directly (the vmlinux ELF
// carries a PVH entry point); the serial console goes to a log file; QEMU
// exits instead of rebooting, and the guest reboots on panic, so a guest that
// fails to boot ends the QEMU process.
import type { SharedFsKind } from '../config/schema.js';
import { CPU_MODEL, type Accelerator } from './accel.js';
import { AGENT_VSOCK_SERVER_ADDR } from './agent-channel.js';
import { AGENT_CHANNEL_SLOT, hex2, rootPortId, rootPortSlot, SHARED_FS_SLOT } from './pci-layout.js';

/** The virtio-serial port name the agent listens on (Kata's name). */
export const AGENT_CHANNEL_NAME = 'agent.channel.0';
/** Where the guest's init links that port, and so the agent's listen address. */
export const AGENT_SERVER_ADDR = `serial:///dev/virtio-ports/${AGENT_CHANNEL_NAME}`;
/** QEMU id of the agent's virtserialport (named in VSERPORT_CHANGE events). */
export const AGENT_PORT_ID = 'agent-port';
/** QEMU id of the vhost-vsock device. */
export const VSOCK_DEVICE_ID = 'vsock0';
/** The shared filesystem's mount tag, as Kata names it. */
export const SHARED_FS_TAG = 'kataShared';

/** The agent channel's device: a virtio-serial port on `socket`, or vhost-vsock with the guest's CID. */
export type AgentChannelDevice = { kind: 'virtio-serial'; socket: string } | { kind: 'vsock'; guestCid: number };

export type SharedFsDevice =
  | { kind: Extract<SharedFsKind, 'virtio-9p'>; hostDir: string }
  | { kind: Extract<SharedFsKind, 'virtio-fs'>; socket: string };

export interface QemuLaunchSpec {
  /** Shown in process listings (-name). */
  name: string;
  accel: Accelerator;
  vcpus: number;
  memoryMiB: number;
  kernel: string;
  initrd: string;
  kernelCmdline: string;
  /** The guest's serial console is written here. */
  consoleLog: string;
  qmpSocket: string;
  agentChannel: AgentChannelDevice;
  pcieRootPorts: number;
  sharedFs?: SharedFsDevice;
}

/** Escapes a value for a QEMU option list, where "," separates options ("," is written ",,"). */
export function qemuOptValue(value: string): string {
  return value.replaceAll(',', ',,');
}

export function buildQemuArgs(spec: QemuLaunchSpec): string[] {
  const v = qemuOptValue;
  const args: string[] = [
    '-name', `${v(spec.name)},debug-threads=on`,
    '-machine', `q35,accel=${spec.accel}`,
    '-cpu', CPU_MODEL[spec.accel],
    '-smp', String(spec.vcpus),
    '-m', `${spec.memoryMiB}M`,
  ];
  if (spec.sharedFs?.kind === 'virtio-fs') {
    // vhost-user devices need guest RAM the daemon can map: a shared memfd.
    args.push(
      '-object', `memory-backend-memfd,id=mem,size=${spec.memoryMiB}M,share=on`,
      '-numa', 'node,memdev=mem',
    );
  }
  args.push(
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-serial', `file:${v(spec.consoleLog)}`,
    '-kernel', spec.kernel,
    '-initrd', spec.initrd,
    '-append', spec.kernelCmdline,
    '-qmp', `unix:${v(spec.qmpSocket)},server=on,wait=off`,
  );
  // The agent channel.
  const channelAddr = `bus=pcie.0,addr=0x${hex2(AGENT_CHANNEL_SLOT)}`;
  if (spec.agentChannel.kind === 'vsock') {
    args.push('-device', `vhost-vsock-pci,id=${VSOCK_DEVICE_ID},guest-cid=${spec.agentChannel.guestCid},${channelAddr}`);
  } else {
    args.push(
      '-device', `virtio-serial-pci,id=serial0,${channelAddr}`,
      '-chardev', `socket,id=agent-chardev,path=${v(spec.agentChannel.socket)},server=on,wait=off`,
      '-device', `virtserialport,chardev=agent-chardev,id=${AGENT_PORT_ID},name=${AGENT_CHANNEL_NAME},bus=serial0.0`,
    );
  }
  for (let i = 0; i < spec.pcieRootPorts; i++) {
    args.push('-device', `pcie-root-port,id=${rootPortId(i)},bus=pcie.0,addr=0x${hex2(rootPortSlot(i))},chassis=${i + 1},slot=${i + 1}`);
  }
  const fsAddr = `bus=pcie.0,addr=0x${hex2(SHARED_FS_SLOT)}`;
  if (spec.sharedFs?.kind === 'virtio-9p') {
    args.push(
      '-fsdev', `local,id=fsdev-shared,path=${v(spec.sharedFs.hostDir)},security_model=none,multidevs=remap`,
      '-device', `virtio-9p-pci,fsdev=fsdev-shared,mount_tag=${SHARED_FS_TAG},${fsAddr}`,
    );
  } else if (spec.sharedFs?.kind === 'virtio-fs') {
    args.push(
      '-chardev', `socket,id=fs-chardev,path=${v(spec.sharedFs.socket)}`,
      '-device', `vhost-user-fs-pci,chardev=fs-chardev,tag=${SHARED_FS_TAG},${fsAddr}`,
    );
  }
  return args;
}

export interface KernelCmdlineOptions {
  /** Where the agent listens (agent.server_addr); default: the virtio-serial port. */
  agentServerAddr?: string;
  debug: boolean;
  hotplugTimeoutMs: number;
  debugConsole: boolean;
  /** Extra parameters from the configuration, appended last (so they win). */
  extra: readonly string[];
}

/** "3" for whole seconds (what Kata's agent takes), "1500ms" otherwise. */
function durationParam(ms: number): string {
  return ms % 1000 === 0 ? String(ms / 1000) : `${ms}ms`;
}

/** The agent's listen address for a channel kind. */
export function agentServerAddr(kind: AgentChannelDevice['kind']): string {
  return kind === 'vsock' ? AGENT_VSOCK_SERVER_ADDR : AGENT_SERVER_ADDR;
}

export function buildKernelCmdline(opts: KernelCmdlineOptions): string {
  const params = [
    'console=ttyS0',
    // Reboot at once on panic; with -no-reboot that ends QEMU, so a guest
    // that cannot boot is noticed immediately.
    'panic=-1',
    // Skip the crypto self-tests (~0.4 s under emulation).
    'cryptomgr.notests',
    ...(opts.debug ? ['printk.time=1', 'agent.log=debug'] : ['quiet']),
    `agent.server_addr=${opts.agentServerAddr ?? AGENT_SERVER_ADDR}`,
    `agent.hotplug_timeout=${durationParam(opts.hotplugTimeoutMs)}`,
    ...(opts.debugConsole ? ['agent.debug_console'] : []),
    ...opts.extra,
  ];
  return params.join(' ');
}
