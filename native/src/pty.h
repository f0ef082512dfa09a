// Host pseudo-terminals for the runtime's --console-socket support (see pty.c).
#ifndef KATA_TS_NATIVE_PTY_H
#define KATA_TS_NATIVE_PTY_H

#include <node_api.h>

#ifdef __cplusplus
extern "C" {
#endif

// Adds `openPty`, `setRawMode` and `setTerminalAttributes` to `exports`;
// called from the module's init (addon.c).
napi_status kata_init_pty(napi_env env, napi_value exports);

#ifdef __cplusplus
}
#endif

#endif
