// Loads the project's native addon (native/, built by node-gyp) once.
// The vsock transport loads the same file on its own; each user types the
// functions it needs.

import { createRequire } from 'node:module';

/** Where node-gyp puts the addon; the same relative path from src/ and dist/. */
const ADDON_PATH = '../../native/build/Release/kata_vsock.node';

let loaded: Record<string, unknown> | undefined;

/** The addon's exports. Throws a clear error if it was not built. */
export function loadAddon(): Record<string, unknown> {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)(ADDON_PATH) as Record<string, unknown>;
    } catch (err) {
      throw new Error(
        `the native addon native/build/Release/kata_vsock.node could not be loaded (${(err as Error).message}); ` +
          'build it with "npm rebuild" or "node-gyp rebuild -C native"',
        { cause: err },
      );
    }
  }
  return loaded;
}
