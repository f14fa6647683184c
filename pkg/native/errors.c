// Errors reach JS the way node's own do: an Error whose `code` is the errno name ('EBUSY'), `errno` the number
// and `syscall` the operation that failed.
#define _GNU_SOURCE // strerrorname_np
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "mesh_native.h"

napi_value mt_errno_error(napi_env env, const char *op, int err) {
  // glibc names every errno; libuv (whose codes are the negated errno values on Linux) is the fallback.
  const char *name = strerrorname_np(err);
  if (name == NULL) name = uv_err_name(-err);
  char text[256];
  snprintf(text, sizeof(text), "%s: %s", op, strerror(err));

  napi_value code, message, error, errno_value, syscall;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_create_string_utf8(env, op, NAPI_AUTO_LENGTH, &syscall);
  napi_set_named_property(env, error, "syscall", syscall);
  return error;
}

void mt_throw_errno(napi_env env, const char *op, int err) {
  napi_throw(env, mt_errno_error(env, op, err));
}

void mt_throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
}
