// Process-related system calls that Node does not expose, for the guest agent:
// child-subreaper mode, reaping children by pid, pipes, receiving a file
// descriptor over a Unix socket (SCM_RIGHTS), duplicating descriptors, pty
// window size, and feeding entropy to the kernel.
//
// Every function is synchronous and non-blocking. Errors are thrown as
// JavaScript Errors carrying `code` (e.g. "ECHILD"), `errno` and `syscall`,
// like Node's own system errors.
//
// The functions are attached to the addon's exports by kata_process_init(),
// which the module's single init function calls.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <node_api.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "process.h"

// Largest payload accepted by recvFd() along with the descriptor. Runtimes
// send the pty master with a short name (runc: the pty path) as payload.
#define RECV_FD_MAX_DATA 4096

// Returns NULL after throwing, so callers can `return throw_errno(...)`.
static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  char msg[256];
  const char *name = strerrorname_np(err);  // "ECHILD", ...
  if (name == NULL) name = "EUNKNOWN";
  snprintf(msg, sizeof msg, "%s failed: %s (%s)", syscall, strerror(err), name);
  napi_value code_v, msg_v, error, errno_v, syscall_v;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code_v);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &msg_v);
  napi_create_error(env, code_v, msg_v, &error);
  napi_create_int32(env, -err, &errno_v);
  napi_set_named_property(env, error, "errno", errno_v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_v);
  napi_set_named_property(env, error, "syscall", syscall_v);
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

// Reads argument `i` as an int32; throws a TypeError naming `what` otherwise.
static int get_int_arg(napi_env env, napi_value *argv, size_t argc, size_t i,
                       const char *what, int32_t *out) {
  napi_valuetype t = napi_undefined;
  if (i < argc) napi_typeof(env, argv[i], &t);
  if (t != napi_number) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a number", what);
    throw_type(env, msg);
    return 0;
  }
  napi_get_value_int32(env, argv[i], out);
  return 1;
}

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

static napi_value make_null(napi_env env) {
  napi_value out;
  napi_get_null(env, &out);
  return out;
}

// setChildSubreaper(on: boolean): void
static napi_value set_child_subreaper(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool on = true;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) napi_get_value_bool(env, argv[0], &on);
  if (prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0) != 0)
    return throw_errno(env, "prctl(PR_SET_CHILD_SUBREAPER)", errno);
  return NULL;
}

// isChildSubreaper(): boolean
static napi_value is_child_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  int v = 0;
  if (prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&v, 0, 0, 0) != 0)
    return throw_errno(env, "prctl(PR_GET_CHILD_SUBREAPER)", errno);
  napi_value out;
  napi_get_boolean(env, v != 0, &out);
  return out;
}

// waitPid(pid): null while the child runs, else {pid, code, signal} where
// exactly one of code/signal is a number and the other null. Reaps the child.
static napi_value wait_pid(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t pid;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_int_arg(env, argv, argc, 0, "pid", &pid)) return NULL;
  if (pid <= 0) return throw_type(env, "pid must be a positive number");
  int status = 0;
  pid_t r;
  do r = waitpid(pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r < 0) return throw_errno(env, "waitpid", errno);
  if (r == 0) return make_null(env);
  napi_value out;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "pid", make_int(env, r));
  if (WIFEXITED(status)) {
    napi_set_named_property(env, out, "code", make_int(env, WEXITSTATUS(status)));
    napi_set_named_property(env, out, "signal", make_null(env));
  } else {
    napi_set_named_property(env, out, "code", make_null(env));
    napi_set_named_property(env, out, "signal",
                            make_int(env, WIFSIGNALED(status) ? WTERMSIG(status) : 0));
  }
  return out;
}

// peekExitedChild(): pid of some child that has exited but was not reaped,
// or 0. Leaves the child waitable (WNOWAIT), so its owner can still reap it.
static napi_value peek_exited_child(napi_env env, napi_callback_info info) {
  (void)info;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r;
  do r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == ECHILD) return make_int(env, 0);  // no children at all
    return throw_errno(env, "waitid", errno);
  }
  return make_int(env, si.si_pid);  // 0 when no child has exited
}

// pipe(): [readFd, writeFd], both close-on-exec and blocking.
static napi_value make_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return throw_errno(env, "pipe2", errno);
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, make_int(env, fds[0]));
  napi_set_element(env, out, 1, make_int(env, fds[1]));
  return out;
}

// dup(fd): a close-on-exec duplicate of fd (same open file description).
static napi_value dup_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_int_arg(env, argv, argc, 0, "fd", &fd)) return NULL;
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (r < 0) return throw_errno(env, "fcntl(F_DUPFD_CLOEXEC)", errno);
  return make_int(env, r);
}

// setNonBlocking(fd, on): void
static napi_value set_non_blocking(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  bool on = true;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_int_arg(env, argv, argc, 0, "fd", &fd)) return NULL;
  if (argc >= 2) napi_get_value_bool(env, argv[1], &on);
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return throw_errno(env, "fcntl(F_GETFL)", errno);
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (fcntl(fd, F_SETFL, flags) != 0) return throw_errno(env, "fcntl(F_SETFL)", errno);
  return NULL;
}

// recvFd(socketFd): receives one message from a Unix stream socket without
// blocking. Returns null if nothing is waiting (EAGAIN), otherwise
// {fd, data}: fd is the first descriptor passed with SCM_RIGHTS (-1 if none;
// any further descriptors are closed) and data the bytes that came with it.
// An empty data with fd -1 means the peer closed the connection.
static napi_value recv_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t sock;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_int_arg(env, argv, argc, 0, "socketFd", &sock)) return NULL;

  char data[RECV_FD_MAX_DATA];
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * 4)];
  } control;
  struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  memset(&control, 0, sizeof control);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;

  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return make_null(env);
    return throw_errno(env, "recvmsg", errno);
  }

  int fd = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int *fds = (int *)CMSG_DATA(c);
    for (size_t i = 0; i < count; i++) {
      if (fd < 0) fd = fds[i];
      else close(fds[i]);  // we only want one; never leak the rest
    }
  }

  napi_value out, buf;
  void *dst;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "fd", make_int(env, fd));
  napi_create_buffer_copy(env, (size_t)n, data, &dst, &buf);
  napi_set_named_property(env, out, "data", buf);
  return out;
}

// setWindowSize(fd, rows, cols): TIOCSWINSZ on a terminal (e.g. a pty master).
static napi_value set_window_size(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd, rows, cols;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_int_arg(env, argv, argc, 0, "fd", &fd)) return NULL;
  if (!get_int_arg(env, argv, argc, 1, "rows", &rows)) return NULL;
  if (!get_int_arg(env, argv, argc, 2, "cols", &cols)) return NULL;
  if (rows < 0 || rows > 0xffff || cols < 0 || cols > 0xffff)
    return throw_type(env, "rows and cols must be between 0 and 65535");
  struct winsize ws;
  memset(&ws, 0, sizeof ws);
  ws.ws_row = (unsigned short)rows;
  ws.ws_col = (unsigned short)cols;
  if (ioctl(fd, TIOCSWINSZ, &ws) != 0) return throw_errno(env, "ioctl(TIOCSWINSZ)", errno);
  return NULL;
}

// getWindowSize(fd): {rows, cols} via TIOCGWINSZ.
static napi_value get_window_size(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_int_arg(env, argv, argc, 0, "fd", &fd)) return NULL;
  struct winsize ws;
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return throw_errno(env, "ioctl(TIOCGWINSZ)", errno);
  napi_value out;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "rows", make_int(env, ws.ws_row));
  napi_set_named_property(env, out, "cols", make_int(env, ws.ws_col));
  return out;
}

// addEntropy(fd, data, entropyBits): RNDADDENTROPY on an open /dev/random,
// crediting `entropyBits` bits for `data` (needs CAP_SYS_ADMIN).
static napi_value add_entropy(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd, bits;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_int_arg(env, argv, argc, 0, "fd", &fd)) return NULL;
  bool is_buffer = false;
  if (argc >= 2) napi_is_buffer(env, argv[1], &is_buffer);
  if (!is_buffer) return throw_type(env, "data must be a Buffer");
  if (!get_int_arg(env, argv, argc, 2, "entropyBits", &bits)) return NULL;
  void *bytes;
  size_t len;
  napi_get_buffer_info(env, argv[1], &bytes, &len);
  if (bits < 0 || (size_t)bits > len * 8)
    return throw_type(env, "entropyBits must be between 0 and 8 * data.length");

  struct rand_pool_info *pool = malloc(sizeof *pool + len);
  if (pool == NULL) return throw_errno(env, "malloc", ENOMEM);
  pool->entropy_count = bits;
  pool->buf_size = (int)len;
  memcpy(pool->buf, bytes, len);
  int r = ioctl(fd, RNDADDENTROPY, pool);
  int err = errno;
  free(pool);
  if (r != 0) return throw_errno(env, "ioctl(RNDADDENTROPY)", err);
  return NULL;
}

// reseedCrng(fd): RNDRESEEDCRNG on an open /dev/random (Linux >= 4.17).
static napi_value reseed_crng(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_int_arg(env, argv, argc, 0, "fd", &fd)) return NULL;
#ifdef RNDRESEEDCRNG
  if (ioctl(fd, RNDRESEEDCRNG) != 0) return throw_errno(env, "ioctl(RNDRESEEDCRNG)", errno);
  return NULL;
#else
  return throw_errno(env, "ioctl(RNDRESEEDCRNG)", EINVAL);
#endif
}

napi_value kata_process_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"setChildSubreaper", NULL, set_child_subreaper, NULL, NULL, NULL, napi_enumerable, NULL},
      {"isChildSubreaper", NULL, is_child_subreaper, NULL, NULL, NULL, napi_enumerable, NULL},
      {"waitPid", NULL, wait_pid, NULL, NULL, NULL, napi_enumerable, NULL},
      {"peekExitedChild", NULL, peek_exited_child, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pipe", NULL, make_pipe, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dup", NULL, dup_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setNonBlocking", NULL, set_non_blocking, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recvFd", NULL, recv_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setWindowSize", NULL, set_window_size, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getWindowSize", NULL, get_window_size, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addEntropy", NULL, add_entropy, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reseedCrng", NULL, reseed_crng, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
