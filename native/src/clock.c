// clock_settime(CLOCK_REALTIME) for the guest agent's SetGuestDateTime; Node
// can read the clock but not set it.
//
//   setRealtimeClock(sec, usec)   -> undefined
//
// sec and usec are integers (Numbers or BigInts): seconds since the epoch and
// microseconds within that second. Out-of-range values (sec < 0, usec outside
// [0, 1000000), sec beyond time_t) are refused here with an EINVAL error
// before any system call is made, so a bad request can never move the clock.
// Failures throw a Node-style system error with `syscall` "clock_settime"
// (see napi-util.h); arguments that are not integers give a TypeError.

#include "clock.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "napi-util.h"

#define USEC_PER_SEC 1000000LL
#define NSEC_PER_USEC 1000LL

// setRealtimeClock(sec, usec): void
static napi_value set_realtime_clock(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  kata_get_args(env, info, 2, argv);
  int64_t sec = 0, usec = 0;
  if (!kata_arg_int64_exact(env, argv[0], "sec", &sec)) return NULL;
  if (!kata_arg_int64_exact(env, argv[1], "usec", &usec)) return NULL;

  // Checked here, before the system call, whatever the caller checked.
  if (sec < 0) return kata_throw_errno_detail(env, "clock_settime", EINVAL, "sec is negative");
  if (usec < 0 || usec >= USEC_PER_SEC)
    return kata_throw_errno_detail(env, "clock_settime", EINVAL, "usec is outside [0, 1000000)");
  struct timespec ts;
  ts.tv_sec = (time_t)sec;
  if ((int64_t)ts.tv_sec != sec)
    return kata_throw_errno_detail(env, "clock_settime", EINVAL, "sec does not fit time_t");
  ts.tv_nsec = (long)(usec * NSEC_PER_USEC);

  if (clock_settime(CLOCK_REALTIME, &ts) != 0) return kata_throw_errno(env, "clock_settime", errno);
  return NULL;
}

napi_status kata_init_clock(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      KATA_FUNCTION("setRealtimeClock", set_realtime_clock),
  };
  return napi_define_properties(env, exports, KATA_COUNT(functions), functions);
}
