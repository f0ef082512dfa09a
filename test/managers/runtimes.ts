// The runtimes the manager tests drive, as one variable: every test in
// test/managers/ runs once per selected runtime.
//
// Two kinds:
// - 'oci': a runc-compatible command line binary. containerd runs it through
//   its own runc shim (`ctr run --runc-binary PATH`), podman through conmon
//   (`podman --runtime PATH`).
// - 'shim': a containerd shim v2, selected with `ctr run --runtime
//   io.containerd.<name>.v2`; containerd finds the executable
//   containerd-shim-<name>-v2 on its PATH. podman cannot use a shim.
//
// runc is the control; by default kata-ts-runtime and the kata-ts shim run
// beside it. Select others with a comma-separated list in
// KATA_TS_MANAGER_RUNTIMES, e.g.
//   KATA_TS_MANAGER_RUNTIMES=runc,kata-ts-runtime node scripts/run-tests.mjs test/managers

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/processes.js';
import { release } from 'node:os';
import { IMAGE, imageMissing } from '../runtime/helpers.js';

export type ManagerRuntime =
  | {
      kind: 'oci';
      label: string;
      /** The runc-compatible binary. */
      binary: string;
      skipReason(): string | undefined;
    }
  | {
      kind: 'shim';
      label: string;
      /** containerd runtime name, `io.containerd.<name>.v2`. */
      runtimeName: string;
      /** Directories holding containerd-shim-<name>-v2, put first on containerd's PATH. */
      pathDirs: string[];
      skipReason(): string | undefined;
    };

function readFileIfExists(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function firstExisting(paths: string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

const runcBinary = firstExisting(['/usr/sbin/runc', '/usr/bin/runc']) ?? '/usr/sbin/runc';
const crunBinary = firstExisting(['/usr/bin/crun', '/usr/sbin/crun']) ?? '/usr/bin/crun';
const binDir = join(REPO_ROOT, 'bin');

/** Every runtime the tests know, by label. */
export const KNOWN_RUNTIMES: Record<string, ManagerRuntime> = {
  runc: {
    kind: 'oci',
    label: 'runc',
    binary: runcBinary,
    skipReason: () => (existsSync(runcBinary) ? undefined : 'needs runc (package runc)'),
  },
  crun: {
    kind: 'oci',
    label: 'crun',
    binary: crunBinary,
    skipReason: () => {
      if (!existsSync(crunBinary)) return 'needs crun (package crun)';
      // crun 1.8 refuses hybrid cgroups ("cgroups in hybrid mode not supported,
      // drop all controllers from cgroupv2") when the cgroup2 hierarchy has any
      // controller; on this machine it has hugetlb.
      const hybrid = readFileIfExists('/sys/fs/cgroup/unified/cgroup.controllers').trim();
      return hybrid === '' ? undefined : `crun does not run containers with hybrid cgroups (cgroup2 has: ${hybrid})`;
    },
  },
  'kata-ts-runtime': {
    kind: 'oci',
    label: 'kata-ts-runtime',
    binary: join(binDir, 'kata-ts-runtime'),
    skipReason: () => (existsSync(join(binDir, 'kata-ts-runtime')) ? imageMissing() : 'bin/kata-ts-runtime missing'),
  },
  'kata-ts-shim': {
    kind: 'shim',
    label: 'kata-ts-shim',
    runtimeName: 'io.containerd.kata-ts.v2',
    pathDirs: [binDir],
    skipReason: () => (existsSync(join(binDir, 'containerd-shim-kata-ts-v2')) ? imageMissing() : 'bin/containerd-shim-kata-ts-v2 missing'),
  },
};

/**
 * The kernel a container of `rt` runs on: the host's for runc, the guest
 * image's for kata-ts (which is how a test tells it ran in a VM).
 */
export function containerKernel(rt: ManagerRuntime): string {
  return rt.label.startsWith('kata-ts') ? readFileSync(IMAGE.kernelVersion, 'utf8').trim() : release();
}

/** What runs by default: runc (the control), our OCI command line, and our shim (VMs; need the guest image). */
export const DEFAULT_RUNTIMES = 'runc,kata-ts-runtime,kata-ts-shim';

/** The runtimes selected by KATA_TS_MANAGER_RUNTIMES (default: DEFAULT_RUNTIMES). */
export function selectedRuntimes(): ManagerRuntime[] {
  const wanted = (process.env.KATA_TS_MANAGER_RUNTIMES ?? DEFAULT_RUNTIMES)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return wanted.map((label) => {
    const rt = KNOWN_RUNTIMES[label];
    if (!rt) throw new Error(`KATA_TS_MANAGER_RUNTIMES: unknown runtime "${label}" (known: ${Object.keys(KNOWN_RUNTIMES).join(', ')})`);
    return rt;
  });
}
