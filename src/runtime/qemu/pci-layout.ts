// Where each device sits on the q35 root bus (pcie.0). Fixed slots make the
// guest's PCI paths predictable, which is what the agent needs: a disk
// hot-plugged into the root port at slot SS appears as 0000:00:SS.0 ->
// 0000:BB:00.0 (BB being the bus the guest gave that port), and the agent
// finds it from the PCI path "SS/00".
//
//   00:00.0  host bridge (q35)
//   00:02.0  the agent channel: virtio-serial or vhost-vsock
//   00:03.0 .. 00:0e.0  pcie-root-port rp0..rp11 (hot-plug slots)
//   00:10.0  shared filesystem (virtio-9p or vhost-user-fs)
//   00:1f.x  ICH9 LPC, SATA, SMBus (q35)
import { MAX_PCIE_ROOT_PORTS } from '../config/schema.js';

/** The agent channel's device (virtio-serial or vhost-vsock). */
export const AGENT_CHANNEL_SLOT = 0x02;
export const FIRST_ROOT_PORT_SLOT = 0x03;
export const SHARED_FS_SLOT = 0x10;

export { MAX_PCIE_ROOT_PORTS };

/** Two lower-case hex digits, as PCI addresses are written. */
export function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** The q35 slot of hot-plug root port number `index` (0-based). */
export function rootPortSlot(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_PCIE_ROOT_PORTS) {
    throw new RangeError(`root port index ${index} is outside 0..${MAX_PCIE_ROOT_PORTS - 1}`);
  }
  return FIRST_ROOT_PORT_SLOT + index;
}

/** The QEMU device id of root port `index`. */
export function rootPortId(index: number): string {
  return `rp${index}`;
}

/**
 * The PCI path the agent resolves for the device in root port `index`:
 * "<root port slot>/00" (the device is slot 0 on the port's secondary bus).
 */
export function pciPathOnRootPort(index: number): string {
  return `${hex2(rootPortSlot(index))}/00`;
}
