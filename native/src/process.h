// Process-related system calls for the guest agent (see process.c).
#ifndef KATA_TS_NATIVE_PROCESS_H
#define KATA_TS_NATIVE_PROCESS_H

#include <node_api.h>

#ifdef __cplusplus
extern "C" {
#endif

// Adds this file's functions to `exports`; called from the addon's init.
napi_value kata_process_init(napi_env env, napi_value exports);

#ifdef __cplusplus
}
#endif

#endif
