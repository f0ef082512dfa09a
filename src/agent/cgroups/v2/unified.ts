// OCI `linux.resources.unified`: cgroup v2 interface files written verbatim
// (names were checked by normalizeResources: no path separators).
import type { ResourceWriter } from '../fs.js';

export async function applyUnifiedV2(dir: string, entries: [string, string][], w: ResourceWriter): Promise<void> {
  for (const [key, value] of entries) await w.write(dir, key, value);
}
