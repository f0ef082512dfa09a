// clock_settime(CLOCK_REALTIME), which Node does not expose, for the guest
// agent's SetGuestDateTime:
//
//   setRealtimeClock(sec, usec)   -> undefined
//
// sec and usec are integers (Numbers or BigInts): seconds since the epoch and
// microseconds within that second. Out-of-range values (sec < 0, usec outside
// [0, 1000000), sec beyond time_t) are refused here with an EINVAL error
// before any system call is made, so a bad request can never move the clock.
// A failed call throws an Error carrying `code` (e.g. "EPERM"), `errno`
// (negative, as in Node) and `syscall` ("clock_settime"), like Node's own
// system errors. Arguments that are not integers give a TypeError.
//
// The function is attached to the addon's exports by kata_clock_init(), which
// the module's single init function calls.

#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"

#define USEC_PER_SEC 1000000LL
#define NSEC_PER_USEC 1000LL

// Throws an Error like Node's system errors; returns NULL for `return`.
static napi_value clock_throw_errno(napi_env env, const char *syscall, int err, const char *detail) {
  char msg[256];
  const char *name = strerrorname_np(err);
  if (name == NULL) name = "EUNKNOWN";
  if (detail != NULL)
    snprintf(msg, sizeof msg, "%s failed: %s (%s): %s", syscall, strerror(err), name, detail);
  else
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

// Reads an integer argument given as a Number (which must hold an exact
// integer) or a BigInt (which must fit in 64 bits). Returns false after
// throwing a TypeError naming `what`.
static bool clock_get_int64(napi_env env, napi_value v, const char *what, int64_t *out) {
  napi_valuetype t = napi_undefined;
  if (v != NULL) napi_typeof(env, v, &t);
  if (t == napi_bigint) {
    bool lossless = false;
    napi_get_value_bigint_int64(env, v, out, &lossless);
    if (lossless) return true;
  } else if (t == napi_number) {
    double d = 0;
    napi_get_value_double(env, v, &d);
    // In range first (NaN fails both comparisons; 2^63 does not fit int64_t),
    // then exact: the value must survive the round trip through int64_t.
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && (double)(int64_t)d == d) {
      *out = (int64_t)d;
      return true;
    }
  }
  char msg[128];
  snprintf(msg, sizeof msg, "%s must be an integer (Number or BigInt within 64 bits)", what);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return false;
}

// setRealtimeClock(sec, usec)
static napi_value set_realtime_clock(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t sec = 0, usec = 0;
  if (!clock_get_int64(env, argc > 0 ? argv[0] : NULL, "sec", &sec)) return NULL;
  if (!clock_get_int64(env, argc > 1 ? argv[1] : NULL, "usec", &usec)) return NULL;

  // Checked here, before the system call, whatever the caller checked.
  if (sec < 0) return clock_throw_errno(env, "clock_settime", EINVAL, "sec is negative");
  if (usec < 0 || usec >= USEC_PER_SEC)
    return clock_throw_errno(env, "clock_settime", EINVAL, "usec is outside [0, 1000000)");
  struct timespec ts;
  ts.tv_sec = (time_t)sec;
  if ((int64_t)ts.tv_sec != sec) return clock_throw_errno(env, "clock_settime", EINVAL, "sec does not fit time_t");
  ts.tv_nsec = (long)(usec * NSEC_PER_USEC);

  if (clock_settime(CLOCK_REALTIME, &ts) != 0) return clock_throw_errno(env, "clock_settime", errno, NULL);
  return NULL;
}

napi_value kata_clock_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"setRealtimeClock", NULL, set_realtime_clock, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
