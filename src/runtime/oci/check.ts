// `kata-ts-runtime check`: can this host run kata-ts VMs with the effective
// configuration, and how fast?
//
// Each check is one thing the host offers (or not), with a detail line. A
// check is `required` when the configuration cannot work without it; the
// others are reported for information (vhost-vsock, for instance: the agent
// channel is virtio-serial, but a host with vsock could use it).
//
// The verdict: "yes" when every required check passes and KVM will be used,
// "slow" when VMs will run under TCG emulation, "no" when a required check
// failed. The command's exit status is 0 for "yes" and "slow", 1 for "no".
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import type { RuntimeConfig } from '../config/schema.js';
import { KVM_DEVICE, probeKvm, type Accelerator } from '../qemu/accel.js';
import { readImageFacts, type ImageFacts } from './image-facts.js';
import { queryQemu, type QemuFacts } from './qemu-facts.js';

export const VHOST_VSOCK_DEVICE = '/dev/vhost-vsock';

/** The names of the checks, in report order. */
export const CHECK_NAMES = ['qemu', 'kvm', 'tcg', 'virtio-serial', 'virtio-fs', '9p', 'vhost-vsock', 'guest-image'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface CheckResult {
  name: CheckName;
  ok: boolean;
  /** What was found, or why not. */
  detail: string;
  /** The configuration cannot work without it. */
  required: boolean;
}

export type Verdict = 'yes' | 'slow' | 'no';

export interface CheckReport {
  checks: CheckResult[];
  /** Can VMs run: yes, slow (TCG), no. */
  verdict: Verdict;
  /** The accelerator VMs would use; undefined when they cannot run. */
  accel: Accelerator | undefined;
  /** 0 when VMs can run (yes or slow), 1 otherwise. */
  exitCode: 0 | 1;
  /** The configuration file the checks followed (undefined: built-in defaults). */
  configSource: string | undefined;
}

async function accessible(path: string, mode: number): Promise<string | undefined> {
  try {
    await access(path, mode);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

/** The first line of `<binary> --version`, or undefined. */
function versionLine(binary: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(binary, ['--version'], { timeout: 10_000 }, (err, stdout) => {
      resolve(err ? undefined : String(stdout).split('\n')[0]?.trim() || undefined);
    });
  });
}

function checkQemu(qemu: QemuFacts): CheckResult {
  if (qemu.error !== undefined) return { name: 'qemu', ok: false, required: true, detail: `cannot run QEMU: ${qemu.error}` };
  const what = qemu.versionLine ?? `QEMU (version unknown)`;
  return { name: 'qemu', ok: qemu.version !== undefined, required: true, detail: `${qemu.path}: ${what}` };
}

function hasDevices(qemu: QemuFacts, names: string[]): string | undefined {
  if (qemu.error !== undefined) return 'QEMU cannot be run';
  const missing = names.filter((n) => !qemu.devices.has(n));
  return missing.length === 0 ? undefined : `QEMU has no ${missing.join(', ')} device`;
}

async function checkVirtioFs(config: RuntimeConfig, qemu: QemuFacts): Promise<CheckResult> {
  const required = config.qemu.sharedFs === 'virtio-fs';
  const daemon = config.qemu.virtioFsDaemon;
  const notExec = await accessible(daemon, fsConstants.X_OK);
  if (notExec !== undefined) return { name: 'virtio-fs', ok: false, required, detail: `virtiofsd ${daemon} is not executable (${notExec})` };
  const noDevice = hasDevices(qemu, ['vhost-user-fs-pci']);
  if (noDevice !== undefined) return { name: 'virtio-fs', ok: false, required, detail: noDevice };
  const version = await versionLine(daemon);
  return { name: 'virtio-fs', ok: true, required, detail: `${daemon}${version ? `: ${version}` : ''}` };
}

function check9p(config: RuntimeConfig, qemu: QemuFacts): CheckResult {
  const required = config.qemu.sharedFs === 'virtio-9p';
  const noDevice = hasDevices(qemu, ['virtio-9p-pci']);
  return { name: '9p', ok: noDevice === undefined, required, detail: noDevice ?? 'QEMU has virtio-9p-pci' };
}

async function checkVsock(qemu: QemuFacts): Promise<CheckResult> {
  const unusable = await accessible(VHOST_VSOCK_DEVICE, fsConstants.R_OK | fsConstants.W_OK);
  if (unusable !== undefined) {
    return { name: 'vhost-vsock', ok: false, required: false, detail: `${VHOST_VSOCK_DEVICE} is not usable (${unusable}); the agent channel is virtio-serial` };
  }
  const noDevice = hasDevices(qemu, ['vhost-vsock-pci']);
  return { name: 'vhost-vsock', ok: noDevice === undefined, required: false, detail: noDevice ?? `${VHOST_VSOCK_DEVICE} and QEMU's vhost-vsock-pci` };
}

function checkImage(image: ImageFacts): CheckResult {
  const missing = [image.kernel, image.initrd].filter((f) => !f.present).map((f) => f.path);
  if (missing.length > 0) {
    return { name: 'guest-image', ok: false, required: true, detail: `missing or unreadable: ${missing.join(', ')} (build it with kata-ts-image build)` };
  }
  const m = image.manifest;
  const about = m ? `kernel ${m.kernelRelease}, built ${m.builtAt}` : 'no manifest.json beside the kernel';
  return { name: 'guest-image', ok: true, required: true, detail: `${image.kernel.path}, ${image.initrd.path} (${about})` };
}

/** The verdict and accelerator for a set of checks (pure). */
export function decideVerdict(checks: readonly CheckResult[], kvmUsed: boolean): { verdict: Verdict; accel: Accelerator | undefined } {
  if (checks.some((c) => c.required && !c.ok)) return { verdict: 'no', accel: undefined };
  return kvmUsed ? { verdict: 'yes', accel: 'kvm' } : { verdict: 'slow', accel: 'tcg' };
}

/** Runs every check for `config` on this host. */
export async function runChecks(config: RuntimeConfig): Promise<CheckReport> {
  const qemu = await queryQemu(config.qemu.path);
  const [kvmProblem, virtioFs, vsock, image] = await Promise.all([
    qemu.error !== undefined ? Promise.resolve(`not probed: ${qemu.error}`) : probeKvm(config.qemu.path),
    checkVirtioFs(config, qemu),
    checkVsock(qemu),
    readImageFacts(config),
  ]);

  const choice = config.qemu.accel;
  const kvmUsed = kvmProblem === undefined && choice !== 'tcg';
  const kvm: CheckResult = {
    name: 'kvm',
    ok: kvmProblem === undefined,
    required: choice === 'kvm',
    detail: (kvmProblem === undefined ? `${KVM_DEVICE} works` : kvmProblem) + (choice === 'tcg' ? ' (not used: accel = "tcg")' : ''),
  };
  const tcgAvailable = qemu.accelerators.includes('tcg');
  const tcg: CheckResult = {
    name: 'tcg',
    ok: tcgAvailable,
    required: !kvmUsed && choice !== 'kvm',
    detail: tcgAvailable ? `QEMU offers TCG emulation${kvmUsed ? ' (not needed: KVM works)' : ''}` : `QEMU has no TCG (accelerators: ${qemu.accelerators.join(', ') || 'unknown'})`,
  };
  const noSerial = hasDevices(qemu, ['virtio-serial-pci', 'virtserialport']);
  const serial: CheckResult = {
    name: 'virtio-serial',
    ok: noSerial === undefined,
    required: true,
    detail: noSerial ?? 'QEMU has virtio-serial-pci and virtserialport (the agent channel)',
  };

  const checks = [checkQemu(qemu), kvm, tcg, serial, virtioFs, check9p(config, qemu), vsock, checkImage(image)];
  const { verdict, accel } = decideVerdict(checks, kvmUsed);
  return { checks, verdict, accel, exitCode: verdict === 'no' ? 1 : 0, configSource: config.source };
}

const VERDICT_TEXT: Record<Verdict, string> = {
  yes: 'yes: VMs run with KVM',
  slow: 'slow: VMs run under TCG emulation (no usable KVM, or accel = "tcg")',
  no: 'no: VMs cannot run here (see the failed required checks)',
};

/** The report as text: one line per check, then the verdict. */
export function formatCheckReport(report: CheckReport): string {
  const lines = [`configuration: ${report.configSource ?? 'built-in defaults'}`];
  for (const c of report.checks) {
    const mark = c.ok ? 'ok  ' : c.required ? 'FAIL' : 'no  ';
    lines.push(`[${mark}] ${c.name}${c.required ? '' : ' (optional)'}: ${c.detail}`);
  }
  lines.push(`can run VMs: ${VERDICT_TEXT[report.verdict]}`);
  return `${lines.join('\n')}\n`;
}
