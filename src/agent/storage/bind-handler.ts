// Bind mounts inside the guest (driver "bind"): Storage.source, an existing
// file or directory below the root, appears at the mount point too. The
// options are mount(8)'s; "bind" is implied unless "rbind" asks for the
// submounts as well. "ro" makes the new mount read-only (a second remount
// call, as the kernel ignores it on the bind itself).
import type { Storage } from '../../protocols/gen/agent_pb.js';
import { mountStorage, optionWords } from './common.js';
import type { StorageContext, StorageHandler } from './handler.js';

export class BindHandler implements StorageHandler {
  readonly driverTypes = ['bind'] as const;

  mount(storage: Storage, ctx: StorageContext): Promise<string> {
    const words = optionWords(storage.options);
    if (!words.includes('bind') && !words.includes('rbind')) words.unshift('bind');
    return mountStorage(storage, ctx, { fstype: '', options: words, pathSource: 'root' });
  }
}
