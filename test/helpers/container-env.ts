// A throw-away environment for tests that run real containers: a runtime with
// its own state directory, a bundle root and console socket directory in a
// temporary directory, and a cgroup parent of their own. cleanup() deletes
// whatever the tests left and removes it all.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/common/logger.js';
import type { ContainerContext } from '../../src/agent/container/context.js';
import { OciRuntime, type RuntimeKind } from '../../src/agent/container/oci-runtime.js';
import { Reaper } from '../../src/agent/process/reaper.js';
import type { Spec } from '../../src/oci/spec.js';
import { busyboxSpec, findBusybox, type BusyboxSpecOptions } from './busybox-rootfs.js';

/** Why container tests cannot run here, or undefined when they can. */
export function containerTestsSkipReason(kind: RuntimeKind): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!findBusybox()) return 'needs busybox (busybox-static)';
  const found = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin', '/usr/local/sbin'].some((d) => existsSync(join(d, kind)));
  if (!found) return `needs ${kind}`;
  return undefined;
}

/** Mount points of every cgroup hierarchy (v1 controllers and cgroup2). */
export async function cgroupMountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points: string[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fsType = right.split(' ')[0];
    const point = left.split(' ')[4];
    if ((fsType === 'cgroup' || fsType === 'cgroup2') && point) points.push(point);
  }
  return points;
}

export interface ContainerTestEnv {
  kind: RuntimeKind;
  runtime: OciRuntime;
  ctx: ContainerContext;
  /** Runtime state directory (--root). */
  stateRoot: string;
  /** cgroupsPath parent used by spec(). */
  cgroupParent: string;
  /** A spec for container `id` running `args`, with its own cgroup under cgroupParent. */
  spec(id: string, args: string[], opts?: Partial<BusyboxSpecOptions>): Spec;
  /** The cgroup directories of container `id` that exist now. */
  cgroupDirs(id: string): Promise<string[]>;
  cleanup(): Promise<void>;
}

export async function createContainerTestEnv(kind: RuntimeKind, rootfs: string): Promise<ContainerTestEnv> {
  const dir = await mkdtemp(join(tmpdir(), `kata-ts-${kind}-`));
  const stateRoot = join(dir, 'state');
  const bundleRoot = join(dir, 'bundles');
  const socketDir = join(dir, 'sock');
  for (const d of [stateRoot, bundleRoot, socketDir]) await mkdir(d, { recursive: true });
  const runtime = await OciRuntime.open({ runtime: kind, root: stateRoot });
  const ctx: ContainerContext = { runtime, reaper: Reaper.shared(), bundleRoot, socketDir, logger: silentLogger };
  const cgroupParent = `/kata-ts-test-${process.pid}-${kind}`;

  const cgroupDirs = async (sub: string): Promise<string[]> => {
    const out: string[] = [];
    for (const mount of await cgroupMountPoints()) {
      const p = join(mount, cgroupParent, sub);
      if (existsSync(p)) out.push(p);
    }
    return out;
  };

  return {
    kind,
    runtime,
    ctx,
    stateRoot,
    cgroupParent,
    spec: (id, args, opts = {}) => busyboxSpec({ rootfs, args, cgroupsPath: `${cgroupParent}/${id}`, ...opts }),
    cgroupDirs: (id) => cgroupDirs(id),
    async cleanup() {
      try {
        for (const c of await runtime.list()) {
          await runtime.delete(c.id, { force: true }).catch(() => undefined);
        }
      } catch {
        // state directory unreadable: nothing to delete
      }
      // Leaf cgroups first (left only if a test failed), then the parent.
      for (const parent of await cgroupDirs('')) {
        for (const entry of await readdir(parent, { withFileTypes: true })) {
          if (entry.isDirectory()) await rmdir(join(parent, entry.name)).catch(() => undefined);
        }
        await rmdir(parent).catch(() => undefined);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Removes a test's cgroup directory (and any empty children left in it) from
 * every hierarchy. OCI runtimes remove only a container's own leaf cgroup, so
 * the parent a test named in cgroupsPath stays unless the test removes it.
 */
export async function removeTestCgroup(path: string): Promise<void> {
  for (const mount of await cgroupMountPoints()) {
    const dir = join(mount, path);
    if (!existsSync(dir)) continue;
    const children = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory());
    for (const child of children) await removeTestCgroup(join(path, child.name));
    await rmdir(dir);
  }
}
