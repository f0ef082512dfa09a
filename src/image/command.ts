// Running the host tools the builder relies on (apt-get, dpkg-deb, depmod,
// modprobe, ldd, xz, strip...), with errors that name the command.
import { spawn } from 'node:child_process';
import { ImageBuildError, ToolMissingError } from './errors.js';

export interface RunOptions {
  /** Bytes written to the command's stdin (default: nothing, stdin closed). */
  input?: Uint8Array;
  cwd?: string;
  /** The command's environment (default: ours). */
  env?: NodeJS.ProcessEnv;
  /** Exit codes counted as success besides 0. */
  okCodes?: readonly number[];
}

export interface RunOutput {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Keeps error messages readable when a tool prints a lot. */
const STDERR_IN_MESSAGE = 2000;

/** Runs `program args...` to completion; rejects with ImageBuildError unless it exits 0 (or an okCode). */
export function run(program: string, args: readonly string[], options: RunOptions = {}): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args], { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (err.length < 64 * 1024) err += s;
    });
    // A tool that exits without reading all of its input is not our error.
    child.stdin.on('error', () => {});
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new ToolMissingError(program, { cause: e }));
      else reject(new ImageBuildError(`cannot run ${program}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      const ok = code === 0 || (code !== null && (options.okCodes ?? []).includes(code));
      if (ok) {
        resolve({ code: code ?? 0, stdout: Buffer.concat(out), stderr: err });
        return;
      }
      const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
      const detail = err.trim().slice(-STDERR_IN_MESSAGE);
      reject(new ImageBuildError(`${program} ${args.join(' ')} ${how}${detail ? `: ${detail}` : ''}`));
    });
    child.stdin.end(options.input ?? Buffer.alloc(0));
  });
}

/** Runs a command and returns its stdout as text. */
export async function runText(program: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return (await run(program, args, options)).stdout.toString('utf8');
}
