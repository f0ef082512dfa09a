import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseAccelHelp, parseDeviceHelp, parseQemuVersion, queryQemu } from '../../../src/runtime/oci/qemu-facts.js';
import { QEMU, qemuMissing } from '../helpers.js';

test('parsing QEMU\'s answers', () => {
  assert.equal(parseQemuVersion('QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)\nCopyright ...'), '7.2.22');
  assert.equal(parseQemuVersion('QEMU emulator version 8.0\n'), '8.0');
  assert.equal(parseQemuVersion('something else'), undefined);
  assert.deepEqual(parseAccelHelp('Accelerators supported in QEMU binary:\ntcg\nkvm\n'), ['tcg', 'kvm']);
  const devices = parseDeviceHelp('Storage devices:\nname "virtio-9p-pci", bus PCI, alias "virtio-9p"\nname "virtserialport", bus virtio-serial-bus\n');
  assert.deepEqual([...devices].sort(), ['virtio-9p', 'virtio-9p-pci', 'virtserialport']);
});

test('asking the installed QEMU: the same answers as running it by hand', { skip: qemuMissing() }, async () => {
  const facts = await queryQemu(QEMU);
  assert.equal(facts.error, undefined);
  const version = spawnSync(QEMU, ['--version'], { encoding: 'utf8' }).stdout;
  assert.equal(facts.versionLine, version.split('\n')[0]);
  const accel = spawnSync(QEMU, ['-accel', 'help'], { encoding: 'utf8' }).stdout;
  assert.deepEqual(facts.accelerators, accel.trim().split('\n').slice(1).map((l) => l.trim()));
  const devices = spawnSync(QEMU, ['-device', 'help'], { encoding: 'utf8' }).stdout;
  const named = devices.split('\n').filter((l) => l.startsWith('name "')).length;
  assert.ok(facts.devices.size >= named && named > 0);
  assert.ok(facts.devices.has('virtio-serial-pci'));
});
