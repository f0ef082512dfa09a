import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, resolveConfig } from '../../../src/runtime/config/index.js';
import { collectEnv } from '../../../src/runtime/oci/env.js';
import { upstreamVersion } from '../../../src/runtime/oci/image-facts.js';
import { IMAGE, QEMU, qemuMissing } from '../helpers.js';

describe('kata-ts-runtime env', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-env-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('versions of everything, from the things themselves', { skip: qemuMissing() }, async () => {
    const env = await collectEnv(resolveConfig({}));
    // Plain JSON: nothing is lost in a round trip.
    assert.deepEqual(JSON.parse(JSON.stringify(env)), env);

    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(env.kataTs.version, pkg.version);
    assert.equal(env.agent.version, pkg.version);
    assert.equal(env.agent.apiVersion, '0.0.1');

    const qemuLine = spawnSync(QEMU, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]!;
    assert.equal(env.hypervisor.versionLine, qemuLine);
    assert.ok(env.hypervisor.version !== null && qemuLine.includes(`version ${env.hypervisor.version}`));
    assert.ok(env.hypervisor.accelerators.includes('tcg'));
    assert.equal(env.hypervisor.error, undefined);

    assert.equal(env.host.kernel, release());
    assert.equal(env.config.source, null);
    assert.equal(env.config.qemu.kernel, IMAGE.kernel);

    // The guest's kernel release and OCI runtime, as the image's manifest records them.
    let manifest: { kernel: { release: string }; builtAt: string } | undefined;
    try {
      manifest = JSON.parse(await readFile(IMAGE.manifest, 'utf8')) as typeof manifest;
    } catch {
      manifest = undefined;
    }
    if (manifest) {
      assert.equal(env.image.manifest, IMAGE.manifest);
      assert.equal(env.image.kernelRelease, manifest.kernel.release);
      assert.match(env.image.ociRuntime ?? '', /^(crun|runc)( \S+)?$/);
    } else {
      assert.deepEqual([env.image.manifest, env.image.kernelRelease], [null, null]);
    }
  });

  test('a configuration file: its values and its name; a QEMU that is not there is reported, not thrown', async () => {
    const file = join(dir, 'configuration.toml');
    const qemu = join(dir, 'no-qemu');
    await writeFile(file, `[hypervisor.qemu]\npath = "${qemu}"\ndefault_memory = 768\nkernel = "${join(dir, 'k')}"\ninitrd = "${join(dir, 'i')}"\n`);
    const env = await collectEnv(await loadConfig(file));
    assert.equal(env.config.source, file);
    assert.equal(env.config.qemu.memoryMiB, 768);
    assert.deepEqual([env.hypervisor.path, env.hypervisor.version, env.hypervisor.error], [qemu, null, `${qemu}: ENOENT`]);
    assert.deepEqual(env.image.kernel, { path: join(dir, 'k'), present: false });
    assert.deepEqual([env.image.manifest, env.image.ociRuntime], [null, null]);
  });

  test('upstreamVersion drops the epoch, the Debian revision and repack suffixes', () => {
    assert.equal(upstreamVersion('2.5.4-1+deb12u1'), '2.5.4');
    assert.equal(upstreamVersion('1:1.2.13.dfsg-1'), '1.2.13');
    assert.equal(upstreamVersion('1.1.5+ds1-1+deb12u1'), '1.1.5');
    assert.equal(upstreamVersion('1.8.1-1+deb12u1'), '1.8.1');
    assert.equal(upstreamVersion('6.1.0'), '6.1.0');
  });
});
