/** A sandbox operation failed (the message says which and why). */
export class SandboxError extends Error {
  override name = 'SandboxError';
}
