// Shared fixtures for the runtime's tests: what the machine has (QEMU, the
// guest image), a tiny initrd whose init never starts an agent, raw disk
// images, and a check that a sandbox left nothing running.
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultImageDir, imagePaths } from '../../src/image/paths.js';
import { S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG, writeNewcCpio, type CpioEntry } from '../../src/image/initrd-cpio.js';
import { findBusybox } from '../helpers/busybox-rootfs.js';

export const QEMU = '/usr/bin/qemu-system-x86_64';

/** Why VM tests cannot run here, or undefined when QEMU is installed. */
export function qemuMissing(): string | undefined {
  return existsSync(QEMU) ? undefined : `${QEMU} not installed (package qemu-system-x86)`;
}

/** The guest image built by `bin/kata-ts-image build`. */
export const IMAGE = imagePaths(defaultImageDir());

/** Why tests that need the guest image cannot run, or undefined. */
export function imageMissing(): string | undefined {
  return qemuMissing() ?? (existsSync(IMAGE.kernel) && existsSync(IMAGE.initrd) ? undefined : `no guest image in ${defaultImageDir()} (run bin/kata-ts-image build)`);
}

/** Why tests that need only the guest kernel cannot run, or undefined. */
export function kernelMissing(): string | undefined {
  return qemuMissing() ?? (existsSync(IMAGE.kernel) ? undefined : `no guest kernel ${IMAGE.kernel} (run bin/kata-ts-image build)`);
}

/** The line the tiny init prints once it is up. */
export const TINY_INIT_MARKER = 'tiny-init: up, and no agent here';

/**
 * An initrd with busybox and an init that mounts /proc and /sys, prints
 * TINY_INIT_MARKER on the console and then sleeps for ever: a guest that
 * boots but never answers the runtime.
 */
export async function writeTinyInitrd(path: string): Promise<void> {
  const busybox = findBusybox();
  if (!busybox) throw new Error('busybox not found (package busybox-static)');
  const init = [
    '#!/bin/busybox sh',
    '/bin/busybox mount -t proc proc /proc',
    '/bin/busybox mount -t sysfs sysfs /sys',
    `echo "${TINY_INIT_MARKER}"`,
    'while :; do /bin/busybox sleep 3600; done',
    '',
  ].join('\n');
  const entries: CpioEntry[] = [
    { name: 'bin', mode: S_IFDIR | 0o755 },
    { name: 'bin/busybox', mode: S_IFREG | 0o755, body: { path: busybox } },
    { name: 'bin/sh', mode: S_IFLNK | 0o777, body: Buffer.from('busybox') },
    { name: 'dev', mode: S_IFDIR | 0o755 },
    { name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    { name: 'proc', mode: S_IFDIR | 0o755 },
    { name: 'sys', mode: S_IFDIR | 0o755 },
    { name: 'init', mode: S_IFREG | 0o755, body: Buffer.from(init) },
  ];
  await writeNewcCpio(entries, path);
}

/** A raw disk image of `sizeMiB` whose first bytes are `marker`. */
export async function writeRawDisk(path: string, sizeMiB: number, marker: string): Promise<void> {
  const image = Buffer.alloc(sizeMiB << 20);
  image.write(marker, 0, 'latin1');
  await writeFile(path, image);
}

/** Pids of processes whose command line mentions `needle` (e.g. a sandbox's state directory). */
export async function processesMentioning(needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'latin1').catch(() => '');
    if (cmdline.includes(needle)) out.push(Number(name));
  }
  return out;
}

/** Waits (briefly) until no process mentions `needle`; returns those still there. */
export async function waitNoProcessesMentioning(needle: string, timeoutMs = 3000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await processesMentioning(needle);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(50);
  }
}

/** Whether process `pid` still exists. */
export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The names in `dir`, or [] if it is gone. */
export async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

export { join };
