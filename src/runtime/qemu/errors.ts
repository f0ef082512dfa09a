// Failures of the VM, one class each. Messages say what happened and carry
// the evidence: QEMU's own error output and the end of the guest console.

/** The VM could not be started (bad configuration, QEMU or virtiofsd refused to start). */
export class VmStartError extends Error {
  override name = 'VmStartError';
}

/** QEMU ended while we were waiting for the guest to come up. */
export class VmBootError extends Error {
  override name = 'VmBootError';
}

/** The guest booted (or is still booting) but the agent did not answer in time. */
export class AgentTimeoutError extends Error {
  override name = 'AgentTimeoutError';
}

/** QEMU ended while the VM was in use (killed, crashed, or the guest powered off). */
export class VmExitedError extends Error {
  override name = 'VmExitedError';
}
