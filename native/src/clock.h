// Setting the realtime clock for the guest agent's SetGuestDateTime (see clock.c).
#ifndef KATA_TS_NATIVE_CLOCK_H
#define KATA_TS_NATIVE_CLOCK_H

#include <node_api.h>

#ifdef __cplusplus
extern "C" {
#endif

// Adds `setRealtimeClock` to `exports`; called from the addon's init.
napi_value kata_clock_init(napi_env env, napi_value exports);

#ifdef __cplusplus
}
#endif

#endif
