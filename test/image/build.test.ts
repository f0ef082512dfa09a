// Whole builds into a temporary image directory (the download and kernel
// stage cache is the builder's usual one): the outputs and manifest, "up to
// date" the second time, and a rebuild when an input or the configuration
// changes. The builds read a private copy of the checkout's sources, so that
// edits elsewhere in the tree cannot change the inputs between builds, and
// so that the test can change one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildImage } from '../../src/image/build.js';
import { NATIVE_ADDON } from '../../src/image/agent-bundle.js';
import { defaultImageConfig } from '../../src/image/image-config.js';
import { hasPvhNote } from '../../src/image/elf.js';
import { sha256 } from '../../src/image/hashing.js';
import { defaultImageDir, imagePaths, repoRoot } from '../../src/image/paths.js';

/** A copy of what a build reads from the checkout (node_modules linked, not copied). */
function snapshotCheckout(dir: string): string {
  const root = join(dir, 'checkout');
  const real = repoRoot();
  cpSync(join(real, 'src'), join(root, 'src'), { recursive: true });
  copyFileSync(join(real, 'package.json'), join(root, 'package.json'));
  mkdirSync(dirname(join(root, NATIVE_ADDON)), { recursive: true });
  copyFileSync(join(real, NATIVE_ADDON), join(root, NATIVE_ADDON));
  symlinkSync(join(real, 'node_modules'), join(root, 'node_modules'));
  return root;
}

function cpioList(initrd: string): string[] {
  const res = spawnSync('cpio', ['-it', '--quiet', '-F', initrd], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout.trim().split('\n');
}

function cpioMember(initrd: string, name: string): string {
  const res = spawnSync('cpio', ['-i', '--quiet', '--to-stdout', '-F', initrd, name], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout;
}

describe('kata-ts-image build', () => {
  test('the default image directory is .cache/image in the checkout', () => {
    assert.equal(defaultImageDir(), join(repoRoot(), '.cache', 'image'));
  });

  test('outputs and manifest; up to date the second time; a changed input or configuration rebuilds', { timeout: 600_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-image-'));
    try {
      const root = snapshotCheckout(dir);
      const out = join(dir, 'image');
      // An extra host program we can change: a copy of /usr/bin/true.
      const tool = join(dir, 'tool');
      copyFileSync('/usr/bin/true', tool);
      const base = defaultImageConfig();
      // No startup snapshot here (it boots the image, about 20 s a build): boot.test.ts checks it on the default image.
      const config = { programs: [...base.programs, { path: tool }], startupSnapshot: false };
      const lines: string[] = [];
      const progress = (l: string) => lines.push(l);
      const build = (extra: { agentArgs?: string[]; force?: boolean } = {}) =>
        buildImage({ root, outDir: out, config: { ...config, agentArgs: extra.agentArgs ?? [] }, force: extra.force, progress });

      const first = await build();
      assert.equal(first.upToDate, false);
      assert.ok(lines.some((l) => /^packing initrd\.img: done/.test(l)), lines.join('\n'));
      const paths = imagePaths(out);
      const m = first.manifest;

      // Outputs, as the manifest describes them.
      const initrd = readFileSync(paths.initrd);
      assert.equal(m.outputs['initrd.img']!.sha256, sha256(initrd));
      assert.equal(m.outputs['initrd.img']!.bytes, initrd.length);
      const vmlinux = readFileSync(paths.kernel);
      assert.ok(hasPvhNote(vmlinux), 'vmlinux carries the PVH note');
      assert.equal(m.outputs.vmlinux!.sha256, sha256(vmlinux));
      assert.equal(readFileSync(paths.kernelVersion, 'utf8'), `${m.kernel.release}\n`);
      assert.equal(m.kernel.package.name, `linux-image-${m.kernel.release}`);
      assert.deepEqual(JSON.parse(readFileSync(paths.manifest, 'utf8')), JSON.parse(JSON.stringify(m)));

      // What went in.
      const inputs = m.inputs.files.map((f) => f.path);
      for (const p of ['src/agent/main.ts', 'src/image/init-script.ts', 'package.json', NATIVE_ADDON, '/usr/bin/node', tool]) {
        assert.ok(inputs.includes(p), `${p} is an input`);
      }
      assert.ok(inputs.some((p) => p.startsWith('node_modules/pino/')), 'bundled npm files are inputs');
      assert.ok(m.inputs.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256)), 'every input hashed');
      const debs = m.debianPackages.map((p) => p.name);
      for (const p of ['nodejs', 'crun', 'runc', 'iproute2', 'busybox-static', 'libc6']) assert.ok(debs.includes(p), `${p} listed`);
      assert.ok(m.npmPackages.some((p) => p.name === 'pino'));
      assert.ok(m.modules.loadOrder.length >= GUEST_MODULE_MINIMUM);

      // What the initramfs holds.
      const members = new Set(cpioList(paths.initrd));
      for (const name of [
        'init',
        'dev/console',
        'usr/bin/node',
        'usr/bin/crun',
        'usr/sbin/runc',
        'usr/sbin/ip',
        'usr/bin/busybox',
        'usr/bin/sh',
        'usr/lib64/ld-linux-x86-64.so.2',
        'usr/lib/x86_64-linux-gnu/libc.so.6',
        'opt/kata-ts/agent.mjs',
        'opt/kata-ts/agent.cjs',
        'opt/kata-ts/agent.cjs.cache',
        'etc/kata-ts/modules-late.load',
        'opt/kata-ts/package.json',
        'opt/kata-ts/native/build/Release/kata_native.node',
        'etc/kata-ts/modules.load',
        `usr/lib/modules/${m.kernel.release}/modules.dep`,
        'bin',
        'lib64',
        tool.slice(1),
      ]) {
        assert.ok(members.has(name), `${name} in the initramfs`);
      }
      const early = cpioMember(paths.initrd, 'etc/kata-ts/modules.load').trim().split('\n');
      const late = cpioMember(paths.initrd, 'etc/kata-ts/modules-late.load').trim().split('\n');
      assert.ok(early.some((mod) => mod.endsWith('/virtio_console.ko')), 'the agent channel driver loads early');
      assert.ok(late.some((mod) => mod.endsWith('/ext4.ko')), 'filesystems load late');
      const moduleList = [...early, ...late];
      assert.deepEqual([...moduleList].sort(), [...m.modules.loadOrder].sort(), 'every module once, in one of the lists');
      for (const mod of moduleList) assert.ok(members.has(`usr${mod}`), `${mod} present`);
      const init = cpioMember(paths.initrd, 'init');
      assert.equal(spawnSync('busybox', ['sh', '-n'], { input: init }).status, 0, 'init is valid shell');
      assert.ok(!members.has('opt/kata-ts/agent.blob'), 'no startup snapshot when the configuration says so');
      assert.doesNotMatch(init, /--snapshot-blob/);
      assert.deepEqual(m.startupSnapshot, { built: false, reason: 'startupSnapshot is off in the configuration' });
      assert.ok(!inputs.includes(defaultImageConfig().qemu), 'QEMU is no input when it makes no snapshot');

      // Same inputs: nothing to do.
      lines.length = 0;
      const second = await build();
      assert.equal(second.upToDate, true);
      assert.deepEqual(lines, [`up to date: ${out}`]);
      assert.equal(second.manifest.inputKey, m.inputKey);

      // A different configuration rebuilds.
      const third = await build({ agentArgs: ['--log-level', 'debug'] });
      assert.equal(third.upToDate, false);
      assert.notEqual(third.manifest.inputKey, m.inputKey);
      assert.match(cpioMember(paths.initrd, 'init'), /^set -- --log-level debug$/m);
      assert.equal((await build({ agentArgs: ['--log-level', 'debug'] })).upToDate, true);

      // A changed source file of the agent rebuilds, and the bundle has the
      // change (a legal comment, which esbuild keeps) in the script the loader runs.
      appendFileSync(join(root, 'src/agent/config.ts'), '\n/*! changed-by-the-build-test */\n');
      const fourth = await build({ agentArgs: ['--log-level', 'debug'] });
      assert.equal(fourth.upToDate, false);
      const hashOf = (r: typeof m, p: string) => r.inputs.files.find((f) => f.path === p)!.sha256;
      assert.notEqual(hashOf(fourth.manifest, 'src/agent/config.ts'), hashOf(third.manifest, 'src/agent/config.ts'));
      assert.match(cpioMember(paths.initrd, 'opt/kata-ts/agent.cjs'), /changed-by-the-build-test/);

      // A changed host file rebuilds.
      appendFileSync(tool, Buffer.from('changed'));
      const fifth = await build({ agentArgs: ['--log-level', 'debug'] });
      assert.equal(fifth.upToDate, false);
      assert.notEqual(hashOf(fifth.manifest, tool), hashOf(fourth.manifest, tool));

      // --force builds anyway.
      assert.equal((await build({ agentArgs: ['--log-level', 'debug'], force: true })).upToDate, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The guest modules plus a handful of dependencies at the very least. */
const GUEST_MODULE_MINIMUM = 14;
