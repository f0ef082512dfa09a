// mount(2) and umount2(2) for the guest agent's storage layer (see mount.c).
#ifndef KATA_TS_NATIVE_MOUNT_H
#define KATA_TS_NATIVE_MOUNT_H

#include <node_api.h>

#ifdef __cplusplus
extern "C" {
#endif

// Adds `mount` and `umount2` to `exports`; called from the addon's init.
napi_value kata_mount_init(napi_env env, napi_value exports);

#ifdef __cplusplus
}
#endif

#endif
