// The channel between the runtime and the agent in the VM.
//
//   vsock          a vhost-vsock-pci device giving the guest a vsock context
//                  id (CID); the agent listens on vsock port 1024 (any CID)
//                  and the runtime connects to CID:1024 with AF_VSOCK (the
//                  ttRPC vsock transport). Needs /dev/vhost-vsock on the host
//                  (the vhost_vsock module), which QEMU opens.
//   virtio-serial  a virtio-serial port named agent.channel.0 whose host end
//                  is a unix socket QEMU listens on; the guest's /init links
//                  the port to /dev/virtio-ports/agent.channel.0, where the
//                  agent listens. Works everywhere.
//   auto           vsock when /dev/vhost-vsock can be opened, virtio-serial
//                  otherwise; the choice and its reason are logged.
//
// Hybrid vsock (hvsock://: a unix socket of the VMM on which the host writes
// "CONNECT <port>" to reach a guest vsock port) is how Firecracker and Cloud
// Hypervisor expose vsock; QEMU has no such socket, it uses vhost-vsock. The
// ttRPC transports support both (src/ttrpc/transport/hybrid-vsock.ts, vsock.ts),
// so a driver for those VMMs would connect to hvsock:///path/to/vm.vsock:1024.
import { randomInt } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { AgentChannelChoice } from '../config/schema.js';
import { MAX_GUEST_CID, MIN_GUEST_CID } from '../config/schema.js';
import { DEFAULT_AGENT_VSOCK_PORT } from '../../ttrpc/transport/address.js';
import { VmStartError } from './errors.js';

export const VHOST_VSOCK_DEVICE = '/dev/vhost-vsock';
/** The vsock port the agent listens on (Kata's). */
export const AGENT_VSOCK_PORT = DEFAULT_AGENT_VSOCK_PORT;
/** The agent's listen address on a vsock channel: any CID, the agent port. */
export const AGENT_VSOCK_SERVER_ADDR = `vsock://-1:${AGENT_VSOCK_PORT}`;

export type AgentChannel = { kind: 'virtio-serial' } | { kind: 'vsock'; guestCid: number };

export interface AgentChannelDecision {
  channel: AgentChannel;
  /** Why this one (logged). */
  reason: string;
}

/**
 * Undefined when `device` can be opened for reading and writing (what QEMU
 * does with it), or the reason it cannot.
 */
export async function probeVhostVsock(device = VHOST_VSOCK_DEVICE): Promise<string | undefined> {
  try {
    const handle = await open(device, 'r+');
    await handle.close();
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const hint = code === 'ENOENT' ? ' (the host has no vhost-vsock: load the vhost_vsock module)' : '';
    return `${device} is not usable: ${code}${hint}`;
  }
}

/**
 * A context id for a new VM. vhost-vsock wants each VM's to be unique on the
 * host; one drawn at random from two billion makes a clash between the VMs
 * of one host very unlikely (QEMU refuses to start on a clash, saying so).
 */
export function randomGuestCid(): number {
  return randomInt(MIN_GUEST_CID, Math.min(MAX_GUEST_CID, 0x7fff_ffff) + 1);
}

/**
 * Picks the channel for `choice`: "virtio-serial" as asked; "vsock" only if
 * /dev/vhost-vsock works (else a VmStartError saying why, before anything
 * is started); "auto" vsock if it works, else virtio-serial.
 */
export async function chooseAgentChannel(
  choice: AgentChannelChoice,
  options: { guestCid?: number | undefined; device?: string } = {},
): Promise<AgentChannelDecision> {
  if (choice === 'virtio-serial') return { channel: { kind: 'virtio-serial' }, reason: 'configured (agent.channel = "virtio-serial")' };
  const device = options.device ?? VHOST_VSOCK_DEVICE;
  const problem = await probeVhostVsock(device);
  const vsock = (): AgentChannel => ({ kind: 'vsock', guestCid: options.guestCid ?? randomGuestCid() });
  if (choice === 'vsock') {
    if (problem !== undefined) throw new VmStartError(`agent.channel = "vsock" but ${problem}; set agent.channel = "virtio-serial" or "auto"`);
    return { channel: vsock(), reason: 'configured (agent.channel = "vsock")' };
  }
  if (problem === undefined) return { channel: vsock(), reason: `${device} works` };
  return { channel: { kind: 'virtio-serial' }, reason: `vsock unavailable, using virtio-serial: ${problem}` };
}
