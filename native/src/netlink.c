// The kernel's device event (uevent) socket, for the guest agent.
//
// When a device appears or goes away (a disk is hot-plugged, a driver binds,
// a memory block is added), the kernel broadcasts a "uevent" on the netlink
// family NETLINK_KOBJECT_UEVENT, multicast group 1. Node cannot open netlink
// sockets (its net and dgram modules make only TCP, UDP and Unix sockets),
// so this file does, and watches the socket with libuv's poller on the main
// event loop: no thread is blocked waiting for events.
//
//   ueventOpen() -> fd
//       socket(AF_NETLINK, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK,
//       NETLINK_KOBJECT_UEVENT) bound to group 1.
//   ueventWatch(fd, callback) -> handle
//       Takes ownership of fd. Whenever the socket is readable, every
//       waiting datagram sent by the kernel is passed to
//       callback(null, Buffer). Datagrams from user space (udevd
//       re-broadcasts, or anyone else; their sender port is not 0) are
//       dropped. A receive error is passed as callback(Error, null); after
//       ENOBUFS (events were lost because the socket buffer overflowed)
//       watching goes on, after any other error it stops.
//   ueventUnwatch(handle)
//       Stops watching and closes the fd. Idempotent.
//
// Errors are Node-style system errors (see napi-util.h).

#include "netlink.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "napi-util.h"

// The multicast group the kernel sends uevents to (udevd listens on group 2).
#define UEVENT_KERNEL_GROUP 1
// A uevent is at most a few kilobytes (the kernel caps its environment at 2 KiB).
#define UEVENT_MAX_SIZE 16384
// Receive buffer asked for, so a burst of events at boot is not dropped.
#define UEVENT_RCVBUF (1024 * 1024)
// Datagrams handled per wake-up before yielding to the rest of the event loop;
// the poller is level-triggered, so whatever is left wakes us again.
#define UEVENT_BATCH 64

// ueventOpen(): fd
static napi_value uevent_open(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
  if (fd < 0) return kata_throw_errno(env, "socket(NETLINK_KOBJECT_UEVENT)", errno);

  // Best effort: the forcing variant needs CAP_NET_ADMIN, the plain one is
  // capped by net.core.rmem_max. Either way the default still works.
  int size = UEVENT_RCVBUF;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) {
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }

  struct sockaddr_nl addr;
  memset(&addr, 0, sizeof addr);
  addr.nl_family = AF_NETLINK;
  addr.nl_pid = 0;  // let the kernel pick our port id
  addr.nl_groups = UEVENT_KERNEL_GROUP;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int err = errno;
    close(fd);
    return kata_throw_errno(env, "bind(NETLINK_KOBJECT_UEVENT)", err);
  }
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

// One watched socket. Freed once libuv has closed the poll handle AND the
// JavaScript handle object has been garbage-collected, whichever is last.
typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context async_context;
  int fd;
  int stopped;        // stop requested: poll stopped, fd closed, uv_close called
  int in_teardown;    // the Node environment is going away: no more N-API calls
  int handle_closed;  // libuv's close callback has run
  int finalized;      // the JavaScript handle was collected
  char buffer[UEVENT_MAX_SIZE];
} uevent_watch;

static void teardown_hook(void *arg);

static void maybe_free(uevent_watch *w) {
  if (w->handle_closed && w->finalized) free(w);
}

static void on_handle_closed(uv_handle_t *handle) {
  uevent_watch *w = handle->data;
  if (!w->in_teardown) {
    napi_delete_reference(w->env, w->callback);
    napi_async_destroy(w->env, w->async_context);
    napi_remove_env_cleanup_hook(w->env, teardown_hook, w);
  }
  w->handle_closed = 1;
  maybe_free(w);
}

// Stops watching and closes the fd; the N-API references are released in
// on_handle_closed, after any callback that may be running has returned.
static void stop_watch(uevent_watch *w) {
  if (w->stopped) return;
  w->stopped = 1;
  uv_poll_stop(&w->poll);
  close(w->fd);
  w->fd = -1;
  uv_close((uv_handle_t *)&w->poll, on_handle_closed);
}

static void teardown_hook(void *arg) {
  uevent_watch *w = arg;
  w->in_teardown = 1;
  stop_watch(w);
}

// Calls the JavaScript callback as callback(error, message), like an event
// emitted from Node's own I/O: microtasks run afterwards, and an exception
// it throws becomes an uncaught exception.
static void call_js(uevent_watch *w, napi_value error, napi_value message) {
  napi_env env = w->env;
  napi_value callback, recv, result;
  napi_value argv[2] = {error, message};
  if (napi_get_reference_value(env, w->callback, &callback) != napi_ok || callback == NULL) return;
  napi_get_global(env, &recv);  // napi_make_callback needs an object as `this`
  napi_status status = napi_make_callback(env, w->async_context, recv, callback, 2, argv, &result);
  if (status == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
}

static void deliver_error(uevent_watch *w, const char *syscall, int err) {
  napi_value null_v;
  napi_get_null(w->env, &null_v);
  call_js(w, kata_errno_error(w->env, syscall, err, NULL), null_v);
}

static void deliver_message(uevent_watch *w, size_t length) {
  napi_value null_v, buffer;
  void *data;
  napi_get_null(w->env, &null_v);
  if (napi_create_buffer_copy(w->env, length, w->buffer, &data, &buffer) != napi_ok) return;
  call_js(w, null_v, buffer);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  uevent_watch *w = handle->data;
  if (w->stopped) return;
  napi_handle_scope scope;
  napi_open_handle_scope(w->env, &scope);

  if (status < 0) {
    // libuv reports errors as negative errno values on Linux.
    deliver_error(w, "poll", -status);
    stop_watch(w);
  } else {
    for (int i = 0; i < UEVENT_BATCH && !w->stopped; i++) {
      struct sockaddr_nl sender;
      struct iovec iov = {.iov_base = w->buffer, .iov_len = sizeof w->buffer};
      struct msghdr msg;
      memset(&sender, 0, sizeof sender);
      memset(&msg, 0, sizeof msg);
      msg.msg_name = &sender;
      msg.msg_namelen = sizeof sender;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;

      ssize_t n = recvmsg(w->fd, &msg, MSG_DONTWAIT);
      if (n < 0) {
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) break;
        if (err == EINTR) continue;
        deliver_error(w, "recvmsg", err);
        if (err == ENOBUFS) continue;  // some events were lost; later ones still arrive
        stop_watch(w);
        break;
      }
      if (msg.msg_flags & MSG_TRUNC) continue;  // cannot be a uevent
      if (sender.nl_pid != 0) continue;         // not from the kernel
      deliver_message(w, (size_t)n);
    }
  }
  napi_close_handle_scope(w->env, scope);
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  uevent_watch *w = data;
  stop_watch(w);  // a handle nobody can reach any more cannot be unwatched: stop now
  w->finalized = 1;
  maybe_free(w);
}

// ueventWatch(fd, callback): handle
static napi_value uevent_watch_fd(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  kata_get_args(env, info, 2, argv);
  int32_t fd;
  if (!kata_arg_int32(env, argv[0], "fd", &fd)) return NULL;
  if (kata_type_of(env, argv[1]) != napi_function) return kata_throw_arg_error(env, "callback", "must be a function");
  if (fd < 0) return kata_throw_arg_error(env, "fd", "must not be negative");

  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return kata_throw_errno(env, "uv_default_loop", EINVAL);

  uevent_watch *w = calloc(1, sizeof *w);
  if (w == NULL) return kata_throw_errno(env, "calloc", ENOMEM);
  w->env = env;
  w->fd = fd;
  int rc = uv_poll_init(loop, &w->poll, fd);
  if (rc < 0) {
    free(w);  // never registered with the loop: nothing to close
    return kata_throw_errno(env, "uv_poll_init", -rc);
  }
  w->poll.data = w;

  napi_value resource, name, handle;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "kata:uevent", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &w->async_context);
  napi_create_reference(env, argv[1], 1, &w->callback);
  napi_add_env_cleanup_hook(env, teardown_hook, w);

  rc = uv_poll_start(&w->poll, UV_READABLE, on_readable);
  if (rc < 0) {
    // Close the handle but leave the fd to the caller, who still owns it on failure.
    w->stopped = 1;
    w->finalized = 1;
    uv_close((uv_handle_t *)&w->poll, on_handle_closed);
    return kata_throw_errno(env, "uv_poll_start", -rc);
  }
  if (napi_create_external(env, w, finalize_handle, NULL, &handle) != napi_ok) {
    w->finalized = 1;
    stop_watch(w);
    return kata_throw_errno(env, "napi_create_external", ENOMEM);
  }
  return handle;
}

// ueventUnwatch(handle): void
static napi_value uevent_unwatch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  kata_get_args(env, info, 1, argv);
  if (kata_type_of(env, argv[0]) != napi_external) return kata_throw_arg_error(env, "handle", "must come from ueventWatch()");
  void *data;
  napi_get_value_external(env, argv[0], &data);
  stop_watch((uevent_watch *)data);
  return NULL;
}

napi_status kata_init_netlink(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      KATA_FUNCTION("ueventOpen", uevent_open),
      KATA_FUNCTION("ueventWatch", uevent_watch_fd),
      KATA_FUNCTION("ueventUnwatch", uevent_unwatch),
  };
  return napi_define_properties(env, exports, KATA_COUNT(functions), functions);
}
