// AF_VSOCK sockets, the way a VM guest and its host talk without a network.
// Node's net module only makes TCP and Unix sockets (libuv knows no other
// address family), so this file makes the few socket calls it cannot. The
// descriptors are then read, written and closed from JavaScript with the fs
// module; see src/ttrpc/transport/vsock.ts.
//
//   listen(cid, port, backlog) -> fd         socket + bind + listen; non-blocking
//   accept(fd) -> {fd, cid, port} | null     accept4; null when nobody is waiting
//   connect(cid, port, timeoutMs) -> Promise<fd>   socket + connect, in the libuv pool
//   shutdown(fd)                             shutdown(SHUT_RDWR): wakes a read blocked on fd
//
// Accepted and connected sockets are blocking. Failures throw (or reject
// with) Node-style system errors (see napi-util.h).

#define _GNU_SOURCE  // accept4
#include "vsock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "napi-util.h"

static void fill_address(struct sockaddr_vm *addr, uint32_t cid, uint32_t port) {
  memset(addr, 0, sizeof *addr);
  addr->svm_family = AF_VSOCK;
  addr->svm_cid = cid;
  addr->svm_port = port;
}

// listen(cid, port, backlog): fd
static napi_value vsock_listen(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  kata_get_args(env, info, 3, argv);
  uint32_t cid, port, backlog;
  if (!kata_arg_uint32(env, argv[0], "cid", &cid) || !kata_arg_uint32(env, argv[1], "port", &port) ||
      !kata_arg_uint32(env, argv[2], "backlog", &backlog))
    return NULL;
  int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return kata_throw_errno(env, "socket", errno);
  struct sockaddr_vm addr;
  fill_address(&addr, cid, port);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int err = errno;
    close(fd);
    return kata_throw_errno(env, "bind", err);
  }
  if (listen(fd, (int)backlog) < 0) {
    int err = errno;
    close(fd);
    return kata_throw_errno(env, "listen", err);
  }
  return kata_int(env, fd);
}

// accept(fd): {fd, cid, port} of the next waiting connection, or null.
static napi_value vsock_accept(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  kata_get_args(env, info, 1, argv);
  uint32_t listen_fd;
  if (!kata_arg_uint32(env, argv[0], "fd", &listen_fd)) return NULL;
  struct sockaddr_vm peer;
  socklen_t len = sizeof peer;
  memset(&peer, 0, sizeof peer);
  int fd = accept4((int)listen_fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
  if (fd < 0) {
    // Nobody waiting, or a client that gave up before we got to it.
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) return kata_null(env);
    return kata_throw_errno(env, "accept", errno);
  }
  napi_value result;
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "fd", kata_int(env, fd));
  napi_set_named_property(env, result, "cid", kata_int(env, peer.svm_cid));
  napi_set_named_property(env, result, "port", kata_int(env, peer.svm_port));
  return result;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  uint32_t cid, port, timeout_ms;
  int fd;
  int err;
  const char *syscall;
} connect_request;

// Runs in a pool thread: connect() blocks until the peer answers or the timeout passes.
static void connect_execute(napi_env env, void *data) {
  (void)env;
  connect_request *req = data;
  req->fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (req->fd < 0) {
    req->err = errno;
    req->syscall = "socket";
    return;
  }
  if (req->timeout_ms > 0) {
    struct timeval tv = {.tv_sec = req->timeout_ms / 1000, .tv_usec = (req->timeout_ms % 1000) * 1000};
    if (setsockopt(req->fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof tv) < 0) {
      req->err = errno;
      req->syscall = "setsockopt";
      close(req->fd);
      return;
    }
  }
  struct sockaddr_vm addr;
  fill_address(&addr, req->cid, req->port);
  if (connect(req->fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    req->err = errno;
    req->syscall = "connect";
    close(req->fd);
  }
}

// Back on the main thread: settles the promise.
static void connect_complete(napi_env env, napi_status status, void *data) {
  connect_request *req = data;
  if (status != napi_ok) {
    napi_reject_deferred(env, req->deferred, kata_errno_error(env, "connect", ECANCELED, NULL));
  } else if (req->err != 0) {
    napi_reject_deferred(env, req->deferred, kata_errno_error(env, req->syscall, req->err, NULL));
  } else {
    napi_resolve_deferred(env, req->deferred, kata_int(env, req->fd));
  }
  napi_delete_async_work(env, req->work);
  free(req);
}

// connect(cid, port, timeoutMs): Promise<fd>. The kernel's own timeout
// (2 s) applies when timeoutMs is 0.
static napi_value vsock_connect(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  kata_get_args(env, info, 3, argv);
  uint32_t cid, port, timeout_ms;
  if (!kata_arg_uint32(env, argv[0], "cid", &cid) || !kata_arg_uint32(env, argv[1], "port", &port) ||
      !kata_arg_uint32(env, argv[2], "timeoutMs", &timeout_ms))
    return NULL;
  connect_request *req = calloc(1, sizeof *req);
  if (req == NULL) return kata_throw_errno(env, "connect", ENOMEM);
  req->cid = cid;
  req->port = port;
  req->timeout_ms = timeout_ms;
  napi_value promise, name;
  napi_create_promise(env, &req->deferred, &promise);
  napi_create_string_utf8(env, "vsock_connect", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, connect_execute, connect_complete, req, &req->work);
  napi_queue_async_work(env, req->work);
  return promise;
}

// shutdown(fd): void. A socket that is not connected is not an error.
static napi_value vsock_shutdown(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  kata_get_args(env, info, 1, argv);
  uint32_t fd;
  if (!kata_arg_uint32(env, argv[0], "fd", &fd)) return NULL;
  if (shutdown((int)fd, SHUT_RDWR) < 0 && errno != ENOTCONN) return kata_throw_errno(env, "shutdown", errno);
  return NULL;
}

napi_status kata_init_vsock(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      KATA_FUNCTION("listen", vsock_listen),
      KATA_FUNCTION("accept", vsock_accept),
      KATA_FUNCTION("connect", vsock_connect),
      KATA_FUNCTION("shutdown", vsock_shutdown),
  };
  return napi_define_properties(env, exports, KATA_COUNT(functions), functions);
}
