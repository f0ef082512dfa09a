// The agent's V8 startup snapshot, made in the guest.
//
// Starting the agent means evaluating its whole bundle (protobuf descriptors,
// zod schemas, pino, commander...), which takes seconds under TCG. Node can
// instead start from a snapshot of the heap taken once those modules are
// evaluated (`node --snapshot-blob agent.blob --build-snapshot agent.cjs`,
// see agent-entry.ts): /init then runs `node --snapshot-blob agent.blob --
// ARGS` (init-script.ts).
//
// node accepts a snapshot only from the same node binary, V8 flags and CPU
// features (what CPUID reports: AVX2, shadow stacks...). A guest under TCG
// sees QEMU's "max" CPU, not the host's, so a snapshot made on the host is
// refused there. The builder therefore boots the image once under TCG with
// the CPU model the runtime gives TCG guests, with /init replaced by a
// script that builds the snapshot and copies it out through a 9p share, then
// adds the snapshot to the image. Under KVM the guest sees the host's CPU:
// node refuses the snapshot (exit status 14, before running anything) and
// /init starts the agent from its script, as without a snapshot.
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CPU_MODEL } from '../runtime/qemu/accel.js';
import { scriptFileOf, snapshotBuildArgs } from './agent-bundle.js';
import { runText } from './command.js';
import { ImageBuildError } from './errors.js';
import { GUEST_AGENT_BUNDLE, GUEST_AGENT_DIR, GUEST_LATE_MODULE_LIST, GUEST_MODULE_LIST, GUEST_NODE } from './guest-rootfs.js';
import { sha256File } from './hashing.js';
import { writeNewcCpio } from './initrd-cpio.js';
import { shellQuote } from './init-script.js';
import { timed, type Progress } from './progress.js';
import { layoutToCpio, type RootfsLayout } from './rootfs-layout.js';

/** The 9p mount tag the snapshot comes out through. */
const SHARE_TAG = 'kataTsSnapshot';
/** Files the build VM writes into the share. */
const SHARE_FILES = { blob: 'agent.blob', log: 'build.log', status: 'status' } as const;
/** The build VM: TCG, as the runtime without KVM; the memory is the runtime's default. */
const VM_MEMORY_MIB = 512;
/** Booting and building take about 20 s on an idle 2-core host; leave room for a busy one. */
const VM_TIMEOUT_MS = 600_000;

export type SnapshotRecord =
  | { built: true; bytes: number; sha256: string; accel: 'tcg'; cpu: string; qemu: string; seconds: number }
  | { built: false; reason: string };

export interface MadeSnapshot {
  record: SnapshotRecord;
  /** The snapshot on the host, when built. */
  blob?: string;
}

/**
 * The build VM's /init: loads the modules (9p is among the late ones),
 * mounts the share, builds the snapshot in the agent's directory (modules
 * that find files from their own place keep the guest's paths), copies it
 * out, writes the status last (node's, or 1 if the copy failed), and
 * powers off.
 */
export function renderSnapshotInit(): string {
  const share = '/mnt/snapshot';
  const tmpBlob = '/tmp/agent.blob';
  const build = [GUEST_NODE, ...snapshotBuildArgs(scriptFileOf(GUEST_AGENT_BUNDLE), tmpBlob)].map(shellQuote).join(' ');
  return `#!/bin/sh
# kata-ts: builds the agent's startup snapshot (written by kata-ts-image for its build VM only).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
for list in ${shellQuote(GUEST_MODULE_LIST)} ${shellQuote(GUEST_LATE_MODULE_LIST)}; do
  while read -r module; do
    [ -n "$module" ] && insmod "$module"
  done < "$list"
done
mkdir -p ${share}
if mount -t 9p -o trans=virtio,version=9p2000.L ${SHARE_TAG} ${share}; then
  cd ${shellQuote(GUEST_AGENT_DIR)} && ${build} > ${share}/${SHARE_FILES.log} 2>&1
  status=$?
  if [ "$status" -eq 0 ] && ! cp ${tmpBlob} ${share}/${SHARE_FILES.blob}; then
    echo "kata-ts-snapshot: cannot copy the snapshot out" >> ${share}/${SHARE_FILES.log}
    status=1
  fi
  echo "$status" > ${share}/${SHARE_FILES.status}
  cd /
  umount ${share}
else
  echo "kata-ts-snapshot: cannot mount the ${SHARE_TAG} share"
fi
poweroff -f
`;
}

/**
 * Builds the agent's startup snapshot for the guest whose files are
 * `layout` (with `kernel`, the vmlinux), by booting it under TCG in `qemu`.
 * Without QEMU there is no snapshot (the agent then starts from its script);
 * a snapshot that fails to build is an error.
 */
export async function makeAgentSnapshot(opts: {
  layout: RootfsLayout;
  kernel: string;
  qemu: string;
  workDir: string;
  progress: Progress;
}): Promise<MadeSnapshot> {
  const { layout, kernel, qemu, progress } = opts;
  try {
    await access(qemu, fsConstants.X_OK);
  } catch {
    const reason = `${qemu} is not installed: the agent starts from its script (slower under TCG)`;
    progress(`no startup snapshot: ${reason}`);
    return { record: { built: false, reason } };
  }
  const dir = join(opts.workDir, 'snapshot-vm');
  const share = join(dir, 'share');
  await mkdir(share, { recursive: true });
  const initrd = join(dir, 'initrd.img');
  const entries = layoutToCpio(layout.entries()).map((e) => (e.name === 'init' ? { ...e, body: Buffer.from(renderSnapshotInit()) } : e));
  await writeNewcCpio(entries, initrd);

  const started = performance.now();
  const consoleLog = join(dir, 'console.log');
  await timed(progress, "building the agent's startup snapshot in a VM (TCG)", () =>
    runVm(qemu, [
      '-machine', 'q35,accel=tcg', '-cpu', CPU_MODEL.tcg, '-smp', '1', '-m', `${VM_MEMORY_MIB}M`,
      '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
      '-kernel', kernel, '-initrd', initrd,
      '-append', 'console=ttyS0 quiet panic=-1 cryptomgr.notests',
      '-serial', `file:${consoleLog}`,
      '-fsdev', `local,id=snapshot,path=${share.replaceAll(',', ',,')},security_model=none`,
      '-device', `virtio-9p-pci,fsdev=snapshot,mount_tag=${SHARE_TAG}`,
    ], consoleLog),
  );
  const seconds = Math.round(performance.now() - started) / 1000;

  const status = (await readFile(join(share, SHARE_FILES.status), 'utf8').catch(() => '')).trim();
  if (status !== '0') {
    const log = await tail(join(share, SHARE_FILES.log));
    const guestConsole = await tail(consoleLog);
    throw new ImageBuildError(
      `building the agent's startup snapshot in the VM failed (${status === '' ? 'it did not finish' : `node exited with status ${status}`}): ` +
        `${log || '(no output)'}${guestConsole ? `\nguest console:\n${guestConsole}` : ''}`,
    );
  }
  const blob = join(share, SHARE_FILES.blob);
  const version = (await runText(qemu, ['--version'])).split('\n')[0]!.trim();
  return {
    blob,
    record: { built: true, bytes: (await stat(blob)).size, sha256: await sha256File(blob), accel: 'tcg', cpu: CPU_MODEL.tcg, qemu: version, seconds },
  };
}

/** Runs QEMU until it exits (the guest powers off); kills it after VM_TIMEOUT_MS. */
function runVm(qemu: string, args: string[], consoleLog: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(qemu, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, VM_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new ImageBuildError(`cannot run ${qemu}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve();
        return;
      }
      void tail(consoleLog).then((guestConsole) => {
        const how = timedOut ? `did not finish within ${VM_TIMEOUT_MS / 1000} s` : signal ? `was killed by ${signal}` : `exited with status ${code}`;
        reject(new ImageBuildError(`the snapshot build VM ${how}${stderr.trim() ? `; QEMU said: ${stderr.trim()}` : ''}${guestConsole ? `\nguest console:\n${guestConsole}` : ''}`));
      });
    });
  });
}

/** The last lines of a text file, or '' if it cannot be read. */
async function tail(path: string, lines = 15): Promise<string> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return '';
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 16 * 1024);
    const buf = Buffer.alloc(length);
    await handle.read(buf, 0, length, size - length);
    return buf.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } finally {
    await handle.close();
  }
}
