// Choosing the accelerator: KVM when it really works, TCG (emulation) otherwise.
//
// /dev/kvm being present and openable is not enough: under some nested
// hypervisors it opens fine, yet QEMU aborts while setting up the vCPU, or
// the guest dies on its first instructions. So the probe boots a tiny
// machine with the same accelerator and CPU model the VM will use. Its
// "firmware" is seven bytes at the x86 reset vector:
//
//   mov al, 0x2a ; out 0xf4, al ; hlt ; jmp $-1
//
// Writing to the isa-debug-exit port makes QEMU exit with status
// (0x2a << 1) | 1 = 85; any other outcome means KVM is unusable here.
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AcceleratorChoice } from '../config/schema.js';

export type Accelerator = 'kvm' | 'tcg';

export interface AcceleratorDecision {
  accel: Accelerator;
  /** Why this one was chosen (logged). */
  reason: string;
}

export const KVM_DEVICE = '/dev/kvm';
/** The CPU model used with each accelerator (the probe uses the same). */
export const CPU_MODEL: Record<Accelerator, string> = { kvm: 'host', tcg: 'max' };

const PROBE_EXIT_STATUS = (0x2a << 1) | 1;
const PROBE_TIMEOUT_MS = 10_000;
const FIRMWARE_SIZE = 64 * 1024;

export class AcceleratorError extends Error {
  override name = 'AcceleratorError';
}

/** The probe firmware: 64 KiB of hlt, with the probe code at the reset vector (16 bytes from the end). */
export function probeFirmware(): Buffer {
  const image = Buffer.alloc(FIRMWARE_SIZE, 0xf4);
  Buffer.from([0xb0, 0x2a, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd]).copy(image, FIRMWARE_SIZE - 16);
  return image;
}

/** Resolves with undefined when KVM works with `qemuPath`, or with the reason it does not. */
export async function probeKvm(qemuPath: string): Promise<string | undefined> {
  try {
    await access(KVM_DEVICE, fsConstants.R_OK | fsConstants.W_OK);
  } catch (err) {
    return `${KVM_DEVICE} is not usable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  const dir = await mkdtemp(join(tmpdir(), 'kata-ts-kvm-probe-'));
  try {
    const firmware = join(dir, 'probe.bin');
    await writeFile(firmware, probeFirmware());
    const args = [
      '-accel', 'kvm', '-cpu', CPU_MODEL.kvm, '-M', 'q35', '-m', '16',
      '-nodefaults', '-no-user-config', '-display', 'none',
      '-bios', firmware, '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
    ];
    const { status, signal, stderr } = await runProbe(qemuPath, args);
    if (status === PROBE_EXIT_STATUS) return undefined;
    const why = stderr.trim().split('\n').filter((l) => l !== '').slice(-2).join(' / ');
    const how = signal === 'SIGKILL' ? 'timed out' : signal ? `QEMU killed by ${signal}` : `QEMU exit status ${status}`;
    return `a test VM under KVM did not run (${how}${why ? `: ${why}` : ''})`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runProbe(qemuPath: string, args: string[]): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(qemuPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ status: -1, signal: null, stderr: err.message });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code, signal, stderr });
    });
  });
}

const cache = new Map<string, Promise<string | undefined>>();

/**
 * Picks the accelerator for `choice`: "tcg" as asked; "kvm" only if the
 * probe passes (else an error); "auto" KVM if the probe passes, else TCG.
 * The probe runs once per QEMU binary and process.
 */
export async function chooseAccelerator(qemuPath: string, choice: AcceleratorChoice): Promise<AcceleratorDecision> {
  if (choice === 'tcg') return { accel: 'tcg', reason: 'configured (accel = "tcg")' };
  let probe = cache.get(qemuPath);
  if (!probe) {
    probe = probeKvm(qemuPath);
    cache.set(qemuPath, probe);
  }
  const problem = await probe;
  if (problem === undefined) return { accel: 'kvm', reason: `${KVM_DEVICE} works` };
  if (choice === 'kvm') throw new AcceleratorError(`accel = "kvm" but KVM cannot be used: ${problem}`);
  return { accel: 'tcg', reason: `KVM unavailable, using TCG emulation: ${problem}` };
}
