// The real kernel package for tests: resolved and downloaded like a build
// does (into the builder's cache, where a build would put it anyway).
import { spawnSync } from 'node:child_process';
import { downloadPackage, resolveKernelPackage, type PackageInfo } from '../../src/image/debian.js';
import { defaultCacheDir } from '../../src/image/paths.js';
import { silentProgress } from '../../src/image/progress.js';

let cached: Promise<{ pkg: PackageInfo; deb: string }> | undefined;

export function kernelPackage(): Promise<{ pkg: PackageInfo; deb: string }> {
  cached ??= (async () => {
    const pkg = await resolveKernelPackage();
    return { pkg, deb: await downloadPackage(pkg, defaultCacheDir(), silentProgress) };
  })();
  return cached;
}

/** One file of a .deb, read without unpacking the rest ("./boot/vmlinuz-..."). */
export function fileFromDeb(deb: string, member: string): Buffer {
  const res = spawnSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xOf - "$2"', 'sh', deb, member], { maxBuffer: 1 << 30 });
  if (res.status !== 0) throw new Error(`cannot read ${member} from ${deb}: ${res.stderr.toString()}`);
  return res.stdout;
}

/** The kernel release a kernel image package is for. */
export function releaseOf(pkg: PackageInfo): string {
  return pkg.name.replace(/^linux-image-/, '');
}
