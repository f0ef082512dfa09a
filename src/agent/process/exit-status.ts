// How a process ended, and the single number WaitProcess reports for it.

/** How a process ended. Exactly one of `code` and `signal` is a number, unless the status was lost. */
export interface ExitStatus {
  pid: number;
  /** Exit code when the process called exit(), else null. */
  code: number | null;
  /** Signal number when a signal killed it, else null. */
  signal: number | null;
  /**
   * The WaitProcess status: the exit code, or 128 + signal when killed by a
   * signal (Kata agent @HEAD semantics, the shell's convention). The 2020
   * agent reported the raw signal number instead (9 for SIGKILL, not 137).
   * 255 when the status was lost (someone else reaped the process).
   */
  status: number;
}

/** Status reported when a process's exit could not be observed. */
export const LOST_STATUS = 255;

export function exitStatus(pid: number, code: number | null, signal: number | null): ExitStatus {
  let status = LOST_STATUS;
  if (code !== null) status = code;
  else if (signal !== null) status = 128 + signal;
  return { pid, code, signal, status };
}
