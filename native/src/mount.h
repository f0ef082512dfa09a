// mount(2) and umount2(2), which Node does not expose (see mount.c).
#ifndef KATA_TS_NATIVE_MOUNT_H
#define KATA_TS_NATIVE_MOUNT_H

#include <node_api.h>

#ifdef __cplusplus
extern "C" {
#endif

// Adds `mount` and `umount2` to `exports`;
// called from the module's init (addon.c).
napi_status kata_init_mount(napi_env env, napi_value exports);

#ifdef __cplusplus
}
#endif

#endif
