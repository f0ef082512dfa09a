// Where the image builder reads and writes. Everything is relative to the
// checkout (two levels above this file, both in src/image and dist/image),
// so the host runtime finds the image without being told where it is.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The names of the files an image directory holds. The host runtime relies on them. */
export const IMAGE_FILES = {
  /** Uncompressed ELF kernel with a PVH entry note (QEMU -kernel). */
  kernel: 'vmlinux',
  /** newc cpio initramfs (QEMU -initrd), uncompressed. */
  initrd: 'initrd.img',
  /** What went in and what came out (see manifest.ts). */
  manifest: 'manifest.json',
  /** The kernel release, e.g. "6.1.0-56-amd64", followed by a newline. */
  kernelVersion: 'kernel-version',
} as const;

/** The checkout this module belongs to, with a trailing slash removed. */
export function repoRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
}

/** Where `kata-ts-image build` puts the image unless told otherwise: <repo>/.cache/image. */
export function defaultImageDir(): string {
  return join(repoRoot(), '.cache', 'image');
}

/**
 * Where downloaded Debian packages and the prepared kernel stage are kept
 * between builds: <repo>/.cache/image-build.
 */
export function defaultCacheDir(): string {
  return join(repoRoot(), '.cache', 'image-build');
}

/** The image files of an image directory, by role. */
export function imagePaths(dir: string): { kernel: string; initrd: string; manifest: string; kernelVersion: string } {
  return {
    kernel: join(dir, IMAGE_FILES.kernel),
    initrd: join(dir, IMAGE_FILES.initrd),
    manifest: join(dir, IMAGE_FILES.manifest),
    kernelVersion: join(dir, IMAGE_FILES.kernelVersion),
  };
}
