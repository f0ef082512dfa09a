// Reading the end of the guest's serial console log, for error messages.
import { open } from 'node:fs/promises';

const TAIL_BYTES = 16 * 1024;

/** The last `lines` lines of `path` (empty if it does not exist), control characters removed. */
export async function tailFile(path: string, lines = 25): Promise<string[]> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return [];
  }
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - TAIL_BYTES);
    const buf = Buffer.alloc(size - start);
    await handle.read(buf, 0, buf.length, start);
    const text = buf.toString('utf8');
    const all = text.split('\n').map((l) => l.replace(/\r$/, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, ''));
    if (start > 0) all.shift(); // probably a partial line
    while (all.length > 0 && all[all.length - 1]!.trim() === '') all.pop();
    return all.slice(-lines);
  } finally {
    await handle.close();
  }
}

/** Formats a console tail for an error message. */
export function formatConsoleTail(lines: readonly string[], path: string): string {
  if (lines.length === 0) return `guest console (${path}) is empty`;
  return `last ${lines.length} lines of the guest console:\n${lines.map((l) => `  | ${l}`).join('\n')}`;
}

/**
 * Seconds since guest boot at which the kernel started /init, if the console
 * shows it ("[    1.234567] Run /init as init process"; needs printk
 * timestamps and no "quiet", i.e. hypervisor.qemu.debug = true).
 */
export function initStartSeconds(consoleText: string): number | undefined {
  const m = /\[\s*(\d+\.\d+)\]\s+Run \/\S+ as init process/.exec(consoleText);
  return m ? Number(m[1]) : undefined;
}
