// CreateSandbox's `guest_hook_path`: OCI hooks that live in the guest image.
//
// The directory holds prestart/, poststart/ and poststop/ subdirectories;
// every executable regular file in them (symlinks and other kinds are
// skipped, as upstream) becomes a hook of that kind, run with
// argv = [file name, hook kind]. They are found once, at CreateSandbox, and
// added to every container's spec after the container's own hooks.
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';

import type { Hook, Hooks, Spec } from '../../oci/spec.js';
import { invalidSandboxField } from './errors.js';

/** The hook kinds a guest hook directory may hold, in the order they run. */
export const GUEST_HOOK_KINDS = ['prestart', 'poststart', 'poststop'] as const;
export type GuestHookKind = (typeof GUEST_HOOK_KINDS)[number];

/** The hooks found, by kind (each list sorted by file name). */
export type GuestHooks = Record<GuestHookKind, Hook[]>;

const FIELD = 'create_sandbox.guest_hook_path';

/** Checks the path: absolute, no NUL. Throws an INVALID_ARGUMENT SandboxError naming guest_hook_path. */
export function validateGuestHookPath(path: string): void {
  if (path.includes('\0')) throw invalidSandboxField(FIELD, 'contains a NUL byte');
  if (!isAbsolute(path)) throw invalidSandboxField(FIELD, `${JSON.stringify(path)} is not an absolute path`);
}

/** The executable regular files directly in `dir`, sorted by name; none if `dir` is absent. */
async function executablesIn(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return []; // no such kind of hook here (or not a readable directory)
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue; // readdir's type is the entry's own: symlinks are not files
    try {
      if (((await stat(join(dir, entry.name))).mode & 0o111) !== 0) names.push(entry.name);
    } catch {
      // removed meanwhile
    }
  }
  return names.sort();
}

/**
 * Scans <path>/{prestart,poststart,poststop}. A missing directory (or
 * subdirectory) gives no hooks of that kind. An empty path gives none.
 */
export async function findGuestHooks(path: string): Promise<GuestHooks> {
  const found: GuestHooks = { prestart: [], poststart: [], poststop: [] };
  if (path === '') return found;
  validateGuestHookPath(path);
  for (const kind of GUEST_HOOK_KINDS) {
    const dir = join(path, kind);
    found[kind] = (await executablesIn(dir)).map((name) => ({ path: join(dir, name), args: [name, kind] }));
  }
  return found;
}

/** Whether any hook was found. */
export function hasGuestHooks(hooks: GuestHooks): boolean {
  return GUEST_HOOK_KINDS.some((kind) => hooks[kind].length > 0);
}

/**
 * Adds the guest hooks to a container spec, after the spec's own hooks of
 * each kind. Returns a new spec; the one given is not changed.
 */
export function appendGuestHooks(spec: Spec, hooks: GuestHooks): Spec {
  if (!hasGuestHooks(hooks)) return spec;
  const merged: Hooks = { ...(spec.hooks ?? {}) };
  for (const kind of GUEST_HOOK_KINDS) {
    if (hooks[kind].length === 0) continue;
    merged[kind] = [...(merged[kind] ?? []), ...hooks[kind].map((h) => ({ ...h, args: [...(h.args ?? [])] }))];
  }
  return { ...spec, hooks: merged };
}
