// Process and descriptor system calls the guest agent needs and Node does not
// expose: Node reaps only the children it spawned itself, offers no prctl(),
// pipe(), dup(), fcntl() or ioctl(), and receives descriptors over a Unix
// socket only on its own IPC channel.
//
//   setChildSubreaper(on), isChildSubreaper()   prctl(PR_{SET,GET}_CHILD_SUBREAPER)
//   waitPid(pid)                  waitpid(WNOHANG): reaps one child by pid
//   peekExitedChild()             waitid(P_ALL, WNOWAIT): an exited child, left waitable
//   pipe()                        pipe2(O_CLOEXEC)
//   dup(fd)                       fcntl(F_DUPFD_CLOEXEC)
//   setNonBlocking(fd, on)        fcntl(F_GETFL / F_SETFL, O_NONBLOCK)
//   recvFd(socketFd)              recvmsg(MSG_DONTWAIT) with SCM_RIGHTS
//   setWindowSize(fd, rows, cols), getWindowSize(fd)   ioctl(TIOCSWINSZ / TIOCGWINSZ)
//   addEntropy(fd, data, bits), reseedCrng(fd)   ioctl(RNDADDENTROPY / RNDRESEEDCRNG)
//
// Every function is synchronous and never blocks. Failures throw Node-style
// system errors (see napi-util.h); bad arguments throw a TypeError.

#define _GNU_SOURCE  // pipe2, F_DUPFD_CLOEXEC, MSG_CMSG_CLOEXEC
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "napi-util.h"

// Largest payload accepted by recvFd() along with the descriptor. Runtimes
// send the pty master with a short name (runc: the pty path) as payload.
#define RECV_FD_MAX_DATA 4096

// setChildSubreaper(on: boolean): void
static napi_value set_child_subreaper(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  kata_get_args(env, info, 1, argv);
  bool on = kata_arg_bool_or(env, argv[0], true);
  if (prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0) != 0)
    return kata_throw_errno(env, "prctl(PR_SET_CHILD_SUBREAPER)", errno);
  return NULL;
}

// isChildSubreaper(): boolean
static napi_value is_child_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  int v = 0;
  if (prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&v, 0, 0, 0) != 0)
    return kata_throw_errno(env, "prctl(PR_GET_CHILD_SUBREAPER)", errno);
  napi_value out;
  napi_get_boolean(env, v != 0, &out);
  return out;
}

// waitPid(pid): null while the child runs, else {pid, code, signal} where
// exactly one of code/signal is a number and the other null. Reaps the child.
static napi_value wait_pid(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t pid;
  kata_get_args(env, info, 1, argv);
  if (!kata_arg_int32(env, argv[0], "pid", &pid)) return NULL;
  if (pid <= 0) return kata_throw_arg_error(env, "pid", "must be a positive number");
  int status = 0;
  pid_t r;
  do r = waitpid(pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r < 0) return kata_throw_errno(env, "waitpid", errno);
  if (r == 0) return kata_null(env);
  napi_value out;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "pid", kata_int(env, r));
  if (WIFEXITED(status)) {
    napi_set_named_property(env, out, "code", kata_int(env, WEXITSTATUS(status)));
    napi_set_named_property(env, out, "signal", kata_null(env));
  } else {
    napi_set_named_property(env, out, "code", kata_null(env));
    napi_set_named_property(env, out, "signal",
                            kata_int(env, WIFSIGNALED(status) ? WTERMSIG(status) : 0));
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
    if (errno == ECHILD) return kata_int(env, 0);  // no children at all
    return kata_throw_errno(env, "waitid", errno);
  }
  return kata_int(env, si.si_pid);  // 0 when no child has exited
}

// pipe(): [readFd, writeFd], both close-on-exec and blocking.
static napi_value make_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return kata_throw_errno(env, "pipe2", errno);
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, kata_int(env, fds[0]));
  napi_set_element(env, out, 1, kata_int(env, fds[1]));
  return out;
}

// dup(fd): a close-on-exec duplicate of fd (same open file description).
static napi_value dup_fd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  kata_get_args(env, info, 1, argv);
  if (!kata_arg_int32(env, argv[0], "fd", &fd)) return NULL;
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (r < 0) return kata_throw_errno(env, "fcntl(F_DUPFD_CLOEXEC)", errno);
  return kata_int(env, r);
}

// setNonBlocking(fd, on): void
static napi_value set_non_blocking(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  kata_get_args(env, info, 2, argv);
  if (!kata_arg_int32(env, argv[0], "fd", &fd)) return NULL;
  bool on = kata_arg_bool_or(env, argv[1], true);
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return kata_throw_errno(env, "fcntl(F_GETFL)", errno);
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (fcntl(fd, F_SETFL, flags) != 0) return kata_throw_errno(env, "fcntl(F_SETFL)", errno);
  return NULL;
}

// recvFd(socketFd): receives one message from a Unix stream socket without
// blocking. Returns null if nothing is waiting (EAGAIN), otherwise
// {fd, data}: fd is the first descriptor passed with SCM_RIGHTS (-1 if none;
// any further descriptors are closed) and data the bytes that came with it.
// An empty data with fd -1 means the peer closed the connection.
static napi_value recv_fd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t sock;
  kata_get_args(env, info, 1, argv);
  if (!kata_arg_int32(env, argv[0], "socketFd", &sock)) return NULL;

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
    if (errno == EAGAIN || errno == EWOULDBLOCK) return kata_null(env);
    return kata_throw_errno(env, "recvmsg", errno);
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
  napi_set_named_property(env, out, "fd", kata_int(env, fd));
  napi_create_buffer_copy(env, (size_t)n, data, &dst, &buf);
  napi_set_named_property(env, out, "data", buf);
  return out;
}

// setWindowSize(fd, rows, cols): TIOCSWINSZ on a terminal (e.g. a pty master).
static napi_value set_window_size(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, rows, cols;
  kata_get_args(env, info, 3, argv);
  if (!kata_arg_int32(env, argv[0], "fd", &fd)) return NULL;
  if (!kata_arg_int32(env, argv[1], "rows", &rows)) return NULL;
  if (!kata_arg_int32(env, argv[2], "cols", &cols)) return NULL;
  if (rows < 0 || rows > 0xffff || cols < 0 || cols > 0xffff)
    return kata_throw_arg_error(env, "rows and cols", "must be between 0 and 65535");
  struct winsize ws;
  memset(&ws, 0, sizeof ws);
  ws.ws_row = (unsigned short)rows;
  ws.ws_col = (unsigned short)cols;
  if (ioctl(fd, TIOCSWINSZ, &ws) != 0) return kata_throw_errno(env, "ioctl(TIOCSWINSZ)", errno);
  return NULL;
}

// getWindowSize(fd): {rows, cols} via TIOCGWINSZ.
static napi_value get_window_size(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  kata_get_args(env, info, 1, argv);
  if (!kata_arg_int32(env, argv[0], "fd", &fd)) return NULL;
  struct winsize ws;
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return kata_throw_errno(env, "ioctl(TIOCGWINSZ)", errno);
  napi_value out;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "rows", kata_int(env, ws.ws_row));
  napi_set_named_property(env, out, "cols", kata_int(env, ws.ws_col));
  return out;
}

// addEntropy(fd, data, entropyBits): RNDADDENTROPY on an open /dev/random,
// crediting `entropyBits` bits for `data` (needs CAP_SYS_ADMIN).
static napi_value add_entropy(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, bits;
  kata_get_args(env, info, 3, argv);
  if (!kata_arg_int32(env, argv[0], "fd", &fd)) return NULL;
  bool is_buffer = false;
  napi_is_buffer(env, argv[1], &is_buffer);
  if (!is_buffer) return kata_throw_arg_error(env, "data", "must be a Buffer");
  if (!kata_arg_int32(env, argv[2], "entropyBits", &bits)) return NULL;
  void *bytes;
  size_t len;
  napi_get_buffer_info(env, argv[1], &bytes, &len);
  if (bits < 0 || (size_t)bits > len * 8)
    return kata_throw_arg_error(env, "entropyBits", "must be between 0 and 8 * data.length");

  struct rand_pool_info *pool = malloc(sizeof *pool + len);
  if (pool == NULL) return kata_throw_errno(env, "malloc", ENOMEM);
  pool->entropy_count = bits;
  pool->buf_size = (int)len;
  memcpy(pool->buf, bytes, len);
  int r = ioctl(fd, RNDADDENTROPY, pool);
  int err = errno;
  free(pool);
  if (r != 0) return kata_throw_errno(env, "ioctl(RNDADDENTROPY)", err);
  return NULL;
}

// reseedCrng(fd): RNDRESEEDCRNG on an open /dev/random (Linux >= 4.17).
static napi_value reseed_crng(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  kata_get_args(env, info, 1, argv);
  if (!kata_arg_int32(env, argv[0], "fd", &fd)) return NULL;
#ifdef RNDRESEEDCRNG
  if (ioctl(fd, RNDRESEEDCRNG) != 0) return kata_throw_errno(env, "ioctl(RNDRESEEDCRNG)", errno);
  return NULL;
#else
  return kata_throw_errno(env, "ioctl(RNDRESEEDCRNG)", EINVAL);
#endif
}

napi_status kata_init_process(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      KATA_FUNCTION("setChildSubreaper", set_child_subreaper),
      KATA_FUNCTION("isChildSubreaper", is_child_subreaper),
      KATA_FUNCTION("waitPid", wait_pid),
      KATA_FUNCTION("peekExitedChild", peek_exited_child),
      KATA_FUNCTION("pipe", make_pipe),
      KATA_FUNCTION("dup", dup_fd),
      KATA_FUNCTION("setNonBlocking", set_non_blocking),
      KATA_FUNCTION("recvFd", recv_fd),
      KATA_FUNCTION("setWindowSize", set_window_size),
      KATA_FUNCTION("getWindowSize", get_window_size),
      KATA_FUNCTION("addEntropy", add_entropy),
      KATA_FUNCTION("reseedCrng", reseed_crng),
  };
  return napi_define_properties(env, exports, KATA_COUNT(functions), functions);
}
