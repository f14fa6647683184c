// Reading JS arguments: a wrong type is a programming error in our own TS wrapper, so it throws a TypeError.
#include "mesh_native.h"

int mt_get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "missing arguments");
    return -1;
  }
  return 0;
}

int mt_get_i32(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a number");
    return -1;
  }
  return 0;
}

int mt_get_u32(napi_env env, napi_value v, uint32_t *out) {
  if (napi_get_value_uint32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a number");
    return -1;
  }
  return 0;
}

static size_t element_size(napi_typedarray_type type) {
  switch (type) {
  case napi_uint32_array:
  case napi_int32_array:
    return 4;
  default:
    return 1;
  }
}

// Accepts a typed array of `type` (a Buffer is a Uint8Array) and returns its bytes past byteOffset.
int mt_get_view(napi_env env, napi_value v, napi_typedarray_type type, mt_view_t *out) {
  bool is_typed = false;
  napi_typedarray_type actual;
  napi_value arraybuffer;
  size_t offset;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, v, &actual, &out->length, &out->data, &arraybuffer, &offset) != napi_ok ||
      actual != type) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a typed array of another kind");
    return -1;
  }
  out->byte_length = out->length * element_size(type);
  return 0;
}

int mt_get_args_upto(napi_env env, napi_callback_info info, size_t want, size_t max, napi_value *argv, size_t *argc) {
  *argc = max;
  if (napi_get_cb_info(env, info, argc, argv, NULL, NULL) != napi_ok || *argc < want) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "missing arguments");
    return -1;
  }
  if (*argc > max) *argc = max;
  return 0;
}
