// Moving descriptors between processes on the host (see fdpass.c).
#ifndef KATA_TS_NATIVE_FDPASS_H
#define KATA_TS_NATIVE_FDPASS_H

#include <node_api.h>

#ifdef __cplusplus
extern "C" {
#endif

// Adds `sendFd` and `getFdOfProcess` to `exports`;
// called from the module's init (addon.c).
napi_status kata_init_fdpass(napi_env env, napi_value exports);

#ifdef __cplusplus
}
#endif

#endif
