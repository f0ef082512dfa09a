// The kernel's uevent netlink socket, which Node cannot open (see netlink.c).
#ifndef KATA_TS_NATIVE_NETLINK_H
#define KATA_TS_NATIVE_NETLINK_H

#include <node_api.h>

#ifdef __cplusplus
extern "C" {
#endif

// Adds `ueventOpen`, `ueventWatch` and `ueventUnwatch` to `exports`;
// called from the module's init (addon.c).
napi_status kata_init_netlink(napi_env env, napi_value exports);

#ifdef __cplusplus
}
#endif

#endif
