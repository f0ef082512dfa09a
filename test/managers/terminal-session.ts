// Drives a command that needs a terminal (`podman run -it`, `ctr run -t`)
// through a real pty: util-linux's `script -qec CMD /dev/null` opens a pty
// pair, runs CMD on the slave and relays our pipes to the master; -e makes it
// exit with CMD's status, -q drops its banner, /dev/null discards the typescript.
//
// What we type is echoed by the pty (twice while the manager has not yet put
// its terminal in raw mode), so tests wait for the container's prompt before
// typing and look for output the input line itself cannot contain (e.g.
// `echo $((6*7))` then look for `42`).

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export class TerminalSession {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = '';
  private readonly closed: Promise<number | null>;

  constructor(shellCommand: string, env: NodeJS.ProcessEnv = process.env) {
    // script runs CMD with $SHELL -c; pin it to /bin/sh.
    this.child = spawn('script', ['-qec', shellCommand, '/dev/null'], { env: { ...env, SHELL: '/bin/sh' }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => (this.buffer += d));
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => (this.buffer += d));
    this.child.stdin.on('error', () => undefined);
    this.closed = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('close', (code: number | null) => resolve(code));
    });
  }

  /** Everything the terminal showed so far. */
  output(): string {
    return this.buffer;
  }

  /** Types `text` (include "\n" to press Enter). */
  send(text: string): void {
    this.child.stdin.write(text);
  }

  /** Waits until the output (after `from`) matches; returns the offset just past the match. */
  async expect(pattern: RegExp | string, opts: { from?: number; timeoutMs?: number } = {}): Promise<number> {
    const from = opts.from ?? 0;
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    for (;;) {
      const rest = this.buffer.slice(from);
      if (typeof pattern === 'string') {
        const i = rest.indexOf(pattern);
        if (i >= 0) return from + i + pattern.length;
      } else {
        const m = pattern.exec(rest);
        if (m) return from + m.index + m[0].length;
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`terminal never showed ${String(pattern)}; it showed:\n${JSON.stringify(this.buffer)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits for the command to end (killing it after `timeoutMs`); returns script's exit status. */
  async wait(timeoutMs = 60_000): Promise<number | null> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.closed;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the session if still running (for `finally`). */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.stdin.end();
      this.child.kill('SIGKILL');
      await this.closed.catch(() => undefined);
    }
  }
}
