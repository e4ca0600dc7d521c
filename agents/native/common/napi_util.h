// Node-API argument and buffer helpers shared by daios's native addons (ABI-stable: NAPI_VERSION 8).
//
// Each addon defines the error code its exceptions carry, once, in its addon.cc:
//   const char* const daios_napi::ERROR_CODE = "ERR_DAIOS_...";
// Every helper that fails has already thrown a JS exception; the caller returns nullptr.
#ifndef DAIOS_NATIVE_COMMON_NAPI_UTIL_H
#define DAIOS_NATIVE_COMMON_NAPI_UTIL_H

#include <node_api.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string>

namespace daios_napi {

/** The `code` property of every error the addon throws (defined by the addon). */
extern const char* const ERROR_CODE;

/** True on napi_ok; otherwise throws the call's error (unless one is already pending). */
inline bool check(napi_env env, napi_status status) {
  if (status == napi_ok) return true;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    const napi_extended_error_info* info = nullptr;
    napi_get_last_error_info(env, &info);
    napi_throw_error(env, ERROR_CODE, info && info->error_message ? info->error_message : "Node-API call failed");
  }
  return false;
}

inline napi_value throw_type(napi_env env, const char* message) {
  napi_throw_type_error(env, ERROR_CODE, message);
  return nullptr;
}

inline napi_value throw_range(napi_env env, const char* message) {
  napi_throw_range_error(env, ERROR_CODE, message);
  return nullptr;
}

/** Reads up to `count` arguments into argv; missing ones are `undefined` (so optional arguments default). */
inline bool read_args(napi_env env, napi_callback_info info, napi_value* argv, size_t count) {
  size_t argc = count;
  if (!check(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr))) return false;
  napi_value undefined;
  if (!check(env, napi_get_undefined(env, &undefined))) return false;
  for (size_t i = argc; i < count; i++) argv[i] = undefined;
  return true;
}

/** The per-environment instance data (one per worker thread that loads the addon), or nullptr. */
template <typename T>
T* instance_data(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok) return nullptr;
  return static_cast<T*>(data);
}

/** Allocates a T as this environment's instance data (freed with the environment); throws `failure`. */
template <typename T>
T* create_instance_data(napi_env env, const char* failure) {
  T* data = new (std::nothrow) T();
  napi_finalize free_data = [](napi_env, void* d, void*) { delete static_cast<T*>(d); };
  if (!data || napi_set_instance_data(env, data, free_data, nullptr) != napi_ok) {
    delete data;
    napi_throw_error(env, ERROR_CODE, failure);
    return nullptr;
  }
  return data;
}

struct Bytes {
  uint8_t* data = nullptr;
  size_t length = 0;
};

inline bool is_absent(napi_env env, napi_value v) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok) return true;
  return type == napi_undefined || type == napi_null;
}

/** A Uint8Array (or Buffer) argument, over an ArrayBuffer or a SharedArrayBuffer. */
inline bool get_bytes(napi_env env, napi_value v, Bytes& out, const char* what) {
  bool is_typed = false;
  if (!check(env, napi_is_typedarray(env, v, &is_typed))) return false;
  if (!is_typed) {
    throw_type(env, what);
    return false;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (!check(env, napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr))) return false;
  if (type != napi_uint8_array) {
    throw_type(env, what);
    return false;
  }
  out.data = static_cast<uint8_t*>(data);
  out.length = length;
  return true;
}

/** An optional non-negative integer argument (a JS number with an integral value). */
inline bool get_index(napi_env env, napi_value v, size_t fallback, size_t& out, const char* what) {
  if (is_absent(env, v)) {
    out = fallback;
    return true;
  }
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok || !std::isfinite(d) || d < 0 || d != std::floor(d) ||
      d > 9007199254740991.0) {
    throw_type(env, what);
    return false;
  }
  out = (size_t)d;
  return true;
}

/** The optional range arguments [start = 0, end = count) over `count` items, checked against count. */
inline bool get_range(napi_env env, napi_value start_arg, napi_value end_arg, size_t count, const char* out_of_range,
                      size_t& start, size_t& end) {
  if (!get_index(env, start_arg, 0, start, "start must be a non-negative integer") ||
      !get_index(env, end_arg, count, end, "end must be a non-negative integer")) {
    return false;
  }
  if (start > end || end > count) {
    throw_range(env, out_of_range);
    return false;
  }
  return true;
}

/** The output view: the caller's `out` (checked for size) or a fresh Uint8Array. */
inline bool make_output(napi_env env, napi_value given, size_t bytes, napi_value& result, uint8_t*& data) {
  if (!is_absent(env, given)) {
    Bytes out;
    if (!get_bytes(env, given, out, "out must be a Uint8Array")) return false;
    if (out.length < bytes) {
      throw_range(env, "out is too small for the requested range (32 bytes per hash)");
      return false;
    }
    result = given;
    data = out.data;
    return true;
  }
  napi_value buffer;
  void* raw = nullptr;
  if (!check(env, napi_create_arraybuffer(env, bytes, &raw, &buffer))) return false;
  if (!check(env, napi_create_typedarray(env, napi_uint8_array, bytes, buffer, 0, &result))) return false;
  data = static_cast<uint8_t*>(raw);
  return true;
}

/** A short string argument (an implementation's name); `what` is the TypeError's message. */
inline bool get_name(napi_env env, napi_value v, std::string& out, const char* what) {
  char name[32];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, name, sizeof name, &len) != napi_ok) {
    throw_type(env, what);
    return false;
  }
  out.assign(name, len);
  return true;
}

inline napi_value make_string(napi_env env, const char* s) {
  napi_value result;
  if (!check(env, napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &result))) return nullptr;
  return result;
}

}  // namespace daios_napi

#endif  // DAIOS_NATIVE_COMMON_NAPI_UTIL_H
