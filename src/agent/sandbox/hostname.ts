// CreateSandbox's `hostname`: sets the UTS hostname of the agent's UTS
// namespace (in the VM, the guest's) by writing /proc/sys/kernel/hostname,
// which is what sethostname(2) changes.
//
// The runtime cuts the sandbox hostname to 64 characters before sending it;
// an empty hostname means "leave it as it is", as upstream's agent does.
import { open } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';

import { invalidSandboxField, SandboxError, SandboxGrpcCode } from './errors.js';

/** The kernel's limit (__NEW_UTS_LEN) and the runtime's cut. */
export const MAX_HOSTNAME_LENGTH = 64;

/** One RFC 1123 label: letters, digits and hyphens, not starting or ending with a hyphen, at most 63 long. */
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

const FIELD = 'create_sandbox.hostname';

export interface HostnameOptions {
  /** The file sethostname(2) stands behind. Default "/proc/sys/kernel/hostname". */
  procFile?: string;
}

/**
 * Checks a hostname: at most 64 characters, made of RFC 1123 labels
 * separated by dots. Throws an INVALID_ARGUMENT SandboxError naming
 * `create_sandbox.hostname`. The empty string is accepted (nothing to set).
 */
export function validateHostname(hostname: string): void {
  if (hostname === '') return;
  if (hostname.length > MAX_HOSTNAME_LENGTH) {
    throw invalidSandboxField(FIELD, `is ${hostname.length} characters long, more than ${MAX_HOSTNAME_LENGTH}`);
  }
  for (const label of hostname.split('.')) {
    if (!LABEL.test(label)) {
      throw invalidSandboxField(
        FIELD,
        `${JSON.stringify(hostname)} is not a hostname: each dot-separated label must be 1-63 letters, digits or ` +
          'hyphens, not starting or ending with a hyphen',
      );
    }
  }
}

/**
 * Sets the hostname of the calling process's UTS namespace. Returns false
 * (and changes nothing) for an empty hostname, true once it was set.
 */
export async function setHostname(hostname: string, options: HostnameOptions = {}): Promise<boolean> {
  validateHostname(hostname);
  if (hostname === '') return false;
  const procFile = options.procFile ?? '/proc/sys/kernel/hostname';
  try {
    // Write-only without O_CREAT: a missing file is an error, never created.
    const handle = await open(procFile, fsConstants.O_WRONLY | fsConstants.O_TRUNC);
    try {
      await handle.write(hostname);
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new SandboxError(SandboxGrpcCode.INTERNAL, FIELD, `setting the hostname through ${procFile} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return true;
}
