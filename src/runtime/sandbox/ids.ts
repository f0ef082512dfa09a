// Sandbox, container and exec ids: what the agent accepts, and safe as file
// names (they name state directories and sockets).
import { SandboxError } from './errors.js';

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/;

/** Throws a SandboxError naming `what` unless `id` is a valid id. */
export function checkId(id: string, what: string): void {
  if (!ID_PATTERN.test(id)) {
    throw new SandboxError(`${what} ${JSON.stringify(id)} is not valid (letters, digits, "_", ".", "+", "-"; at most 128; starting with a letter or digit)`);
  }
}
