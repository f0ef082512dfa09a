// Loads the project's native addon (native/, built by node-gyp) once. The
// addon holds the system calls Node lacks: AF_VSOCK sockets, process and
// descriptor control, mount, the uevent socket, the clock. Every user (the
// vsock transport included) loads it here and types the functions it needs.

import { fileURLToPath } from 'node:url';

/** Where node-gyp puts the addon, relative to the checkout (and, in the guest, to the bundle's directory). */
export const NATIVE_ADDON_FILE = 'native/build/Release/kata_native.node';

/** The same file from this module; the same relative path from src/ and dist/. */
const ADDON_PATH = `../../${NATIVE_ADDON_FILE}`;

let loaded: Record<string, unknown> | undefined;

/** The addon's exports. Throws a clear error if it was not built. */
export function loadAddon(): Record<string, unknown> {
  if (loaded === undefined) {
    try {
      // What require() does for a .node file, without its module resolution
      // (which is slow in a TCG guest, where the agent loads this as it starts).
      const addon = { exports: {} as Record<string, unknown> };
      process.dlopen(addon, fileURLToPath(new URL(ADDON_PATH, import.meta.url)));
      loaded = addon.exports;
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
