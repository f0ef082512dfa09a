// The storage CreateSandbox asks the agent to mount: the shared filesystem
// ("kataShared") at /run/kata-containers/shared/containers/, through the
// agent's 9p or virtio-fs storage driver, with Kata's options.
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { StorageSchema } from '../../protocols/gen/agent_pb.js';
import type { SharedFsKind } from '../config/schema.js';
import { SHARED_FS_TAG } from '../qemu/cmdline.js';
import { GUEST_SHARED_DIR } from './guest-spec.js';

export type StorageInit = MessageInitShape<typeof StorageSchema>;

export function sharedFsStorage(kind: SharedFsKind, msize9p: number): StorageInit {
  if (kind === 'virtio-9p') {
    return {
      driver: '9p',
      source: SHARED_FS_TAG,
      fstype: '9p',
      mountPoint: GUEST_SHARED_DIR,
      options: ['trans=virtio,version=9p2000.L,cache=mmap', 'nodev', `msize=${msize9p}`],
    };
  }
  return { driver: 'virtio-fs', source: SHARED_FS_TAG, fstype: 'virtiofs', mountPoint: GUEST_SHARED_DIR, options: [] };
}
