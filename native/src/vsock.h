// AF_VSOCK sockets, which Node's net module cannot make (see vsock.c).
#ifndef KATA_TS_NATIVE_VSOCK_H
#define KATA_TS_NATIVE_VSOCK_H

#include <node_api.h>

#ifdef __cplusplus
extern "C" {
#endif

// Adds `listen`, `accept`, `connect` and `shutdown` to `exports`;
// called from the module's init (addon.c).
napi_status kata_init_vsock(napi_env env, napi_value exports);

#ifdef __cplusplus
}
#endif

#endif
