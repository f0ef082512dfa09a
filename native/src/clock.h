// Setting the realtime clock, which Node cannot do (see clock.c).
#ifndef KATA_TS_NATIVE_CLOCK_H
#define KATA_TS_NATIVE_CLOCK_H

#include <node_api.h>

#ifdef __cplusplus
extern "C" {
#endif

// Adds `setRealtimeClock` to `exports`;
// called from the module's init (addon.c).
napi_status kata_init_clock(napi_env env, napi_value exports);

#ifdef __cplusplus
}
#endif

#endif
