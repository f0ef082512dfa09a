// The OCI image layout builder used by the containerd tests: the tarball is
// a self-consistent layout (every blob's name is its digest, the manifest
// and config point at the right blobs) with the names and config asked for.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOciImage, CONTAINERD_IMAGE_NAME, OCI_REF_NAME, ociArchitecture, type OciImage } from '../helpers/oci-image.js';
import { findBusybox } from '../helpers/busybox-rootfs.js';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string };
}

describe('buildOciImage', { skip: findBusybox() ? undefined : 'needs busybox (busybox-static)' }, () => {
  let image: OciImage;
  let out: string;
  const blob = (digest: string) => readFile(join(out, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
  const json = async <T>(digest: string): Promise<T> => JSON.parse((await blob(digest)).toString('utf8')) as T;

  before(async () => {
    image = await buildOciImage({
      name: 'docker.io/library/kata-ts-unit:v1',
      cmd: ['/bin/sh', '-c', 'echo hello'],
      env: ['PATH=/bin', 'A=1'],
      workingDir: '/tmp',
    });
    out = await mkdtemp(join(tmpdir(), 'kata-ts-oci-unpacked-'));
    execFileSync('tar', ['-xf', image.tarball, '-C', out]);
  });
  after(async () => {
    await image?.cleanup();
    if (out) await rm(out, { recursive: true, force: true });
  });

  test('has oci-layout and every blob is named by its sha256', async () => {
    assert.deepEqual(JSON.parse(await readFile(join(out, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const blobs = await readdir(join(out, 'blobs', 'sha256'));
    assert.equal(blobs.length, 3, 'layer, config, manifest');
    for (const name of blobs) {
      const data = await readFile(join(out, 'blobs', 'sha256', name));
      assert.equal(createHash('sha256').update(data).digest('hex'), name);
    }
  });

  test('index.json names the image for containerd and carries the host platform', async () => {
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { schemaVersion: number; manifests: Descriptor[] };
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.manifests.length, 1);
    const m = index.manifests[0]!;
    assert.equal(m.digest, image.manifestDigest);
    assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(m.annotations?.[CONTAINERD_IMAGE_NAME], 'docker.io/library/kata-ts-unit:v1');
    assert.equal(m.annotations?.[OCI_REF_NAME], 'v1');
    assert.deepEqual(m.platform, { os: 'linux', architecture: ociArchitecture() });
    assert.equal(m.size, (await blob(m.digest)).length);
  });

  test('the manifest points at the config and one uncompressed layer holding busybox', async () => {
    const manifest = await json<{ config: Descriptor; layers: Descriptor[] }>(image.manifestDigest);
    assert.equal(manifest.config.digest, image.configDigest);
    assert.equal(manifest.config.size, (await blob(image.configDigest)).length);
    assert.equal(manifest.layers.length, 1);
    const layer = manifest.layers[0]!;
    assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar');
    const layerFile = join(out, 'blobs', 'sha256', layer.digest.replace(/^sha256:/, ''));
    const listing = execFileSync('tar', ['-tvf', layerFile], { encoding: 'utf8' });
    assert.match(listing, /^-\S+ 0\/0 .* \.\/bin\/busybox$/m, 'bin/busybox owned by root');
    assert.match(listing, /^l\S+ .* \.\/bin\/sh -> busybox$/m, 'applet links');
  });

  test('the config has Cmd, Env, WorkingDir and the layer as its diff id', async () => {
    const config = await json<{
      os: string;
      architecture: string;
      config: { Cmd: string[]; Env: string[]; WorkingDir: string };
      rootfs: { type: string; diff_ids: string[] };
    }>(image.configDigest);
    const manifest = await json<{ layers: Descriptor[] }>(image.manifestDigest);
    assert.equal(config.os, 'linux');
    assert.equal(config.architecture, ociArchitecture());
    assert.deepEqual(config.config.Cmd, ['/bin/sh', '-c', 'echo hello']);
    assert.deepEqual(config.config.Env, ['PATH=/bin', 'A=1']);
    assert.equal(config.config.WorkingDir, '/tmp');
    assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: [manifest.layers[0]!.digest] });
  });

  test('builds the same layer twice (content-only digests)', async () => {
    const again = await buildOciImage({ name: 'docker.io/library/kata-ts-unit:v1', cmd: ['/bin/sh', '-c', 'echo hello'], env: ['PATH=/bin', 'A=1'], workingDir: '/tmp' });
    try {
      assert.equal(again.manifestDigest, image.manifestDigest);
    } finally {
      await again.cleanup();
    }
  });
});
