// CreateSandbox's `dns`: the lines of the sandbox's resolv.conf.
//
// The runtime sends the lines of the resolv.conf the OCI spec mounts at
// /etc/resolv.conf, split on "\n": so blank lines (a trailing newline gives
// one) and comments come along, and are kept. Every other line must be one of
// the directives the resolver reads (nameserver, search, domain, options,
// sortlist) with a value; nothing may smuggle in a NUL or a line break.
//
// The file is written to <stateDir>/sandbox/resolv.conf (upstream's sandbox
// DNS file) atomically: a temporary file in the same directory renamed over
// it. In the VM the agent then bind-mounts it over /etc/resolv.conf, which is
// a separate step (bindMountResolvConf) taking the mount function, so tests
// never mount anything over this machine's files.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import type { MountSyscalls } from '../mount/mount.js';
import { invalidSandboxField, SandboxError, SandboxGrpcCode } from './errors.js';

/** The agent's state directory in the guest. */
export const DEFAULT_STATE_DIR = '/run/kata-containers';
/** The file the sandbox's resolv.conf is bind-mounted over. */
export const GUEST_RESOLV_CONF = '/etc/resolv.conf';
/** MS_BIND from <sys/mount.h>. */
const MS_BIND = 0x1000;

const DIRECTIVES = new Set(['nameserver', 'search', 'domain', 'options', 'sortlist']);

/** Where the sandbox's resolv.conf lives below a state directory. */
export function sandboxResolvConfPath(stateDir = DEFAULT_STATE_DIR): string {
  return join(stateDir, 'sandbox', 'resolv.conf');
}

/**
 * Checks the `dns` lines and returns them trimmed (as upstream writes them).
 * Throws an INVALID_ARGUMENT SandboxError naming `create_sandbox.dns[i]`.
 */
export function validateDnsLines(dns: readonly string[]): string[] {
  return dns.map((raw, i) => {
    const field = `create_sandbox.dns[${i}]`;
    if (raw.includes('\0')) throw invalidSandboxField(field, 'contains a NUL byte');
    const line = raw.trim();
    if (/[\r\n]/.test(line)) throw invalidSandboxField(field, 'contains a line break inside the line');
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return line; // blank or comment
    const match = /^(\S+)[ \t]+\S/.exec(line);
    if (match === null || !DIRECTIVES.has(match[1] ?? '')) {
      throw invalidSandboxField(
        field,
        `${JSON.stringify(line)} is not a resolv.conf directive with a value (nameserver, search, domain, options, sortlist)`,
      );
    }
    return line;
  });
}

export interface SandboxDnsOptions {
  /** The agent's state directory. Default "/run/kata-containers". */
  stateDir?: string;
}

/**
 * Validates the lines and writes them to <stateDir>/sandbox/resolv.conf,
 * replacing any earlier file atomically. Returns the file's path, or
 * undefined when `dns` is empty (nothing is written, as upstream).
 */
export async function writeSandboxResolvConf(dns: readonly string[], options: SandboxDnsOptions = {}): Promise<string | undefined> {
  const lines = validateDnsLines(dns);
  if (lines.length === 0) return undefined;
  const target = sandboxResolvConfPath(options.stateDir);
  const dir = dirname(target);
  const temp = join(dir, `.resolv.conf.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const handle = await open(temp, 'wx', 0o644);
    try {
      // Joined like upstream, plus a final newline so the last line is a whole line.
      const body = lines.join('\n');
      await handle.writeFile(body.endsWith('\n') ? body : `${body}\n`);
      await handle.chmod(0o644); // whatever the umask
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw new SandboxError(SandboxGrpcCode.INTERNAL, 'create_sandbox.dns', `writing ${target} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return target;
}

/** mount(2) as the native addon exports it (nativeMountSyscalls().mount). */
export type MountFunction = MountSyscalls['mount'];

export interface BindResolvConfOptions {
  /** What to cover. Default "/etc/resolv.conf". */
  target?: string;
  /** mount(2); the agent passes the native one (nativeMountSyscalls().mount). */
  mount: MountFunction;
}

/**
 * Bind-mounts the sandbox's resolv.conf over /etc/resolv.conf. As upstream,
 * nothing is done (false is returned) when the target does not exist; a
 * directory there is an error. Returns true once mounted.
 */
export async function bindMountResolvConf(source: string, options: BindResolvConfOptions): Promise<boolean> {
  const target = options.target ?? GUEST_RESOLV_CONF;
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(target)).isDirectory();
  } catch {
    return false; // no resolv.conf to cover in this guest
  }
  if (isDirectory) {
    throw new SandboxError(SandboxGrpcCode.FAILED_PRECONDITION, 'create_sandbox.dns', `${target} is a directory, not a file to bind the sandbox DNS over`);
  }
  try {
    options.mount(source, target, null, MS_BIND, null);
  } catch (err) {
    throw new SandboxError(SandboxGrpcCode.INTERNAL, 'create_sandbox.dns', `bind-mounting ${source} over ${target} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return true;
}

/**
 * The whole of CreateSandbox's DNS step: write the sandbox resolv.conf, then
 * bind it over /etc/resolv.conf. Returns the file written (undefined if `dns`
 * was empty, in which case nothing is mounted either).
 */
export async function setupSandboxDns(
  dns: readonly string[],
  options: SandboxDnsOptions & BindResolvConfOptions,
): Promise<string | undefined> {
  const written = await writeSandboxResolvConf(dns, options);
  if (written !== undefined) await bindMountResolvConf(written, options);
  return written;
}
