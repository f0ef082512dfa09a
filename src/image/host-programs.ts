// Host programs copied into the guest with the shared libraries they load
// (found with ldd, including the ELF interpreter), at the same paths.
import { access, constants, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './command.js';
import { ImageBuildError, ToolMissingError } from './errors.js';
import type { Progress } from './progress.js';
import type { RootfsLayout } from './rootfs-layout.js';

export interface HostProgram {
  /** Absolute host path; the guest gets it at the same path. */
  path: string;
  /** Skipped (with a progress note) when the host lacks it. */
  optional?: boolean;
  /** Copy with debugging symbols removed (`strip`), when strip is installed. */
  strip?: boolean;
}

/**
 * What the agent runs in the guest: node, the OCI runtimes, iproute2's ip
 * (the agent's network RPCs), and mkfs.ext4 for ephemeral block storage.
 */
export const GUEST_PROGRAMS: readonly HostProgram[] = [
  { path: '/usr/bin/node', strip: true },
  { path: '/usr/bin/crun' },
  { path: '/usr/sbin/runc' },
  { path: '/usr/sbin/ip' },
  { path: '/usr/sbin/mkfs.ext4', optional: true },
];

/**
 * Parses ldd output into the files the dynamic loader opens: the libraries
 * ("libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)") and the interpreter
 * ("/lib64/ld-linux-x86-64.so.2 (0x...)"). The vDSO has no file.
 */
export function parseLdd(text: string, program: string): string[] {
  const files: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || /not a dynamic executable|statically linked/.test(line)) continue;
    const arrow = /^(\S+) => (.*)$/.exec(line);
    if (arrow) {
      const target = arrow[2]!.trim();
      if (target.startsWith('not found')) throw new ImageBuildError(`${program} needs ${arrow[1]}, which the host does not have (ldd: not found)`);
      const path = /^(\/\S+)/.exec(target)?.[1];
      if (path !== undefined) files.push(path);
      continue; // "linux-vdso.so.1 =>  (0x...)" on some systems
    }
    const direct = /^(\/\S+)\s+\(0x[0-9a-f]+\)$/.exec(line);
    if (direct) files.push(direct[1]!);
  }
  return [...new Set(files)];
}

/** The shared objects `program` loads, by the paths the loader uses. */
export async function sharedLibraries(program: string): Promise<string[]> {
  // ldd exits 1 for static executables ("not a dynamic executable").
  const out = await run('ldd', [program], { okCodes: [1] });
  return parseLdd(out.stdout.toString('utf8') + out.stderr, program);
}

export interface AddedProgram {
  program: string;
  /** Host files the guest got (the program and its libraries), for the manifest. */
  hostFiles: string[];
}

/**
 * Adds `prog` and its libraries to the layout. Libraries that are symlinks on
 * the host are copied as the file they point to, under the name the loader
 * asks for. `workDir` receives stripped copies.
 */
export async function addHostProgram(layout: RootfsLayout, prog: HostProgram, workDir: string, progress: Progress): Promise<AddedProgram | undefined> {
  try {
    await access(prog.path, constants.X_OK);
  } catch {
    if (prog.optional) {
      progress(`${prog.path} not found: left out of the image (optional)`);
      return undefined;
    }
    throw new ImageBuildError(`${prog.path} is needed in the guest but is not installed on this host`);
  }
  let source = await realpath(prog.path);
  if (prog.strip) source = await stripped(source, workDir, progress);
  layout.addFile(prog.path, source, 0o755);
  const hostFiles = [prog.path];
  for (const lib of await sharedLibraries(prog.path)) {
    if (!layout.has(lib)) layout.addFile(lib, await realpath(lib), 0o755);
    hostFiles.push(lib);
  }
  return { program: prog.path, hostFiles };
}

/** A copy of `file` without symbols and debug sections, or `file` itself if strip is missing. */
async function stripped(file: string, workDir: string, progress: Progress): Promise<string> {
  const out = join(workDir, `stripped-${file.replace(/\//g, '_')}`);
  try {
    await run('strip', ['--strip-all', '-o', out, file]);
    return out;
  } catch (err) {
    if (!(err instanceof ToolMissingError)) throw err;
    progress(`strip not installed: ${file} copied with its symbols`);
    return file;
  }
}
