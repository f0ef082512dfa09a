// What GetGuestDetails reports about the guest: memory hotplug facts read
// from sysfs, and the agent's own capabilities.
import { readFile, access } from 'node:fs/promises';
import { join } from 'node:path';

export interface GuestMemoryFacts {
  /** Size of one memory block in bytes (sysfs block_size_bytes, hex), 0 if unknown. */
  memBlockSizeBytes: bigint;
  /** Whether the kernel offers /sys/devices/system/memory/probe for hot-add by address. */
  supportsMemHotplugProbe: boolean;
}

/** Reads the memory hotplug facts below a sysfs root ("/sys" normally; a fake tree in tests). */
export async function readGuestMemoryFacts(sysfsRoot = '/sys'): Promise<GuestMemoryFacts> {
  const memDir = join(sysfsRoot, 'devices/system/memory');
  let memBlockSizeBytes = 0n;
  try {
    const text = (await readFile(join(memDir, 'block_size_bytes'), 'utf8')).trim();
    if (/^(0x)?[0-9a-fA-F]+$/.test(text)) memBlockSizeBytes = BigInt(text.startsWith('0x') ? text : `0x${text}`);
  } catch {
    // No memory hotplug support in this kernel: report 0, as upstream does.
  }
  let supportsMemHotplugProbe = false;
  try {
    await access(join(memDir, 'probe'));
    supportsMemHotplugProbe = true;
  } catch {
    // absent: the runtime falls back to ACPI hotplug
  }
  return { memBlockSizeBytes, supportsMemHotplugProbe };
}
