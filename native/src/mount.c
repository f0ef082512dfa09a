// mount(2) and umount2(2) for the guest agent's storage handlers; Node has
// no way to mount a filesystem.
//
//   mount(source, target, fstype, flags, data)   -> undefined
//   umount2(target, flags)                        -> undefined
//
// source, fstype and data may be null (passed to the kernel as NULL); target
// is a string. flags are the MS_* / MNT_* bits as a number. Both calls are
// synchronous. A failed system call throws a Node-style system error (see
// napi-util.h). Strings with an embedded NUL byte are refused with a
// TypeError: C would silently cut them short, which could change the meaning
// of a path or of the option string.

#include "mount.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mount.h>

#include "napi-util.h"

// Longest string accepted for any argument. Paths are limited to PATH_MAX
// (4096) by the kernel and mount data to one page; this only bounds copying.
#define MOUNT_ARG_MAX 65536

// mount(source, target, fstype, flags, data): void
static napi_value do_mount(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  kata_get_args(env, info, 5, argv);

  char *source = NULL, *target = NULL, *fstype = NULL, *data = NULL;
  uint32_t flags = 0;
  napi_value result = NULL;
  if (kata_arg_string(env, argv[0], "source", true, MOUNT_ARG_MAX, &source) &&
      kata_arg_string(env, argv[1], "target", false, MOUNT_ARG_MAX, &target) &&
      kata_arg_string(env, argv[2], "fstype", true, MOUNT_ARG_MAX, &fstype) &&
      kata_arg_flags(env, argv[3], "flags", &flags) &&
      kata_arg_string(env, argv[4], "data", true, MOUNT_ARG_MAX, &data)) {
    if (mount(source, target, fstype, flags, data) != 0) {
      kata_throw_errno(env, "mount", errno);
    } else {
      result = kata_undefined(env);
    }
  }
  free(source);
  free(target);
  free(fstype);
  free(data);
  return result;
}

// umount2(target, flags): void
static napi_value do_umount2(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  kata_get_args(env, info, 2, argv);

  char *target = NULL;
  uint32_t flags = 0;
  napi_value result = NULL;
  if (kata_arg_string(env, argv[0], "target", false, MOUNT_ARG_MAX, &target) &&
      kata_arg_flags(env, argv[1], "flags", &flags)) {
    if (umount2(target, (int)flags) != 0) {
      kata_throw_errno(env, "umount2", errno);
    } else {
      result = kata_undefined(env);
    }
  }
  free(target);
  return result;
}

napi_status kata_init_mount(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      KATA_FUNCTION("mount", do_mount),
      KATA_FUNCTION("umount2", do_umount2),
  };
  return napi_define_properties(env, exports, KATA_COUNT(functions), functions);
}
