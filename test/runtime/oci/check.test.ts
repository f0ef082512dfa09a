// `check` on this machine: every answer is compared with what the host
// really has (the accelerator probe, QEMU's own --version, the files),
// never with a hard-coded expectation of KVM or TCG.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { constants as fsConstants, accessSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../../src/runtime/config/index.js';
import type { RuntimeConfig } from '../../../src/runtime/config/schema.js';
import { CHECK_NAMES, decideVerdict, formatCheckReport, runChecks, type CheckName, type CheckReport, type CheckResult } from '../../../src/runtime/oci/check.js';
import { probeKvm } from '../../../src/runtime/qemu/accel.js';
import { IMAGE, QEMU, imageMissing, qemuMissing } from '../helpers.js';

function byName(report: CheckReport, name: CheckName): CheckResult {
  const c = report.checks.find((x) => x.name === name);
  assert.ok(c, `no ${name} check`);
  return c;
}

function withQemu(config: RuntimeConfig, qemu: Partial<RuntimeConfig['qemu']>): RuntimeConfig {
  return { ...config, qemu: { ...config.qemu, ...qemu } };
}

function usable(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

describe('kata-ts-runtime check', () => {
  let dir: string;
  let defaults: RuntimeConfig;
  let kvmProblem: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-check-'));
    defaults = resolveConfig({});
    if (!qemuMissing()) kvmProblem = await probeKvm(QEMU);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('with the defaults: the host as it is, and the verdict that follows from it', { skip: imageMissing() }, async () => {
    const report = await runChecks(defaults);
    assert.deepEqual(report.checks.map((c) => c.name), [...CHECK_NAMES]);

    const qemuVersion = spawnSync(QEMU, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]!;
    assert.deepEqual(byName(report, 'qemu'), { name: 'qemu', ok: true, required: true, detail: `${QEMU}: ${qemuVersion}` });

    // KVM: exactly what the accelerator probe says.
    const kvm = byName(report, 'kvm');
    assert.equal(kvm.ok, kvmProblem === undefined);
    assert.equal(kvm.detail, kvmProblem ?? '/dev/kvm works');
    assert.equal(kvm.required, false);

    assert.equal(byName(report, 'tcg').ok, true);
    assert.equal(byName(report, 'virtio-serial').ok, true);
    assert.equal(byName(report, 'virtio-fs').ok, usable(defaults.qemu.virtioFsDaemon, fsConstants.X_OK));
    assert.equal(byName(report, 'virtio-fs').required, true);
    assert.equal(byName(report, '9p').ok, true);
    assert.equal(byName(report, '9p').required, false);
    assert.equal(byName(report, 'vhost-vsock').ok, usable('/dev/vhost-vsock', fsConstants.R_OK | fsConstants.W_OK));
    assert.equal(byName(report, 'vhost-vsock').required, false);
    const image = byName(report, 'guest-image');
    assert.equal(image.ok, true);
    assert.ok(image.detail.startsWith(`${IMAGE.kernel}, ${IMAGE.initrd} (`));

    const expected = kvmProblem === undefined ? 'yes' : 'slow';
    assert.equal(report.verdict, byName(report, 'virtio-fs').ok ? expected : 'no');
    assert.equal(report.exitCode, report.verdict === 'no' ? 1 : 0);
    assert.equal(report.accel, report.verdict === 'yes' ? 'kvm' : report.verdict === 'slow' ? 'tcg' : undefined);
    assert.equal(report.configSource, undefined);

    const text = formatCheckReport(report);
    assert.ok(text.startsWith('configuration: built-in defaults\n'));
    for (const name of CHECK_NAMES) assert.match(text, new RegExp(`^\\[[ a-zA-Z]{4}\\] ${name}( \\(optional\\))?: `, 'm'));
    assert.match(text, new RegExp(`^can run VMs: ${report.verdict}: `, 'm'));
  });

  test('no QEMU: the verdict is no and the exit code 1', async () => {
    const bogus = join(dir, 'no-such-qemu');
    const report = await runChecks(withQemu(defaults, { path: bogus }));
    const qemu = byName(report, 'qemu');
    assert.equal(qemu.ok, false);
    assert.equal(qemu.detail, `cannot run QEMU: ${bogus}: ENOENT`);
    assert.equal(byName(report, 'kvm').ok, false);
    assert.equal(byName(report, 'virtio-serial').ok, false);
    assert.equal(report.verdict, 'no');
    assert.equal(report.accel, undefined);
    assert.equal(report.exitCode, 1);
    assert.match(formatCheckReport(report), /^\[FAIL\] qemu: /m);
  });

  test('no guest image: the verdict is no, naming the missing files', { skip: qemuMissing() }, async () => {
    const kernel = join(dir, 'vmlinux');
    await writeFile(kernel, 'not really a kernel');
    const initrd = join(dir, 'initrd.img');
    const report = await runChecks(withQemu(defaults, { kernel, initrd }));
    const image = byName(report, 'guest-image');
    assert.equal(image.ok, false);
    assert.match(image.detail, new RegExp(`^missing or unreadable: ${initrd} `));
    assert.equal(report.verdict, 'no');
    assert.equal(report.exitCode, 1);
  });

  test('accel = "tcg": slow, whatever KVM can do; accel = "kvm": no unless KVM works', { skip: imageMissing() }, async () => {
    const tcg = await runChecks(withQemu(defaults, { accel: 'tcg' }));
    assert.equal(byName(tcg, 'kvm').ok, kvmProblem === undefined);
    assert.match(byName(tcg, 'kvm').detail, /\(not used: accel = "tcg"\)$/);
    if (!byName(tcg, 'virtio-fs').ok) return; // the verdict would be "no" for another reason
    assert.equal(tcg.verdict, 'slow');
    assert.equal(tcg.exitCode, 0);

    const kvm = await runChecks(withQemu(defaults, { accel: 'kvm' }));
    assert.equal(byName(kvm, 'kvm').required, true);
    assert.equal(kvm.verdict, kvmProblem === undefined ? 'yes' : 'no');
    assert.equal(kvm.exitCode, kvmProblem === undefined ? 0 : 1);
  });

  test('shared_fs = "virtio-9p": virtio-fs becomes optional, 9p required', { skip: imageMissing() }, async () => {
    const report = await runChecks(withQemu(defaults, { sharedFs: 'virtio-9p', virtioFsDaemon: join(dir, 'no-virtiofsd') }));
    const vfs = byName(report, 'virtio-fs');
    assert.deepEqual([vfs.ok, vfs.required], [false, false]);
    assert.match(vfs.detail, /no-virtiofsd is not executable \(ENOENT\)$/);
    assert.equal(byName(report, '9p').required, true);
    assert.notEqual(report.verdict, 'no');
  });

  test('decideVerdict: a failed required check is "no"; otherwise KVM decides', () => {
    const c = (ok: boolean, required: boolean): CheckResult => ({ name: 'qemu', ok, required, detail: '' });
    assert.deepEqual(decideVerdict([c(true, true), c(false, false)], true), { verdict: 'yes', accel: 'kvm' });
    assert.deepEqual(decideVerdict([c(true, true), c(false, false)], false), { verdict: 'slow', accel: 'tcg' });
    assert.deepEqual(decideVerdict([c(false, true)], true), { verdict: 'no', accel: undefined });
  });
});
