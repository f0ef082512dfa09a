import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseAccelerator, probeFirmware } from '../../../src/runtime/qemu/accel.js';
import { QEMU, qemuMissing } from '../helpers.js';

test('the probe firmware: 64 KiB, the probe code at the reset vector', () => {
  const fw = probeFirmware();
  assert.equal(fw.length, 65536);
  assert.deepEqual([...fw.subarray(65536 - 16, 65536 - 9)], [0xb0, 0x2a, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd]);
});

test('the probe firmware really runs: under TCG QEMU exits with status 85', { skip: qemuMissing() }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kata-ts-accel-'));
  try {
    await writeFile(join(dir, 'fw.bin'), probeFirmware());
    const res = spawnSync(QEMU, ['-accel', 'tcg', '-M', 'q35', '-m', '16', '-nodefaults', '-no-user-config', '-display', 'none', '-bios', join(dir, 'fw.bin'), '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'], { timeout: 20_000 });
    assert.equal(res.status, 85);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('accel = "tcg" needs no probe; "auto" falls back to TCG with the reason; "kvm" fails when KVM cannot run', async () => {
  assert.deepEqual(await chooseAccelerator('/nonexistent/qemu', 'tcg'), { accel: 'tcg', reason: 'configured (accel = "tcg")' });
  // A QEMU that cannot even start makes KVM unusable, whatever /dev/kvm says.
  const auto = await chooseAccelerator('/nonexistent/qemu', 'auto');
  assert.equal(auto.accel, 'tcg');
  assert.match(auto.reason, /KVM unavailable, using TCG emulation: (\/dev\/kvm is not usable|a test VM under KVM did not run)/);
  await assert.rejects(chooseAccelerator('/nonexistent/qemu', 'kvm'), /accel = "kvm" but KVM cannot be used/);
});
