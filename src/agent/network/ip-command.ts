// Running iproute2's `ip`, the one place where this module touches the system.
//
// Commands run with execFile (no shell): every argument reaches ip exactly as
// given. Callers build arguments from validated values only; this runner
// checks them once more (printable, no spaces, options from a short list) so
// that a bug upstream of it cannot turn a value into an ip option.
//
// With `netns` set, every command runs as `ip -n <netns> ...`, i.e. inside
// that named network namespace (tests use one of their own).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { IpCommandError, NetworkError } from './errors.js';

export interface IpCommandOptions {
  /** Named network namespace to work in (`ip -n NAME`); default: our own. */
  netns?: string;
  /** The ip binary; default: the first of IP_BINARY_CANDIDATES that exists. */
  binary?: string;
  /** Time limit for one command, in ms (default 10000). */
  timeoutMs?: number;
}

/**
 * Where ip lives on the distributions we know. The agent may run as init with
 * no PATH at all, so an absolute path is preferred over a PATH lookup.
 */
export const IP_BINARY_CANDIDATES: readonly string[] = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'];

/** The global options callers may pass; everything else must be a plain word. */
const ALLOWED_OPTIONS: ReadonlySet<string> = new Set(['-json', '-details', '-4', '-6']);

/** Network namespace names as `ip netns add` accepts them (a file under /run/netns). */
const NETNS_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** One argument: printable ASCII without spaces, at most 256 characters. */
const PLAIN_ARG = /^[\x21-\x7e]{1,256}$/;

const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;

/**
 * Throws if `args` could not have come from this module's own builders:
 * empty, non-string, non-printable, or an option outside ALLOWED_OPTIONS.
 */
export function checkIpArgs(args: readonly string[]): void {
  if (args.length === 0) throw new NetworkError('INTERNAL', 'refusing to run ip without arguments');
  for (const arg of args) {
    if (typeof arg !== 'string' || !PLAIN_ARG.test(arg)) {
      throw new NetworkError('INTERNAL', `refusing to run ip with argument ${JSON.stringify(arg)}`);
    }
    if (arg.startsWith('-') && !ALLOWED_OPTIONS.has(arg)) {
      throw new NetworkError('INTERNAL', `refusing to run ip with option ${JSON.stringify(arg)}`);
    }
  }
}

/** Whether `name` can be a named network namespace. */
export function isValidNetnsName(name: string): boolean {
  return NETNS_NAME.test(name) && name !== '.' && name !== '..';
}

/** The first existing entry of IP_BINARY_CANDIDATES, or "ip" (PATH lookup). */
export function findIpBinary(): string {
  return IP_BINARY_CANDIDATES.find((p) => existsSync(p)) ?? 'ip';
}

interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  /** Why there is no exit code (spawn failure, timeout, signal). */
  failure?: string;
  cause?: unknown;
}

/** Runs iproute2's ip, optionally inside a named network namespace. */
export class IpCommand {
  readonly netns: string | undefined;
  readonly binary: string;
  readonly timeoutMs: number;

  constructor(options: IpCommandOptions = {}) {
    if (options.netns !== undefined && !isValidNetnsName(options.netns)) {
      throw new NetworkError('INVALID_ARGUMENT', `netns: invalid namespace name ${JSON.stringify(options.netns)}`);
    }
    this.netns = options.netns;
    this.binary = options.binary ?? findIpBinary();
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Runs `ip <args>` and resolves to its stdout; a failure is an IpCommandError. */
  async run(args: readonly string[]): Promise<string> {
    checkIpArgs(args);
    const full = this.netns === undefined ? [...args] : ['-n', this.netns, ...args];
    const res = await this.exec(full);
    if (res.exitCode !== 0) {
      throw new IpCommandError(args, res.exitCode, res.stderr.trim(), { cause: res.cause, detail: res.failure });
    }
    return res.stdout;
  }

  /** Runs `ip -json <args>` and returns the array ip prints (empty output = []). */
  async json(args: readonly string[]): Promise<unknown[]> {
    const out = await this.run(['-json', ...args]);
    if (out.trim() === '') return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(out);
    } catch (err) {
      throw new NetworkError('INTERNAL', `ip -json ${args.join(' ')} printed something that is not JSON`, { cause: err });
    }
    if (!Array.isArray(parsed)) {
      throw new NetworkError('INTERNAL', `ip -json ${args.join(' ')} printed JSON that is not an array`);
    }
    return parsed;
  }

  /**
   * Reads a file under /proc/sys/net as the namespace sees it, e.g.
   * "ipv6/conf/eth0/disable_ipv6". Resolves to the trimmed contents, or
   * undefined if the file does not exist (e.g. no IPv6 in the kernel).
   */
  async readNetSysctl(relPath: string): Promise<string | undefined> {
    if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(relPath) || relPath.split('/').some((p) => p === '.' || p === '..')) {
      throw new NetworkError('INTERNAL', `refusing to read sysctl ${JSON.stringify(relPath)}`);
    }
    const path = `/proc/sys/net/${relPath}`;
    if (this.netns === undefined) {
      try {
        return (await readFile(path, 'utf8')).trim();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new NetworkError('INTERNAL', `reading ${path}: ${(err as Error).message}`, { cause: err });
      }
    }
    // /proc/sys/net shows the reader's namespace, so read it from inside.
    const res = await this.exec(['netns', 'exec', this.netns, 'cat', path]);
    if (res.exitCode === 0) return res.stdout.trim();
    if (/No such file or directory/.test(res.stderr)) return undefined;
    throw new IpCommandError(['netns', 'exec', this.netns, 'cat', path], res.exitCode, res.stderr.trim(), {
      cause: res.cause,
      detail: res.failure,
    });
  }

  private exec(args: string[]): Promise<ExecResult> {
    return new Promise((resolve) => {
      execFile(
        this.binary,
        args,
        {
          encoding: 'utf8',
          timeout: this.timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: MAX_OUTPUT_BYTES,
          // Stable, untranslated messages (they end up in our errors).
          env: { ...process.env, LC_ALL: 'C' },
        },
        (err, stdout, stderr) => {
          if (err === null) {
            resolve({ stdout, stderr, exitCode: 0 });
            return;
          }
          const e = err as NodeJS.ErrnoException & { code?: string | number; killed?: boolean; signal?: string };
          if (typeof e.code === 'number') {
            resolve({ stdout, stderr, exitCode: e.code, cause: err });
          } else if (e.code === 'ENOENT') {
            resolve({ stdout, stderr, exitCode: null, failure: `no ip binary at ${this.binary}`, cause: err });
          } else if (e.killed === true) {
            resolve({ stdout, stderr, exitCode: null, failure: `timed out after ${this.timeoutMs} ms`, cause: err });
          } else {
            const failure = e.signal ? `killed by ${e.signal}` : err.message;
            resolve({ stdout, stderr, exitCode: null, failure, cause: err });
          }
        },
      );
    });
  }
}
