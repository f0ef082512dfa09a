// Helpers shared by every C file of the addon: errors shaped like Node's own
// system errors, reading and checking arguments, and small value makers.
#ifndef KATA_TS_NATIVE_NAPI_UTIL_H
#define KATA_TS_NATIVE_NAPI_UTIL_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// A property descriptor for a plain enumerable function, for the tables each
// file passes to napi_define_properties().
#define KATA_FUNCTION(name, callback) \
  { (name), NULL, (callback), NULL, NULL, NULL, napi_enumerable, NULL }

#define KATA_COUNT(array) (sizeof(array) / sizeof((array)[0]))

// ---- Errors --------------------------------------------------------------

// An Error like the ones Node throws for failed system calls, carrying
// `code` (the errno name, e.g. "EINVAL"; "EUNKNOWN" if the C library has
// none), `errno` (negative, as Node's are) and `syscall`. The message reads
// "<syscall> failed: <strerror text> (<code>)", followed by ": <detail>"
// when `detail` is not NULL. Not thrown: for callbacks and promises.
napi_value kata_errno_error(napi_env env, const char *syscall, int err, const char *detail);

// Throws kata_errno_error(env, syscall, err, NULL). Returns NULL, so a
// callback can end with `return kata_throw_errno(...)`.
napi_value kata_throw_errno(napi_env env, const char *syscall, int err);

// The same with a detail appended to the message (e.g. which value was bad).
napi_value kata_throw_errno_detail(napi_env env, const char *syscall, int err, const char *detail);

// Throws a TypeError with code ERR_INVALID_ARG_TYPE, as Node does for bad
// arguments, with the message "<what> <problem>" (e.g. "fd must be a
// number"). Returns NULL, like kata_throw_errno().
napi_value kata_throw_arg_error(napi_env env, const char *what, const char *problem);

// ---- Arguments -----------------------------------------------------------
// Each kata_arg_* reads one argument. `value` may be NULL (taken as
// undefined). On a value of the wrong kind it throws a TypeError naming
// `what` and returns false.

// The type of `value`; NULL counts as undefined.
napi_valuetype kata_type_of(napi_env env, napi_value value);

// Copies the call's arguments into argv[0..max); missing ones are undefined.
// Returns how many were passed.
size_t kata_get_args(napi_env env, napi_callback_info info, size_t max, napi_value *argv);

// A Number, converted as JavaScript's ToInt32 would (fractions truncated).
bool kata_arg_int32(napi_env env, napi_value value, const char *what, int32_t *out);

// A Number, converted as JavaScript's ToUint32 would (so -1 is 0xffffffff).
bool kata_arg_uint32(napi_env env, napi_value value, const char *what, uint32_t *out);

// A flag word: a Number from 0 to 2^32 - 1 (a fraction is dropped).
bool kata_arg_flags(napi_env env, napi_value value, const char *what, uint32_t *out);

// An exact integer: a Number with no fraction within the range of int64_t,
// or a BigInt that fits in 64 bits.
bool kata_arg_int64_exact(napi_env env, napi_value value, const char *what, int64_t *out);

// A boolean; anything else (undefined included) gives `fallback`. Never throws.
bool kata_arg_bool_or(napi_env env, napi_value value, bool fallback);

// A string copied into a new heap buffer (*out, freed by the caller). When
// `nullable`, null or undefined give *out = NULL. Strings of `max_len` bytes
// or more, and strings holding a NUL byte (which C would silently cut
// short), are refused with a TypeError. Returns false after throwing, with
// *out = NULL.
bool kata_arg_string(napi_env env, napi_value value, const char *what, bool nullable, size_t max_len,
                     char **out);

// ---- Values --------------------------------------------------------------

napi_value kata_int(napi_env env, int64_t n);
napi_value kata_null(napi_env env);
napi_value kata_undefined(napi_env env);

#ifdef __cplusplus
}
#endif

#endif
