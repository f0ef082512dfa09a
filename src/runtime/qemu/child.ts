// A child process we own (QEMU, virtiofsd): its exit as a promise, the end of
// its error output, and a stop that escalates from a polite request to SIGKILL.
//
// The child is started through util-linux's setpriv with a parent-death
// signal: if we die without stopping it (SIGKILL, a crash), the kernel kills
// it too, so a VM never outlives the process that owns it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const STDERR_TAIL_CHARS = 8000;

/** util-linux's setpriv, which sets the parent-death signal and execs the child (same pid). */
const SETPRIV_CANDIDATES = ['/usr/bin/setpriv', '/bin/setpriv'];
let setprivPath: string | null | undefined;

function findSetpriv(): string | null {
  setprivPath ??= SETPRIV_CANDIDATES.find((p) => existsSync(p)) ?? null;
  return setprivPath;
}

export class OwnedChild {
  readonly process: ChildProcess;
  readonly name: string;
  /** Settles when the process has exited (never rejects). */
  readonly exited: Promise<ChildExit>;
  private stderrTail = '';
  private exit: ChildExit | null = null;
  /** Set when spawning failed (e.g. ENOENT). */
  spawnError: Error | null = null;

  constructor(name: string, file: string, args: readonly string[]) {
    this.name = name;
    // Without setpriv the child still works, it only loses the parent-death guard.
    const setpriv = findSetpriv();
    this.process = setpriv
      ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', file, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.process.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderrTail = (this.stderrTail + d).slice(-STDERR_TAIL_CHARS);
    });
    this.exited = new Promise((resolve) => {
      this.process.once('error', (err) => {
        this.spawnError = err;
        // 'close' does not always follow a failed spawn.
        if (this.process.pid === undefined) {
          this.exit = { code: null, signal: null };
          resolve(this.exit);
        }
      });
      this.process.once('close', (code, signal) => {
        this.exit ??= { code, signal };
        resolve(this.exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** The exit, once it has happened. */
  get exitStatus(): ChildExit | null {
    return this.exit;
  }

  /** The last lines the process wrote to stderr. */
  stderr(lines = 10): string {
    return this.stderrTail.trim().split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
  }

  /** "exit status 1", "signal SIGKILL", or the spawn error. */
  describeExit(): string {
    if (this.spawnError) return `could not be started: ${this.spawnError.message}`;
    const e = this.exit;
    if (!e) return 'still running';
    return e.signal ? `killed by ${e.signal}` : `exit status ${e.code}`;
  }

  /** SIGTERM (or nothing, if `politeFirst` was already done), then SIGKILL after `graceMs`. */
  async stop(graceMs: number, signal: NodeJS.Signals | null = 'SIGTERM'): Promise<ChildExit> {
    if (this.exit) return this.exit;
    if (signal) this.process.kill(signal);
    const done = await Promise.race([this.exited, sleep(graceMs).then(() => null)]);
    if (done) return done;
    this.process.kill('SIGKILL');
    return this.exited;
  }
}
