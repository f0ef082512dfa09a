// `kata-ts-runtime run`: runs one OCI bundle in a fresh VM, in the
// foreground, and returns the container's exit status.
//
// Our stdin, stdout and stderr are the container's. SIGINT and SIGTERM are
// passed on to the container's process; if it has not exited a few seconds
// later (a shell as PID 1 ignores them), everything in the container is
// killed. A signal while the VM is still booting stops the boot. Whatever
// happens, the VM and every file of the sandbox are gone when this returns.
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../../common/logger.js';
import { loadConfig } from '../config/load.js';
import { Sandbox } from '../sandbox/sandbox.js';
import { loadBundle } from './bundle.js';

export interface RunOptions {
  bundle: string;
  id: string;
  configPath?: string;
  /** Where sandbox state directories go. */
  root: string;
  logger: Logger;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Time a container gets after a forwarded signal before it is killed. */
  killGraceMs?: number;
}

/** Thrown when a signal ended the run before the container started. */
export class RunCancelledError extends Error {
  override name = 'RunCancelledError';
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function signalNumber(sig: NodeJS.Signals): number {
  return osConstants.signals[sig];
}

/** Runs the bundle; resolves with the container's exit status (0-255). */
export async function runBundle(opts: RunOptions): Promise<number> {
  const config = await loadConfig(opts.configPath);
  const { dir, spec } = await loadBundle(opts.bundle);
  const logger = opts.logger;
  const terminal = spec.process?.terminal ?? false;

  const boot = new AbortController();
  let sandbox: Sandbox | undefined;
  let started = false;
  let killTimer: NodeJS.Timeout | undefined;
  let stopResizing = () => {};
  const onSignal = (sig: NodeJS.Signals) => {
    logger.info({ signal: sig }, 'signal received');
    if (!started) {
      boot.abort(new RunCancelledError(sig));
      return;
    }
    const sb = sandbox!;
    sb.signalProcess(opts.id, signalNumber(sig)).catch((err: unknown) => logger.debug({ err }, 'forwarding the signal failed'));
    killTimer ??= setTimeout(() => {
      sb.signalProcess(opts.id, 9, true).catch((err: unknown) => logger.debug({ err }, 'SIGKILL failed'));
    }, opts.killGraceMs ?? 3000);
  };
  for (const sig of FORWARDED) process.on(sig, onSignal);

  const stdin = opts.stdin as Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => void };
  const rawMode = terminal && stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  try {
    sandbox = await Sandbox.create({
      id: opts.id,
      config,
      runRoot: opts.root,
      hostname: spec.hostname ?? opts.id.slice(0, 64),
      logger,
      signal: boot.signal,
    });
    await sandbox.createContainer({ id: opts.id, spec, bundleDir: dir });
    if (boot.signal.aborted) throw boot.signal.reason;
    await sandbox.startContainer(opts.id);
    started = true;
    if (rawMode) stdin.setRawMode!(true);
    const tty = opts.stdout as Writable & { isTTY?: boolean; rows?: number; columns?: number };
    if (terminal && tty.isTTY) {
      const sb = sandbox;
      const resize = () => {
        sb.resizeTerminal(opts.id, tty.rows ?? 24, tty.columns ?? 80).catch((err: unknown) => logger.debug({ err }, 'TtyWinResize failed'));
      };
      resize();
      process.on('SIGWINCH', resize);
      stopResizing = () => process.off('SIGWINCH', resize);
    }
    const io = sandbox.attach(opts.id, { stdin, stdout: opts.stdout, stderr: opts.stderr, terminal });
    const status = await sandbox.waitProcess(opts.id);
    // The output ends once the agent has drained it; never hang on it.
    await Promise.race([io.outputDone, new Promise((r) => setTimeout(r, 5000).unref())]);
    io.stopInput();
    return status & 0xff;
  } finally {
    clearTimeout(killTimer);
    stopResizing();
    for (const sig of FORWARDED) process.off(sig, onSignal);
    if (rawMode) stdin.setRawMode!(false);
    // Keep going on Ctrl-C during teardown: it must finish.
    const ignore = () => {};
    for (const sig of FORWARDED) process.on(sig, ignore);
    try {
      await sandbox?.destroy();
    } finally {
      for (const sig of FORWARDED) process.off(sig, ignore);
    }
  }
}
