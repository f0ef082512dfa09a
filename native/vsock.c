// AF_VSOCK sockets for Node: the few socket calls Node's net module cannot
// make. Everything else (reading, writing, closing the descriptors) is done
// from JavaScript with the fs module; see src/ttrpc/transport/vsock.ts.
//
//   listen(cid, port, backlog) -> fd         non-blocking listening socket
//   accept(fd) -> {fd, cid, port} | null     null when nobody is waiting
//   connect(cid, port, timeoutMs) -> Promise<fd>   runs in the libuv pool
//   shutdown(fd)                             wakes a read blocked on fd
//
// Accepted and connected sockets are blocking. Failures throw (or reject with)
// an Error carrying `errno` (positive) and `syscall`.

#define _GNU_SOURCE  // accept4

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>
#include <node_api.h>

static napi_value make_error(napi_env env, const char *syscall, int err) {
  char text[160];
  snprintf(text, sizeof text, "%s: %s", syscall, strerror(err));
  napi_value message, error, errno_value, syscall_value;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  return error;
}

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  napi_throw(env, make_error(env, syscall, err));
  return NULL;
}

// Reads `count` unsigned 32-bit arguments into `out`; throws a TypeError if it cannot.
static int read_u32_args(napi_env env, napi_callback_info info, size_t count, uint32_t *out) {
  napi_value argv[3];
  size_t argc = 3;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < count) {
    napi_throw_type_error(env, NULL, "too few arguments");
    return 0;
  }
  for (size_t i = 0; i < count; i++) {
    if (napi_get_value_uint32(env, argv[i], &out[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "arguments must be numbers");
      return 0;
    }
  }
  return 1;
}

static napi_value int_value(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

static void fill_address(struct sockaddr_vm *addr, uint32_t cid, uint32_t port) {
  memset(addr, 0, sizeof *addr);
  addr->svm_family = AF_VSOCK;
  addr->svm_cid = cid;
  addr->svm_port = port;
}

static napi_value Listen(napi_env env, napi_callback_info info) {
  uint32_t a[3];
  if (!read_u32_args(env, info, 3, a)) return NULL;
  int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  struct sockaddr_vm addr;
  fill_address(&addr, a[0], a[1]);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }
  if (listen(fd, (int)a[2]) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "listen", err);
  }
  return int_value(env, fd);
}

static napi_value Accept(napi_env env, napi_callback_info info) {
  uint32_t a[1];
  if (!read_u32_args(env, info, 1, a)) return NULL;
  struct sockaddr_vm peer;
  socklen_t len = sizeof peer;
  memset(&peer, 0, sizeof peer);
  int fd = accept4((int)a[0], (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
  if (fd < 0) {
    // Nobody waiting, or a client that gave up before we got to it.
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) {
      napi_value null_value;
      napi_get_null(env, &null_value);
      return null_value;
    }
    return throw_errno(env, "accept", errno);
  }
  napi_value result;
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "fd", int_value(env, fd));
  napi_set_named_property(env, result, "cid", int_value(env, peer.svm_cid));
  napi_set_named_property(env, result, "port", int_value(env, peer.svm_port));
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

static void connect_complete(napi_env env, napi_status status, void *data) {
  connect_request *req = data;
  if (status != napi_ok) {
    napi_reject_deferred(env, req->deferred, make_error(env, "connect", ECANCELED));
  } else if (req->err != 0) {
    napi_reject_deferred(env, req->deferred, make_error(env, req->syscall, req->err));
  } else {
    napi_resolve_deferred(env, req->deferred, int_value(env, req->fd));
  }
  napi_delete_async_work(env, req->work);
  free(req);
}

static napi_value Connect(napi_env env, napi_callback_info info) {
  uint32_t a[3];
  if (!read_u32_args(env, info, 3, a)) return NULL;
  connect_request *req = calloc(1, sizeof *req);
  if (req == NULL) return throw_errno(env, "connect", ENOMEM);
  req->cid = a[0];
  req->port = a[1];
  req->timeout_ms = a[2];
  napi_value promise, name;
  napi_create_promise(env, &req->deferred, &promise);
  napi_create_string_utf8(env, "vsock_connect", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, connect_execute, connect_complete, req, &req->work);
  napi_queue_async_work(env, req->work);
  return promise;
}

static napi_value Shutdown(napi_env env, napi_callback_info info) {
  uint32_t a[1];
  if (!read_u32_args(env, info, 1, a)) return NULL;
  if (shutdown((int)a[0], SHUT_RDWR) < 0 && errno != ENOTCONN) return throw_errno(env, "shutdown", errno);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor functions[] = {
      {"listen", NULL, Listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"accept", NULL, Accept, NULL, NULL, NULL, napi_enumerable, NULL},
      {"connect", NULL, Connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"shutdown", NULL, Shutdown, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  { extern napi_value kata_process_init(napi_env, napi_value); kata_process_init(env, exports); }  // native/src/process.c
  { extern napi_value kata_netlink_init(napi_env, napi_value); kata_netlink_init(env, exports); }  // native/src/netlink.c
  { extern napi_value kata_mount_init(napi_env, napi_value); kata_mount_init(env, exports); }  // native/src/mount.c
  { extern napi_value kata_clock_init(napi_env, napi_value); kata_clock_init(env, exports); }  // native/src/clock.c
  return exports;
}
