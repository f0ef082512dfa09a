// A StorageContext for handler tests: the temporary root, the real mount
// system calls (unless a test passes fakes), a silent logger.
import { silentLogger } from '../../../src/common/logger.js';
import { nativeMountSyscalls } from '../../../src/agent/mount/mount.js';
import type { StorageContext } from '../../../src/agent/storage/handler.js';
import type { TempRoot } from '../mount/helpers.js';

export function handlerContext(tmp: TempRoot, overrides: Partial<StorageContext> = {}): StorageContext {
  return {
    rootDir: tmp.root,
    sysfsRoot: '/sys',
    devRoot: '/dev',
    logger: silentLogger,
    syscalls: nativeMountSyscalls(),
    containerId: undefined,
    createdPaths: [],
    ...overrides,
  };
}
