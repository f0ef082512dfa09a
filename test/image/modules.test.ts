// Module load order and signature stripping: the pure parts with made-up
// input, then the real kernel package's modules as the image gets them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GUEST_MODULES,
  mergeLoadSequences,
  moduleNameOfPath,
  modulesDir,
  parseBuiltinModules,
  parseShowDepends,
  splitEarlyModules,
  stripModuleSignature,
} from '../../src/image/modules.js';
import { prepareKernelStage } from '../../src/image/kernel-stage.js';
import { kernelStageBuilderKey } from '../../src/image/build.js';
import { defaultCacheDir } from '../../src/image/paths.js';
import { silentProgress } from '../../src/image/progress.js';
import { fileFromDeb, kernelPackage, releaseOf } from './kernel-package.js';

const MAGIC = Buffer.from('~Module signature appended~\n');

function signed(module: Buffer, sig: Buffer, signer = Buffer.alloc(0), keyId = Buffer.alloc(0)): Buffer {
  const info = Buffer.alloc(12);
  info[0] = 0; // algo
  info[2] = 2; // PKEY_ID_PKCS7
  info[3] = signer.length;
  info[4] = keyId.length;
  info.writeUInt32BE(sig.length, 8);
  return Buffer.concat([module, signer, keyId, sig, info, MAGIC]);
}

function modinfo(field: string, file: string): string {
  const res = spawnSync('modinfo', ['-F', field, file], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout.trim();
}

describe('module load order (pure)', () => {
  test('parseShowDepends reads insmod and builtin lines, and refuses anything else', () => {
    const text = 'insmod /m/kernel/fs/fuse/fuse.ko \ninsmod /m/kernel/fs/fuse/virtiofs.ko opt=1\nbuiltin crc32c-generic\n';
    assert.deepEqual(parseShowDepends(text), [
      { kind: 'insmod', path: '/m/kernel/fs/fuse/fuse.ko' },
      { kind: 'insmod', path: '/m/kernel/fs/fuse/virtiofs.ko' },
      { kind: 'builtin', name: 'crc32c_generic' },
    ]);
    assert.throws(() => parseShowDepends('modprobe: FATAL: oops\n'), /unexpected modprobe --show-depends line/);
  });

  test('merging keeps each module at its first position, dependencies before dependents', () => {
    const plan = mergeLoadSequences([
      [{ kind: 'insmod', path: 'virtio_ring.ko' }, { kind: 'insmod', path: 'virtio.ko' }, { kind: 'insmod', path: 'virtio_pci.ko' }],
      [{ kind: 'insmod', path: 'virtio_ring.ko' }, { kind: 'insmod', path: 'virtio.ko' }, { kind: 'insmod', path: 'virtio_blk.ko' }],
      [{ kind: 'builtin', name: 'ext4' }, { kind: 'builtin', name: 'ext4' }],
    ]);
    assert.deepEqual(plan, { files: ['virtio_ring.ko', 'virtio.ko', 'virtio_pci.ko', 'virtio_blk.ko'], builtin: ['ext4'] });
  });

  test('module names from paths and modules.builtin treat - and _ alike', () => {
    assert.equal(moduleNameOfPath('kernel/arch/x86/crypto/crc32c-intel.ko.xz'), 'crc32c_intel');
    assert.equal(moduleNameOfPath('kernel/fs/ext4/ext4.ko'), 'ext4');
    assert.deepEqual([...parseBuiltinModules('kernel/fs/ext4/ext4.ko\nkernel/lib/crc-t10dif.ko\n\n')], ['ext4', 'crc_t10dif']);
  });
});

describe('module signatures', () => {
  test('the appended signature is cut off exactly; unsigned modules are unchanged', () => {
    const module = Buffer.from('\x7fELF module body ...');
    const withSig = signed(module, Buffer.alloc(300, 0xab), Buffer.from('signer'), Buffer.from('kid'));
    const out = stripModuleSignature(withSig);
    assert.equal(out.stripped, true);
    assert.ok(out.data.equals(module));
    const plain = stripModuleSignature(module);
    assert.equal(plain.stripped, false);
    assert.equal(plain.data, module);
  });

  test('a trailer claiming more bytes than the file has is an error', () => {
    const bad = signed(Buffer.from('tiny'), Buffer.alloc(10));
    bad.writeUInt32BE(10_000, bad.length - MAGIC.length - 4);
    assert.throws(() => stripModuleSignature(bad), /claims 10000 bytes/);
  });

  test("a real Debian module: modinfo sees the signer before stripping and none after", async () => {
    const { pkg, deb } = await kernelPackage();
    const original = fileFromDeb(deb, `./lib/modules/${releaseOf(pkg)}/kernel/fs/fuse/fuse.ko`);
    const dir = mkdtempSync(join(tmpdir(), 'kata-mod-'));
    try {
      writeFileSync(join(dir, 'signed.ko'), original);
      const { data, stripped } = stripModuleSignature(original);
      assert.equal(stripped, true);
      assert.ok(original.subarray(0, data.length).equals(data), 'the stripped module is a prefix of the signed one');
      writeFileSync(join(dir, 'fuse.ko'), data);
      assert.notEqual(modinfo('signer', join(dir, 'signed.ko')), '');
      assert.equal(modinfo('signer', join(dir, 'fuse.ko')), '');
      assert.equal(modinfo('name', join(dir, 'fuse.ko')), 'fuse');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the guest's modules from Debian's kernel", () => {
  test('every wanted module is loaded or built in, each after all of its dependencies, unsigned', async () => {
    const { pkg } = await kernelPackage();
    const stage = await prepareKernelStage({
      cacheDir: defaultCacheDir(),
      kernelPackage: pkg,
      modules: [...GUEST_MODULES],
      builderKey: await kernelStageBuilderKey(),
      progress: silentProgress,
    });
    const { loadOrder, builtin } = stage.modules;
    const root = stage.modulesRoot;
    const loaded = loadOrder.map((p) => moduleNameOfPath(p));
    assert.equal(new Set(loaded).size, loaded.length, 'no module twice');
    for (const wanted of GUEST_MODULES) {
      assert.ok(loaded.includes(wanted) || builtin.includes(wanted), `${wanted} is loaded or built in`);
    }
    for (const [i, guestPath] of loadOrder.entries()) {
      const file = join(root, guestPath);
      const deps = modinfo('depends', file).split(',').filter(Boolean).map((d) => d.replace(/-/g, '_'));
      for (const dep of deps) {
        const at = loaded.indexOf(dep);
        assert.ok((at >= 0 && at < i) || builtin.includes(dep), `${loaded[i]} needs ${dep}, which must come first`);
      }
      assert.equal(modinfo('signer', file), '', `${loaded[i]} is unsigned`);
    }
    // depmod indexed the guest's subset, so modprobe works in the guest too.
    const dep = readFileSync(join(modulesDir(root, stage.release), 'modules.dep'), 'utf8');
    assert.match(dep, /^kernel\/fs\/ext4\/ext4\.ko:.*kernel\/fs\/jbd2\/jbd2\.ko/m);
    assert.doesNotMatch(dep, /kernel\/sound\//, 'only the staged modules are indexed');
  });
});

describe('splitEarlyModules', () => {
  const dep = [
    'kernel/drivers/virtio/virtio_ring.ko:',
    'kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko',
    'kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
    'kernel/drivers/char/virtio_console.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
    'kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
    'kernel/fs/jbd2/jbd2.ko:',
    'kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko',
    '',
  ].join('\n');
  const order = ['virtio_ring', 'virtio', 'virtio_pci', 'virtio_blk', 'virtio_console', 'jbd2', 'ext4'].map((n) => `/lib/modules/6.1/kernel/x/${n}.ko`);

  test('the early modules and their dependencies, in load order; the rest late', () => {
    const { early, late } = splitEarlyModules(order, dep, ['virtio_pci', 'virtio-console']);
    assert.deepEqual(early.map(moduleNameOfPath), ['virtio_ring', 'virtio', 'virtio_pci', 'virtio_console']);
    assert.deepEqual(late.map(moduleNameOfPath), ['virtio_blk', 'jbd2', 'ext4']);
  });

  test('an early module that is not in the load order (built in) adds nothing', () => {
    const { early, late } = splitEarlyModules(order, dep, ['vmw_vsock_virtio_transport']);
    assert.deepEqual(early, []);
    assert.deepEqual(late, order);
  });
});
