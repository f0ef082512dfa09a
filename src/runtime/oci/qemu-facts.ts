// What a QEMU binary is and can do, from its own answers: `--version`,
// `-accel help` and `-device help`. Each question runs the binary once, with
// a time limit; a binary that is missing or fails gives an error string
// instead of an answer.
import { execFile } from 'node:child_process';

const QUERY_TIMEOUT_MS = 15_000;

export interface QemuFacts {
  path: string;
  /** "7.2.22" */
  version?: string;
  /** The first line of `--version`, e.g. "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)". */
  versionLine?: string;
  /** Accelerators compiled in ("tcg", "kvm", ...). */
  accelerators: string[];
  /** Device model names (`-device help`), e.g. "virtio-serial-pci". */
  devices: Set<string>;
  /** Why the binary could not be asked, when it could not. */
  error?: string;
}

function run(path: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, args, { timeout: QUERY_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const said = String(stderr).trim().split('\n').at(-1) ?? '';
        reject(new Error(typeof code === 'string' ? `${path}: ${code}` : `${path} ${args.join(' ')}: ${said || err.message}`));
        return;
      }
      resolve(String(stdout));
    });
  });
}

/** "QEMU emulator version 7.2.22 (Debian ...)" -> "7.2.22". */
export function parseQemuVersion(text: string): string | undefined {
  return /version\s+(\d+\.\d+(?:\.\d+)?)/.exec(text)?.[1];
}

/** Device names from `-device help` lines such as `name "virtio-9p-pci", bus PCI, alias "virtio-9p"`. */
export function parseDeviceHelp(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^name "([^"]+)"(?:.*alias "([^"]+)")?/gm)) {
    names.add(m[1]!);
    if (m[2] !== undefined) names.add(m[2]);
  }
  return names;
}

/** The accelerator list of `-accel help` (the lines after the heading). */
export function parseAccelHelp(text: string): string[] {
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => /^[a-z0-9_-]+$/.test(l));
}

/** Asks the binary at `path` for its version, accelerators and device models. */
export async function queryQemu(path: string): Promise<QemuFacts> {
  const facts: QemuFacts = { path, accelerators: [], devices: new Set() };
  try {
    const [version, accel, devices] = await Promise.all([run(path, ['--version']), run(path, ['-accel', 'help']), run(path, ['-device', 'help'])]);
    facts.versionLine = version.split('\n')[0]?.trim();
    const v = parseQemuVersion(version);
    if (v !== undefined) facts.version = v;
    facts.accelerators = parseAccelHelp(accel);
    facts.devices = parseDeviceHelp(devices);
  } catch (err) {
    facts.error = (err as Error).message;
  }
  return facts;
}
