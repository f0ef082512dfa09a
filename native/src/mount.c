// mount(2) and umount2(2), which Node does not expose, for the guest agent's
// storage handlers:
//
//   mount(source, target, fstype, flags, data)   -> undefined
//   umount2(target, flags)                        -> undefined
//
// source, fstype and data may be null (passed to the kernel as NULL); target
// is a string. flags are the MS_* / MNT_* bits as a number. Both calls are
// synchronous. A failed system call throws an Error carrying `code` (e.g.
// "EBUSY"), `errno` (negative, as in Node) and `syscall`, like Node's own
// system errors. Strings with an embedded NUL byte are refused with a
// TypeError: C would silently cut them short, which could change the meaning
// of a path or of the option string.
//
// The functions are attached to the addon's exports by kata_mount_init(),
// which the module's single init function calls.

#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "mount.h"

// Longest string accepted for any argument. Paths are limited to PATH_MAX
// (4096) by the kernel and mount data to one page; this only bounds copying.
#define MOUNT_ARG_MAX 65536

// Throws an Error like Node's system errors; returns NULL for `return`.
static napi_value mount_throw_errno(napi_env env, const char *syscall, int err) {
  char msg[256];
  const char *name = strerrorname_np(err);
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

static void mount_throw_type(napi_env env, const char *what, const char *problem) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s %s", what, problem);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
}

// Copies argument `v` into a new heap string (*out, to be freed by the
// caller). A null or undefined value gives *out = NULL when `nullable`.
// Returns 0 after throwing a TypeError.
static int get_string(napi_env env, napi_value v, const char *what, int nullable, char **out) {
  *out = NULL;
  napi_valuetype t = napi_undefined;
  if (v != NULL) napi_typeof(env, v, &t);
  if (nullable && (t == napi_null || t == napi_undefined)) return 1;
  if (t != napi_string) {
    mount_throw_type(env, what, nullable ? "must be a string or null" : "must be a string");
    return 0;
  }
  size_t len = 0;
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  if (len >= MOUNT_ARG_MAX) {
    mount_throw_type(env, what, "is too long");
    return 0;
  }
  char *buf = malloc(len + 1);
  if (buf == NULL) {
    mount_throw_errno(env, "malloc", ENOMEM);
    return 0;
  }
  size_t copied = 0;
  napi_get_value_string_utf8(env, v, buf, len + 1, &copied);
  if (strlen(buf) != copied) {
    free(buf);
    mount_throw_type(env, what, "must not contain NUL bytes");
    return 0;
  }
  *out = buf;
  return 1;
}

// Reads a flags argument: a non-negative integer that fits in 32 bits
// (every MS_* and MNT_* flag does).
static int get_flags(napi_env env, napi_value v, const char *what, unsigned long *out) {
  napi_valuetype t = napi_undefined;
  if (v != NULL) napi_typeof(env, v, &t);
  if (t != napi_number) {
    mount_throw_type(env, what, "must be a number");
    return 0;
  }
  int64_t n = 0;
  napi_get_value_int64(env, v, &n);
  if (n < 0 || n > 0xffffffffLL) {
    mount_throw_type(env, what, "must be a 32-bit unsigned integer");
    return 0;
  }
  *out = (unsigned long)n;
  return 1;
}

static napi_value do_mount(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5] = {NULL, NULL, NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);

  char *source = NULL, *target = NULL, *fstype = NULL, *data = NULL;
  unsigned long flags = 0;
  napi_value result = NULL;
  if (get_string(env, argv[0], "source", 1, &source) &&
      get_string(env, argv[1], "target", 0, &target) &&
      get_string(env, argv[2], "fstype", 1, &fstype) &&
      get_flags(env, argv[3], "flags", &flags) &&
      get_string(env, argv[4], "data", 1, &data)) {
    if (mount(source, target, fstype, flags, data) != 0) {
      mount_throw_errno(env, "mount", errno);
    } else {
      napi_get_undefined(env, &result);
    }
  }
  free(source);
  free(target);
  free(fstype);
  free(data);
  return result;
}

static napi_value do_umount2(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);

  char *target = NULL;
  unsigned long flags = 0;
  napi_value result = NULL;
  if (get_string(env, argv[0], "target", 0, &target) && get_flags(env, argv[1], "flags", &flags)) {
    if (umount2(target, (int)flags) != 0) {
      mount_throw_errno(env, "umount2", errno);
    } else {
      napi_get_undefined(env, &result);
    }
  }
  free(target);
  return result;
}

napi_value kata_mount_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mount", NULL, do_mount, NULL, NULL, NULL, napi_enumerable, NULL},
      {"umount2", NULL, do_umount2, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
