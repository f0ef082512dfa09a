// Loads the project's native addon (native/, built by node-gyp) once. The
// addon holds the system calls Node lacks: AF_VSOCK sockets, process and
// descriptor control, mount, the uevent socket, the clock. Every user (the
// vsock transport included) loads it here and types the functions it needs.

import { createRequire } from 'node:module';

/** Where node-gyp puts the addon, relative to the checkout (and, in the guest, to the bundle's directory). */
export const NATIVE_ADDON_FILE = 'native/build/Release/kata_native.node';

/** The same file from this module; the same relative path from src/ and dist/. */
const ADDON_PATH = `../../${NATIVE_ADDON_FILE}`;

let loaded: Record<string, unknown> | undefined;

/** The addon's exports. Throws a clear error if it was not built. */
export function loadAddon(): Record<string, unknown> {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)(ADDON_PATH) as Record<string, unknown>;
    } catch (err) {
      throw new Error(
        `the native addon ${NATIVE_ADDON_FILE} could not be loaded (${(err as Error).message}); ` +
          'build it with "npm rebuild" or "node-gyp rebuild -C native"',
        { cause: err },
      );
    }
  }
  return loaded;
}
