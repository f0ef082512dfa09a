// The module's one init function. The addon (kata_native.node) gathers the
// system calls the TypeScript code needs and Node does not offer; each file
// adds its functions to the same exports object:
//
//   vsock.c     AF_VSOCK sockets (ttRPC between host and guest)
//   process.c   subreaper, reaping by pid, pipes, fd passing, pty size, entropy
//   netlink.c   the kernel's uevent socket
//   mount.c     mount(2), umount2(2)
//   clock.c     setting the realtime clock
//   pty.c       host pty pairs and raw mode (the runtime's --console-socket)
//   fdpass.c    sending a descriptor to a socket path, taking one from a process
//
// JavaScript loads it through src/native/addon.ts.

#include <node_api.h>

#include "clock.h"
#include "fdpass.h"
#include "mount.h"
#include "netlink.h"
#include "process.h"
#include "pty.h"
#include "vsock.h"

NAPI_MODULE_INIT() {
  napi_status (*const inits[])(napi_env, napi_value) = {
      kata_init_vsock, kata_init_process, kata_init_netlink, kata_init_mount,
      kata_init_clock, kata_init_pty,     kata_init_fdpass,
  };
  for (size_t i = 0; i < sizeof inits / sizeof inits[0]; i++) {
    if (inits[i](env, exports) != napi_ok) {
      napi_throw_error(env, NULL, "kata_native: could not define the addon's functions");
      return NULL;
    }
  }
  return exports;
}
