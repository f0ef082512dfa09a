// What goes into an image: the knobs of a build, with the defaults
// `kata-ts-image build` uses. The configuration is part of the inputs: a
// build with a different one is not up to date.
import { HOST_BUSYBOX } from './busybox.js';
import { GUEST_PROGRAMS, type HostProgram } from './host-programs.js';
import { GUEST_MODULES } from './modules.js';

/** The QEMU that makes the startup snapshot unless configured otherwise (the runtime's default too). */
export const DEFAULT_QEMU = '/usr/bin/qemu-system-x86_64';

export interface ImageConfig {
  /** Kernel image package; undefined: the one linux-image-amd64 depends on. */
  kernelPackage?: string;
  /** Modules loaded at boot (their dependencies are added). */
  modules: string[];
  /** Host programs copied in with their libraries. */
  programs: HostProgram[];
  /** Host busybox (static) providing /init's shell and the small tools. */
  busybox: string;
  /** OCI runtime the agent uses unless the kernel command line says agent.oci_runtime=. */
  ociRuntime: string;
  /** Extra arguments for the agent. */
  agentArgs: string[];
  /**
   * Make the agent's V8 startup snapshot by booting the image once under
   * QEMU's TCG (startup-snapshot.ts); the agent then starts from it under TCG.
   */
  startupSnapshot: boolean;
  /** The QEMU that boots the image to make the snapshot. */
  qemu: string;
}

export function defaultImageConfig(): ImageConfig {
  return {
    modules: [...GUEST_MODULES],
    programs: GUEST_PROGRAMS.map((p) => ({ ...p })),
    busybox: HOST_BUSYBOX,
    ociRuntime: '/usr/bin/crun',
    // The agent in the guest owns the guest: its hostname, DNS, clock.
    agentArgs: ['--guest'],
    startupSnapshot: true,
    qemu: DEFAULT_QEMU,
  };
}
