// CreateSandbox's `kernel_modules`: each module is loaded with
// `modprobe -v NAME PARAM...`, in the order given, before anything else of
// the sandbox is set up (as upstream's agent does).
//
// modprobe is run directly (no shell), so names and parameters cannot inject
// commands; they are still checked strictly so that a bad request is
// refused with a clear error instead of a puzzling modprobe failure.
import { spawn } from 'node:child_process';

import { invalidSandboxField, SandboxError, SandboxGrpcCode } from './errors.js';

/** A module to load, as KernelModule in the protocol. */
export interface KernelModuleRequest {
  name: string;
  parameters: readonly string[];
}

/** How a finished command ended. */
export interface CommandResult {
  /** Exit code, or null if killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program with arguments (no shell) to completion. Rejects only if it could not be started. */
export type CommandRunner = (program: string, args: readonly string[]) => Promise<CommandResult>;

export interface KernelModuleOptions {
  /** The modprobe program. Default "modprobe". */
  modprobe?: string;
  /** Arguments put before the module's (e.g. ["--dry-run"]). Default none. */
  extraArgs?: readonly string[];
  /** How to run it. Default: runCommand. */
  run?: CommandRunner;
}

const NAME = /^[A-Za-z0-9_-]+$/;
/** A parameter: "key" (a boolean set to true) or "key=value"; values without spaces or shell metacharacters. */
const PARAMETER = /^[A-Za-z0-9_.-]+(=[A-Za-z0-9_.,:+/@%=-]*)?$/;
/** Output kept in error messages. */
const OUTPUT_LIMIT = 2048;

/** The default CommandRunner: child_process.spawn, output collected (bounded). */
export const runCommand: CommandRunner = (program, args) =>
  new Promise((resolve, reject) => {
    const child = spawn(program, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      if (stdout.length < OUTPUT_LIMIT) stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < OUTPUT_LIMIT) stderr += s;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });

/** Checks one module; throws an INVALID_ARGUMENT SandboxError naming kernel_modules[i].name / .parameters[j]. */
export function validateKernelModule(module: KernelModuleRequest, index: number): void {
  const field = `create_sandbox.kernel_modules[${index}]`;
  if (!NAME.test(module.name)) {
    throw invalidSandboxField(
      `${field}.name`,
      module.name === '' ? 'is empty' : `${JSON.stringify(module.name)} is not a module name (letters, digits, "_" and "-")`,
    );
  }
  module.parameters.forEach((parameter, j) => {
    if (!PARAMETER.test(parameter)) {
      throw invalidSandboxField(
        `${field}.parameters[${j}]`,
        `${JSON.stringify(parameter)} is not a module parameter "key=value" (no spaces or shell metacharacters)`,
      );
    }
  });
}

function clip(text: string): string {
  const t = text.trim();
  return t.length > 512 ? `${t.slice(0, 512)}...` : t;
}

/**
 * Loads the modules in order. All are validated before the first is loaded.
 * A modprobe failure is an INTERNAL SandboxError naming the module
 * (`create_sandbox.kernel_modules[i]`) with modprobe's exit status and output.
 */
export async function loadKernelModules(modules: readonly KernelModuleRequest[], options: KernelModuleOptions = {}): Promise<void> {
  modules.forEach(validateKernelModule);
  const modprobe = options.modprobe ?? 'modprobe';
  const run = options.run ?? runCommand;
  for (const [i, module] of modules.entries()) {
    const field = `create_sandbox.kernel_modules[${i}]`;
    const args = [...(options.extraArgs ?? []), '-v', module.name, ...module.parameters];
    let result: CommandResult;
    try {
      result = await run(modprobe, args);
    } catch (err) {
      throw new SandboxError(SandboxGrpcCode.INTERNAL, field, `running ${modprobe} for module ${module.name} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (result.code !== 0) {
      const how = result.code === null ? `was killed by ${result.signal ?? 'a signal'}` : `exited with code ${result.code}`;
      const output = [clip(result.stderr), clip(result.stdout)].filter((s) => s !== '').join('; ');
      throw new SandboxError(
        SandboxGrpcCode.INTERNAL,
        field,
        `loading module ${module.name}: ${modprobe} ${how}${output === '' ? '' : `: ${output}`}`,
      );
    }
  }
}
