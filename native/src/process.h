// Process and descriptor system calls Node does not expose (see process.c).
#ifndef KATA_TS_NATIVE_PROCESS_H
#define KATA_TS_NATIVE_PROCESS_H

#include <node_api.h>

#ifdef __cplusplus
extern "C" {
#endif

// Adds `setChildSubreaper`, `isChildSubreaper`, `waitPid`, `peekExitedChild`,
// `pipe`, `dup`, `setNonBlocking`, `recvFd`, `setWindowSize`, `getWindowSize`,
// `addEntropy` and `reseedCrng` to `exports`;
// called from the module's init (addon.c).
napi_status kata_init_process(napi_env env, napi_value exports);

#ifdef __cplusplus
}
#endif

#endif
