// Shared filesystems from the host: 9p and virtio-fs. The source is the
// device tag the hypervisor gave the share ("kataShared"); the runtime mounts
// it at /run/kata-containers/shared/containers/ in CreateSandbox, e.g.
//   9p:        fstype 9p, options trans=virtio,version=9p2000.L,cache=mmap,nodev,msize=8192
//   virtio-fs: fstype virtiofs, options [] or ["dax"]
// The kernel parses the non-flag options; nothing here interprets them.
//
// Neither can be mounted without a VM offering the device: the unit tests
// check the mount call these handlers make, the VM tests mount them for real.
import type { Storage } from '../../protocols/gen/agent_pb.js';
import { mountStorage } from './common.js';
import type { StorageContext, StorageHandler } from './handler.js';

export class Virtio9pHandler implements StorageHandler {
  readonly driverTypes = ['9p'] as const;

  mount(storage: Storage, ctx: StorageContext): Promise<string> {
    return mountStorage(storage, ctx, { fstype: storage.fstype === '' ? '9p' : storage.fstype });
  }
}

export class VirtioFsHandler implements StorageHandler {
  readonly driverTypes = ['virtio-fs'] as const;

  mount(storage: Storage, ctx: StorageContext): Promise<string> {
    return mountStorage(storage, ctx, { fstype: storage.fstype === '' ? 'virtiofs' : storage.fstype });
  }
}
