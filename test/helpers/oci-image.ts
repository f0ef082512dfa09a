// Builds an OCI image layout tarball on this machine, with no registry: one
// uncompressed layer holding a root filesystem (by default Debian's static
// busybox, see busybox-rootfs.ts), an image config with Cmd/Env/WorkingDir, a
// manifest and an index.json naming the image. The result imports with
//   ctr -n NS image import --index-name NAME image.tar
// and then runs with `ctr run NAME ID ...`.
//
// What containerd 1.6's importer (`ctr image import`) does with a layout,
// found by trying variants:
// - It reads `index.json` and `oci-layout` ({"imageLayoutVersion":"1.0.0"})
//   at the top of the tar and blobs under `blobs/sha256/<hex>`.
// - An index entry becomes an image named by its `io.containerd.image.name`
//   annotation (a full reference such as `docker.io/library/x:latest`).
//   With only `org.opencontainers.image.ref.name` (a tag, `latest`) the name
//   is `<--base-name>:<tag>`, or `import-<yyyy-mm-dd>:<tag>` without
//   --base-name. With neither annotation nothing is named and nothing
//   imported, unless `--index-name NAME`, which (in every case) also records
//   the index itself as image NAME; `ctr run NAME` resolves its manifest.
// - The entry's `platform` may be absent (the config's os/architecture are
//   used), but when present it must match the host: ctr imports only the
//   host's platform and fails with "image might be filtered out" otherwise.
// - The config's rootfs.diff_ids are the sha256 of the *uncompressed* layers;
//   with an uncompressed layer that is the layer's own digest.
// - Import and unpack of this ~2 MiB image take ~0.15 s.

import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBusyboxRootfs } from './busybox-rootfs.js';

const MEDIA_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MEDIA_CONFIG = 'application/vnd.oci.image.config.v1+json';
const MEDIA_LAYER = 'application/vnd.oci.image.layer.v1.tar';

/** The annotation containerd reads for an image's full name. */
export const CONTAINERD_IMAGE_NAME = 'io.containerd.image.name';
/** The OCI annotation for a tag-like reference name. */
export const OCI_REF_NAME = 'org.opencontainers.image.ref.name';

export interface OciImageOptions {
  /** Full reference stored in io.containerd.image.name, e.g. `docker.io/library/kata-ts-busybox:latest`. */
  name: string;
  /** Default command (image config Cmd). */
  cmd?: string[];
  /** Environment (image config Env). */
  env?: string[];
  /** Working directory (image config WorkingDir). */
  workingDir?: string;
  /** A root filesystem directory to pack; a fresh busybox rootfs when absent. */
  rootfs?: string;
}

export interface OciImage {
  /** The image layout tarball. */
  tarball: string;
  /** The name given in io.containerd.image.name. */
  name: string;
  /** Digest of the manifest (`sha256:...`). */
  manifestDigest: string;
  /** Digest of the image config, which is also containerd's image id. */
  configDigest: string;
  /** Removes the temporary directory holding the tarball. */
  cleanup(): Promise<void>;
}

/** The OCI architecture name of this host (`amd64`, `arm64`, ...). */
export function ociArchitecture(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const arch = map[process.arch];
  if (!arch) throw new Error(`no OCI architecture name known for ${process.arch}`);
  return arch;
}

interface Blob {
  digest: string;
  size: number;
}

/** Stores `data` as a content-addressed blob under `<layout>/blobs/sha256/`. */
async function putBlob(layout: string, data: Buffer): Promise<Blob> {
  const hex = createHash('sha256').update(data).digest('hex');
  await writeFile(join(layout, 'blobs', 'sha256', hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/**
 * Packs a directory as a layer tar: owners numeric root, entries relative
 * (`./bin/busybox`), sorted so the digest only depends on the content.
 */
function tarDirectory(dir: string, out: string): void {
  execFileSync('tar', [
    '--create',
    '--file', out,
    '--directory', dir,
    '--numeric-owner', '--owner=0', '--group=0',
    '--sort=name',
    '--mtime=@0',
    '.',
  ]);
}

/** Builds the image layout and its tarball in a new temporary directory. */
export async function buildOciImage(opts: OciImageOptions): Promise<OciImage> {
  const dir = await mkdtemp(join(tmpdir(), 'kata-ts-oci-image-'));
  let ownRootfs: { cleanup(): Promise<void> } | undefined;
  try {
    let rootfs = opts.rootfs;
    if (rootfs === undefined) {
      const made = await createBusyboxRootfs();
      ownRootfs = made;
      rootfs = made.rootfs;
    }
    const layout = join(dir, 'layout');
    await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });

    const layerFile = join(dir, 'layer.tar');
    tarDirectory(rootfs, layerFile);
    const layer = await putBlob(layout, await readFile(layerFile));
    await rm(layerFile);

    const architecture = ociArchitecture();
    const config = await putBlob(
      layout,
      json({
        architecture,
        os: 'linux',
        config: {
          Env: opts.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
          Cmd: opts.cmd ?? ['/bin/sh'],
          WorkingDir: opts.workingDir ?? '/',
        },
        // Uncompressed layer: its diff id is its digest.
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
        history: [{ created_by: 'kata-ts test image builder' }],
      }),
    );
    const manifest = await putBlob(
      layout,
      json({
        schemaVersion: 2,
        mediaType: MEDIA_MANIFEST,
        config: { mediaType: MEDIA_CONFIG, ...config },
        layers: [{ mediaType: MEDIA_LAYER, ...layer }],
      }),
    );
    const tag = opts.name.includes(':') ? opts.name.slice(opts.name.lastIndexOf(':') + 1) : 'latest';
    await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: MEDIA_MANIFEST,
            ...manifest,
            platform: { architecture, os: 'linux' },
            annotations: { [CONTAINERD_IMAGE_NAME]: opts.name, [OCI_REF_NAME]: tag },
          },
        ],
      }),
    );

    const tarball = join(dir, 'image.tar');
    tarDirectory(layout, tarball);
    await rm(layout, { recursive: true });
    if ((await stat(tarball)).size === 0) throw new Error('image tarball is empty');
    return {
      tarball,
      name: opts.name,
      manifestDigest: manifest.digest,
      configDigest: config.digest,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  } finally {
    await ownRootfs?.cleanup();
  }
}
