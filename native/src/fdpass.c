// Handing descriptors from one process to another, the two ways the host
// runtime needs:
//
//   sendFd(socketPath, fd, payload?, timeoutMs?) -> Promise<void>
//       Connects to the Unix stream socket at socketPath, sends fd as an
//       SCM_RIGHTS message and closes the connection: what an OCI runtime
//       does with the pty master for `--console-socket`. The receivers in
//       use (conmon, containerd's shims through go-runc) read one message
//       carrying exactly one descriptor and take its bytes as the file's
//       name; runc sends the master's name, "/dev/ptmx", which is the
//       default payload here. A stream socket passes descriptors only along
//       with data, so the payload may not be empty.
//   getFdOfProcess(pid, fd) -> fd
//       pidfd_open + pidfd_getfd (Linux >= 5.6): a duplicate of descriptor
//       `fd` of process `pid`, sharing its open file description, with
//       close-on-exec set by the kernel. Needs ptrace access to the process
//       (root has it). Errors: ESRCH (no such process), EBADF (the process
//       has no such descriptor), EPERM (no ptrace access), ENOSYS (kernel
//       too old).
//
// getFdOfProcess is synchronous and never blocks. sendFd runs in the libuv
// pool: connect() waits while the listener's backlog is full, so both the
// connect and the send are bounded by timeoutMs (default 5000; 0 means no
// bound), after which the promise rejects with ETIMEDOUT. Failures throw
// (or reject with) Node-style system errors (see napi-util.h); bad
// arguments throw a TypeError.

#define _GNU_SOURCE  // F_DUPFD_CLOEXEC
#include "fdpass.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "napi-util.h"

// The system call numbers are the same on every architecture (the unified
// table from Linux 5.x on); older C library headers may lack the names.
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

// What runc sends along with the pty master: the master's name.
#define DEFAULT_PAYLOAD "/dev/ptmx"
// go-runc refuses names of 4096 bytes or more.
#define MAX_PAYLOAD 4096
#define DEFAULT_TIMEOUT_MS 5000
// The longest path a sockaddr_un holds with its terminating NUL.
#define MAX_SOCKET_PATH (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *path;
  char *payload;
  int fd;  // our own duplicate of the descriptor to send, closed when done
  uint32_t timeout_ms;
  int err;
  const char *syscall;
} send_request;

static void fail(send_request *req, const char *syscall, int err) {
  req->syscall = syscall;
  // A send timeout shows as EAGAIN; say what it is.
  req->err = (err == EAGAIN || err == EWOULDBLOCK) ? ETIMEDOUT : err;
}

// Runs in a pool thread.
static void send_execute(napi_env env, void *data) {
  (void)env;
  send_request *req = data;
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return fail(req, "socket", errno);
  if (req->timeout_ms > 0) {
    // On Unix sockets the send timeout also bounds connect().
    struct timeval tv = {.tv_sec = req->timeout_ms / 1000, .tv_usec = (req->timeout_ms % 1000) * 1000};
    if (setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) {
      fail(req, "setsockopt(SO_SNDTIMEO)", errno);
      close(sock);
      return;
    }
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, req->path, strlen(req->path));  // length checked by the caller
  if (connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0) {
    fail(req, "connect", errno);
    close(sock);
    return;
  }

  size_t len = strlen(req->payload);
  struct iovec iov = {.iov_base = req->payload, .iov_len = len};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &req->fd, sizeof(int));

  // The descriptor travels with the first bytes; the rest of a payload the
  // kernel did not take at once follows as plain data.
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    fail(req, "sendmsg", errno);
    close(sock);
    return;
  }
  size_t sent = (size_t)n;
  while (sent < len) {
    n = send(sock, req->payload + sent, len - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      fail(req, "send", errno);
      break;
    }
    sent += (size_t)n;
  }
  close(sock);
}

// Back on the main thread: settles the promise and frees the request.
static void send_complete(napi_env env, napi_status status, void *data) {
  send_request *req = data;
  if (status != napi_ok) {
    napi_reject_deferred(env, req->deferred, kata_errno_error(env, "sendmsg", ECANCELED, req->path));
  } else if (req->err != 0) {
    napi_reject_deferred(env, req->deferred, kata_errno_error(env, req->syscall, req->err, req->path));
  } else {
    napi_resolve_deferred(env, req->deferred, kata_undefined(env));
  }
  close(req->fd);
  napi_delete_async_work(env, req->work);
  free(req->path);
  free(req->payload);
  free(req);
}

// sendFd(socketPath, fd, payload?, timeoutMs?): Promise<void>
static napi_value send_fd(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  kata_get_args(env, info, 4, argv);
  char *path = NULL, *payload = NULL;
  int32_t fd;
  uint32_t timeout_ms = DEFAULT_TIMEOUT_MS;
  if (!kata_arg_string(env, argv[0], "socketPath", false, 4096, &path)) return NULL;
  if (path[0] == '\0' || strlen(path) > MAX_SOCKET_PATH) {
    free(path);
    char problem[96];
    snprintf(problem, sizeof problem, "must hold 1 to %zu bytes (the size of a Unix socket address)",
             (size_t)MAX_SOCKET_PATH);
    return kata_throw_arg_error(env, "socketPath", problem);
  }
  if (!kata_arg_int32(env, argv[1], "fd", &fd) ||
      !kata_arg_string(env, argv[2], "payload", true, MAX_PAYLOAD, &payload)) {
    free(path);
    return NULL;
  }
  if (payload != NULL && payload[0] == '\0') {
    free(path);
    free(payload);
    return kata_throw_arg_error(env, "payload", "must not be empty (descriptors travel with data)");
  }
  if (kata_type_of(env, argv[3]) != napi_undefined && !kata_arg_uint32(env, argv[3], "timeoutMs", &timeout_ms)) {
    free(path);
    free(payload);
    return NULL;
  }
  if (payload == NULL) payload = strdup(DEFAULT_PAYLOAD);

  send_request *req = calloc(1, sizeof *req);
  if (req == NULL || payload == NULL) {
    free(req);
    free(path);
    free(payload);
    return kata_throw_errno(env, "malloc", ENOMEM);
  }
  req->path = path;
  req->payload = payload;
  req->timeout_ms = timeout_ms;
  // Our own duplicate, taken now: the caller may close fd before the pool
  // thread gets to send it, and its number could meanwhile name another file.
  req->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (req->fd < 0) {
    int err = errno;
    free(req->path);
    free(req->payload);
    free(req);
    return kata_throw_errno(env, "fcntl(F_DUPFD_CLOEXEC)", err);
  }
  napi_value promise, name;
  napi_create_promise(env, &req->deferred, &promise);
  napi_create_string_utf8(env, "kata_send_fd", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, send_execute, send_complete, req, &req->work);
  napi_queue_async_work(env, req->work);
  return promise;
}

// getFdOfProcess(pid, fd): fd
static napi_value get_fd_of_process(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t pid, target;
  kata_get_args(env, info, 2, argv);
  if (!kata_arg_int32(env, argv[0], "pid", &pid) || !kata_arg_int32(env, argv[1], "fd", &target)) return NULL;
  if (pid <= 0) return kata_throw_arg_error(env, "pid", "must be a positive number");
  if (target < 0) return kata_throw_arg_error(env, "fd", "must not be negative");

  char detail[64];
  int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (pidfd < 0) {
    snprintf(detail, sizeof detail, "pid %d", pid);
    return kata_throw_errno_detail(env, "pidfd_open", errno, detail);
  }
  int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target, 0);
  int err = errno;
  close(pidfd);
  if (fd < 0) {
    snprintf(detail, sizeof detail, "fd %d of pid %d", target, pid);
    return kata_throw_errno_detail(env, "pidfd_getfd", err, detail);
  }
  return kata_int(env, fd);
}

napi_status kata_init_fdpass(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      KATA_FUNCTION("sendFd", send_fd),
      KATA_FUNCTION("getFdOfProcess", get_fd_of_process),
  };
  return napi_define_properties(env, exports, KATA_COUNT(functions), functions);
}
