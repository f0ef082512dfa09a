// Helpers shared by every C file of the addon (see napi-util.h).

#define _GNU_SOURCE  // strerrorname_np
#include "napi-util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- Errors --------------------------------------------------------------

napi_value kata_errno_error(napi_env env, const char *syscall, int err, const char *detail) {
  const char *name = strerrorname_np(err);  // "EINVAL", ...
  if (name == NULL) name = "EUNKNOWN";
  char text[320];
  if (detail != NULL)
    snprintf(text, sizeof text, "%s failed: %s (%s): %s", syscall, strerror(err), name, detail);
  else
    snprintf(text, sizeof text, "%s failed: %s (%s)", syscall, strerror(err), name);

  napi_value code, message, error, errno_value, syscall_value;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);  // sets error.code
  napi_create_int32(env, -err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  return error;
}

napi_value kata_throw_errno(napi_env env, const char *syscall, int err) {
  napi_throw(env, kata_errno_error(env, syscall, err, NULL));
  return NULL;
}

napi_value kata_throw_errno_detail(napi_env env, const char *syscall, int err, const char *detail) {
  napi_throw(env, kata_errno_error(env, syscall, err, detail));
  return NULL;
}

napi_value kata_throw_arg_error(napi_env env, const char *what, const char *problem) {
  char text[200];
  snprintf(text, sizeof text, "%s %s", what, problem);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", text);
  return NULL;
}

// ---- Arguments -----------------------------------------------------------

size_t kata_get_args(napi_env env, napi_callback_info info, size_t max, napi_value *argv) {
  size_t argc = max;
  // Node-API fills the slots past the last argument with undefined.
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  return argc;
}

napi_valuetype kata_type_of(napi_env env, napi_value value) {
  napi_valuetype type = napi_undefined;
  if (value != NULL) napi_typeof(env, value, &type);
  return type;
}

bool kata_arg_int32(napi_env env, napi_value value, const char *what, int32_t *out) {
  if (kata_type_of(env, value) != napi_number) {
    kata_throw_arg_error(env, what, "must be a number");
    return false;
  }
  napi_get_value_int32(env, value, out);
  return true;
}

bool kata_arg_uint32(napi_env env, napi_value value, const char *what, uint32_t *out) {
  if (kata_type_of(env, value) != napi_number) {
    kata_throw_arg_error(env, what, "must be a number");
    return false;
  }
  napi_get_value_uint32(env, value, out);
  return true;
}

bool kata_arg_flags(napi_env env, napi_value value, const char *what, uint32_t *out) {
  if (kata_type_of(env, value) != napi_number) {
    kata_throw_arg_error(env, what, "must be a number");
    return false;
  }
  int64_t n = 0;
  napi_get_value_int64(env, value, &n);
  if (n < 0 || n > 0xffffffffLL) {
    kata_throw_arg_error(env, what, "must be a 32-bit unsigned integer");
    return false;
  }
  *out = (uint32_t)n;
  return true;
}

bool kata_arg_int64_exact(napi_env env, napi_value value, const char *what, int64_t *out) {
  napi_valuetype type = kata_type_of(env, value);
  if (type == napi_bigint) {
    bool lossless = false;
    napi_get_value_bigint_int64(env, value, out, &lossless);
    if (lossless) return true;
  } else if (type == napi_number) {
    double d = 0;
    napi_get_value_double(env, value, &d);
    // In range first (NaN fails both comparisons; 2^63 does not fit int64_t),
    // then exact: the value must survive the round trip through int64_t.
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && (double)(int64_t)d == d) {
      *out = (int64_t)d;
      return true;
    }
  }
  kata_throw_arg_error(env, what, "must be an integer (Number or BigInt within 64 bits)");
  return false;
}

bool kata_arg_bool_or(napi_env env, napi_value value, bool fallback) {
  bool result = fallback;
  if (kata_type_of(env, value) == napi_boolean) napi_get_value_bool(env, value, &result);
  return result;
}

bool kata_arg_string(napi_env env, napi_value value, const char *what, bool nullable, size_t max_len,
                     char **out) {
  *out = NULL;
  napi_valuetype type = kata_type_of(env, value);
  if (nullable && (type == napi_null || type == napi_undefined)) return true;
  if (type != napi_string) {
    kata_throw_arg_error(env, what, nullable ? "must be a string or null" : "must be a string");
    return false;
  }
  size_t len = 0;
  napi_get_value_string_utf8(env, value, NULL, 0, &len);
  if (len >= max_len) {
    kata_throw_arg_error(env, what, "is too long");
    return false;
  }
  char *buf = malloc(len + 1);
  if (buf == NULL) {
    kata_throw_errno(env, "malloc", ENOMEM);
    return false;
  }
  size_t copied = 0;
  napi_get_value_string_utf8(env, value, buf, len + 1, &copied);
  if (strlen(buf) != copied) {
    free(buf);
    kata_throw_arg_error(env, what, "must not contain NUL bytes");
    return false;
  }
  *out = buf;
  return true;
}

// ---- Values --------------------------------------------------------------

napi_value kata_int(napi_env env, int64_t n) {
  napi_value value;
  napi_create_int64(env, n, &value);
  return value;
}

napi_value kata_null(napi_env env) {
  napi_value value;
  napi_get_null(env, &value);
  return value;
}

napi_value kata_undefined(napi_env env) {
  napi_value value;
  napi_get_undefined(env, &value);
  return value;
}
