// Pseudo-terminals on the host. When a container asks for a terminal, an OCI
// runtime creates a pty pair, hands the master to its caller (conmon,
// containerd's shim) over the console socket and connects the container to
// the slave. Our runtime does the same on the host side; the container's
// real terminal is a second pty inside the guest, and the host slave is only
// a relay end, which is why it is switched to raw mode. Node has no way to
// create a pty or change terminal attributes of an arbitrary descriptor.
//
//   openPty() -> {master, slave, path}   posix_openpt + grantpt + unlockpt + ptsname_r + open
//   setRawMode(fd) -> Buffer              tcgetattr + cfmakeraw + tcsetattr(TCSANOW); returns
//                                         the attributes it replaced (an opaque struct termios)
//   setTerminalAttributes(fd, saved)      tcsetattr(TCSANOW) with attributes setRawMode returned
//
// All are synchronous and never block. Failures throw Node-style system
// errors (see napi-util.h); bad arguments throw a TypeError.

#define _GNU_SOURCE  // ptsname_r, cfmakeraw
#include "pty.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "napi-util.h"

// Closes fd without touching errno, so a failure path can report the errno
// of the call that failed rather than the one of the clean-up.
static void close_keep_errno(int fd) {
  int saved = errno;
  close(fd);
  errno = saved;
}

// openPty(): a new pty pair, both ends close-on-exec and neither becoming
// our controlling terminal: {master, slave, path}, path being the slave's
// name (/dev/pts/N).
static napi_value open_pty(napi_env env, napi_callback_info info) {
  (void)info;
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return kata_throw_errno(env, "posix_openpt", errno);
  const char *failed = NULL;
  char path[PATH_MAX];
  if (grantpt(master) != 0) failed = "grantpt";
  else if (unlockpt(master) != 0) failed = "unlockpt";
  else {
    int err = ptsname_r(master, path, sizeof path);  // returns the error number
    if (err != 0) {
      errno = err;
      failed = "ptsname_r";
    }
  }
  if (failed != NULL) {
    close_keep_errno(master);
    return kata_throw_errno(env, failed, errno);
  }
  int slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    close_keep_errno(master);
    return kata_throw_errno_detail(env, "open", errno, path);
  }
  napi_value out, path_value;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "master", kata_int(env, master));
  napi_set_named_property(env, out, "slave", kata_int(env, slave));
  napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &path_value);
  napi_set_named_property(env, out, "path", path_value);
  return out;
}

// setRawMode(fd): no echo, no line editing, no signal characters, no
// translation of input or output bytes (cfmakeraw), applied at once.
// Terminal attributes belong to the terminal, not to the descriptor: every
// descriptor of the same terminal sees the change. Returns the previous
// attributes as a Buffer holding a struct termios, for
// setTerminalAttributes() to put back.
static napi_value set_raw_mode(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  kata_get_args(env, info, 1, argv);
  if (!kata_arg_int32(env, argv[0], "fd", &fd)) return NULL;
  struct termios previous, raw;
  if (tcgetattr(fd, &previous) != 0) return kata_throw_errno(env, "tcgetattr", errno);
  raw = previous;
  cfmakeraw(&raw);
  if (tcsetattr(fd, TCSANOW, &raw) != 0) return kata_throw_errno(env, "tcsetattr", errno);
  napi_value saved;
  void *copy;
  napi_create_buffer_copy(env, sizeof previous, &previous, &copy, &saved);
  return saved;
}

// setTerminalAttributes(fd, saved): applies attributes setRawMode() returned.
static napi_value set_terminal_attributes(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  kata_get_args(env, info, 2, argv);
  if (!kata_arg_int32(env, argv[0], "fd", &fd)) return NULL;
  bool is_buffer = false;
  napi_is_buffer(env, argv[1], &is_buffer);
  void *bytes = NULL;
  size_t len = 0;
  if (is_buffer) napi_get_buffer_info(env, argv[1], &bytes, &len);
  if (!is_buffer || len != sizeof(struct termios))
    return kata_throw_arg_error(env, "saved", "must be a Buffer returned by setRawMode()");
  struct termios attrs;
  memcpy(&attrs, bytes, sizeof attrs);
  if (tcsetattr(fd, TCSANOW, &attrs) != 0) return kata_throw_errno(env, "tcsetattr", errno);
  return NULL;
}

napi_status kata_init_pty(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      KATA_FUNCTION("openPty", open_pty),
      KATA_FUNCTION("setRawMode", set_raw_mode),
      KATA_FUNCTION("setTerminalAttributes", set_terminal_attributes),
  };
  return napi_define_properties(env, exports, KATA_COUNT(functions), functions);
}
