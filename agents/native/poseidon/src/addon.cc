// Node-API bindings of the native Poseidon hasher (ABI-stable: NAPI_VERSION 8, no V8 or libuv API).
//
//   init(t, fullRounds, partialRounds, C, M, P, S)      install the constants of width t
//   hasWidth(t) -> boolean
//   poseidon(inputs: Uint8Array[] | Uint8Array) -> Uint8Array(32)
//   hashLeaves(data, chunkSize = 256, start = 0, end = chunks, out?) -> Uint8Array((end - start) * 32)
//   hashPairs(level, zero, start = 0, end = parents, out?) -> Uint8Array((end - start) * 32)
//   hashMany(values, arity, start = 0, end = count, out?) -> Uint8Array((end - start) * 32)
//   arithmetic(name?) -> "x86-64-avx512ifma" | "x86-64-adx" | "portable"   select or report it
//
// Every value is 32 bytes big-endian. Ranges let several worker threads share one input buffer
// (a SharedArrayBuffer) and write disjoint parts of one output buffer through `out`. The parameters
// live in per-environment instance data: each worker thread that loads the addon calls init itself.
#include <node_api.h>

#include <cstring>
#include <string>

#include "napi_util.h"
#include "poseidon.h"

using namespace daios;
using namespace daios_napi;

const char* const daios_napi::ERROR_CODE = "ERR_DAIOS_POSEIDON";

namespace {

Params* params_of(napi_env env) { return instance_data<Params>(env); }

napi_value Init(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  if (!check(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr))) return nullptr;
  if (argc < 7) return throw_type(env, "init(t, fullRounds, partialRounds, C, M, P, S) takes 7 arguments");
  int32_t t = 0, full = 0, partial = 0;
  if (napi_get_value_int32(env, argv[0], &t) != napi_ok || napi_get_value_int32(env, argv[1], &full) != napi_ok ||
      napi_get_value_int32(env, argv[2], &partial) != napi_ok) {
    return throw_type(env, "t, fullRounds and partialRounds must be integers");
  }
  Bytes c, m, p, s;
  if (!get_bytes(env, argv[3], c, "C must be a Uint8Array") || !get_bytes(env, argv[4], m, "M must be a Uint8Array") ||
      !get_bytes(env, argv[5], p, "P must be a Uint8Array") || !get_bytes(env, argv[6], s, "S must be a Uint8Array")) {
    return nullptr;
  }
  Params* params = params_of(env);
  if (!params) return throw_type(env, "addon instance data is missing");
  const char* err = set_width(*params, t, full, partial, c.data, c.length, m.data, m.length, p.data, p.length,
                              s.data, s.length);
  if (err) return throw_range(env, err);
  return nullptr;
}

napi_value HasWidth(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (!check(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr))) return nullptr;
  int32_t t = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &t) != napi_ok) return throw_type(env, "t must be an integer");
  Params* params = params_of(env);
  napi_value result;
  if (!check(env, napi_get_boolean(env, params && params->ready(t), &result))) return nullptr;
  return result;
}

napi_value Poseidon(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (!check(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr))) return nullptr;
  if (argc < 1) return throw_type(env, "poseidon(inputs) needs an array of 32-byte values");
  Fe inputs[MAX_WIDTH - 1];
  size_t n = 0;
  bool is_array = false;
  if (!check(env, napi_is_array(env, argv[0], &is_array))) return nullptr;
  if (is_array) {
    uint32_t len = 0;
    if (!check(env, napi_get_array_length(env, argv[0], &len))) return nullptr;
    if (len < 1 || len > MAX_WIDTH - 1) return throw_range(env, "poseidon takes 1 to 16 inputs");
    for (uint32_t i = 0; i < len; i++) {
      napi_value item;
      if (!check(env, napi_get_element(env, argv[0], i, &item))) return nullptr;
      Bytes b;
      if (!get_bytes(env, item, b, "each input must be a 32-byte Uint8Array")) return nullptr;
      if (b.length != 32) return throw_range(env, "each input must be 32 bytes (big-endian)");
      load_element(inputs[i], b.data);
    }
    n = len;
  } else {
    Bytes b;
    if (!get_bytes(env, argv[0], b, "inputs must be an array of Uint8Array or one Uint8Array of 32-byte values")) {
      return nullptr;
    }
    if (b.length % 32 != 0 || b.length < 32 || b.length > 32 * (MAX_WIDTH - 1)) {
      return throw_range(env, "inputs must hold 1 to 16 values of 32 bytes");
    }
    n = b.length / 32;
    for (size_t i = 0; i < n; i++) load_element(inputs[i], b.data + 32 * i);
  }
  Params* params = params_of(env);
  const int t = (int)n + 1;
  if (!params || !params->ready(t)) return throw_range(env, "the constants of this width are not loaded: call init");
  napi_value result;
  uint8_t* out = nullptr;
  if (!make_output(env, nullptr, 32, result, out)) return nullptr;
  // A single hash takes the scalar path (in IFMA mode that is BMI2/ADX): the 8-lane kernel would do
  // eight hashes' work for one. hashMany batches.
  store_be(out, hash(params->widths[t], inputs, params->arith));
  return result;
}

// hashMany(values, arity, start = 0, end = count, out?): hash i = Poseidon(values[i * arity ..
// (i + 1) * arity)) for i in [start, end), where `values` holds count * arity 32-byte values.
napi_value HashMany(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!read_args(env, info, argv, 5)) return nullptr;
  Bytes values;
  if (!get_bytes(env, argv[0], values, "values must be a Uint8Array")) return nullptr;
  size_t arity = 0;
  if (!get_index(env, argv[1], 0, arity, "arity must be an integer from 1 to 16")) return nullptr;
  if (arity < 1 || arity > MAX_WIDTH - 1) return throw_range(env, "arity must be an integer from 1 to 16");
  if (values.length % (32 * arity) != 0) return throw_range(env, "values must hold a multiple of arity 32-byte values");
  const size_t count = values.length / (32 * arity);
  size_t start = 0, end = 0;
  if (!get_range(env, argv[2], argv[3], count, "need start <= end <= number of hashes", start, end)) return nullptr;
  Params* params = params_of(env);
  const int t = (int)arity + 1;
  if (!params || !params->ready(t)) return throw_range(env, "the constants of this width are not loaded: call init");
  napi_value result;
  uint8_t* out = nullptr;
  if (!make_output(env, argv[4], (end - start) * 32, result, out)) return nullptr;

  const Width& w = params->widths[t];
  if (params->arith == Arith::X86Ifma) {
    for (size_t i = start; i < end; i += IFMA_LANES) {
      const int lanes = (int)(end - i < (size_t)IFMA_LANES ? end - i : IFMA_LANES);
      const uint8_t* inputs[IFMA_LANES * (MAX_WIDTH - 1)];
      uint8_t* outs[IFMA_LANES];
      for (int l = 0; l < lanes; l++) {
        for (size_t e = 0; e < arity; e++) inputs[l * arity + e] = values.data + 32 * ((i + l) * arity + e);
        outs[l] = out + 32 * (i + l - start);
      }
      hash_values_batch(w, inputs, lanes, outs);
    }
    return result;
  }
  for (size_t i = start; i < end; i++) {
    Fe inputs[MAX_WIDTH - 1];
    for (size_t e = 0; e < arity; e++) load_element(inputs[e], values.data + 32 * (i * arity + e));
    store_be(out + 32 * (i - start), hash(w, inputs, params->arith));
  }
  return result;
}

napi_value HashLeaves(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!read_args(env, info, argv, 5)) return nullptr;
  Bytes data;
  if (!get_bytes(env, argv[0], data, "data must be a Uint8Array")) return nullptr;
  size_t chunk_size = 0;
  if (!get_index(env, argv[1], 256, chunk_size, "chunkSize must be a positive integer")) return nullptr;
  if (chunk_size < 1 || chunk_size > FIELD_BYTES * (MAX_WIDTH - 1)) {
    return throw_range(env, "chunkSize must be between 1 and 496 bytes (at most 16 field elements)");
  }
  const size_t chunks = (data.length + chunk_size - 1) / chunk_size;
  size_t start = 0, end = 0;
  if (!get_range(env, argv[2], argv[3], chunks, "need start <= end <= number of chunks", start, end)) return nullptr;
  Params* params = params_of(env);
  const int t = width_for_chunk(chunk_size);
  if (!params || !params->ready(t)) return throw_range(env, "the constants of the chunk's width are not loaded: call init");
  napi_value result;
  uint8_t* out = nullptr;
  if (!make_output(env, argv[4], (end - start) * 32, result, out)) return nullptr;

  const Width& w = params->widths[t];
  const Arith arith = params->arith;
  uint8_t padded[FIELD_BYTES * (MAX_WIDTH - 1)];
  // Chunk i, or a zero-padded copy of it when it is the file's short last chunk.
  auto chunk_at = [&](size_t i) -> const uint8_t* {
    const size_t offset = i * chunk_size;
    if (offset + chunk_size <= data.length) return data.data + offset;
    memset(padded, 0, chunk_size);
    memcpy(padded, data.data + offset, data.length - offset);
    return padded;
  };
  if (arith == Arith::X86Ifma) {
    for (size_t i = start; i < end; i += IFMA_LANES) {
      const int lanes = (int)(end - i < (size_t)IFMA_LANES ? end - i : IFMA_LANES);
      const uint8_t* chunks[IFMA_LANES];
      uint8_t* outs[IFMA_LANES];
      for (int l = 0; l < lanes; l++) {
        chunks[l] = chunk_at(i + l);  // only the very last chunk can use `padded`
        outs[l] = out + 32 * (i + l - start);
      }
      hash_chunks_batch(w, chunks, lanes, chunk_size, outs);
    }
    return result;
  }
  for (size_t i = start; i < end; i++) hash_chunk(w, arith, chunk_at(i), chunk_size, out + 32 * (i - start));
  return result;
}

napi_value HashPairs(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!read_args(env, info, argv, 5)) return nullptr;
  Bytes level, zero;
  if (!get_bytes(env, argv[0], level, "level must be a Uint8Array") ||
      !get_bytes(env, argv[1], zero, "zero must be a 32-byte Uint8Array")) {
    return nullptr;
  }
  if (level.length % 32 != 0) return throw_range(env, "level length must be a multiple of 32 bytes");
  if (zero.length != 32) return throw_range(env, "zero must be 32 bytes (big-endian)");
  const size_t nodes = level.length / 32;
  const size_t parents = (nodes + 1) / 2;
  size_t start = 0, end = 0;
  if (!get_range(env, argv[2], argv[3], parents, "need start <= end <= number of parents", start, end)) return nullptr;
  Params* params = params_of(env);
  if (!params || !params->ready(3)) return throw_range(env, "the constants of width 3 are not loaded: call init");
  napi_value result;
  uint8_t* out = nullptr;
  if (!make_output(env, argv[4], (end - start) * 32, result, out)) return nullptr;

  const Width& w = params->widths[3];
  const Arith arith = params->arith;
  if (arith == Arith::X86Ifma) {
    for (size_t i = start; i < end; i += IFMA_LANES) {
      const int lanes = (int)(end - i < (size_t)IFMA_LANES ? end - i : IFMA_LANES);
      const uint8_t* values[2 * IFMA_LANES];
      uint8_t* outs[IFMA_LANES];
      for (int l = 0; l < lanes; l++) {
        const size_t parent = i + l;
        values[2 * l] = level.data + 64 * parent;
        values[2 * l + 1] = 2 * parent + 1 < nodes ? level.data + 64 * parent + 32 : zero.data;
        outs[l] = out + 32 * (parent - start);
      }
      hash_values_batch(w, values, lanes, outs);
    }
    return result;
  }
  for (size_t i = start; i < end; i++) {
    const uint8_t* left = level.data + 64 * i;
    const uint8_t* right = 2 * i + 1 < nodes ? left + 32 : zero.data;
    hash_pair(w, arith, left, right, out + 32 * (i - start));
  }
  return result;
}

// arithmetic(name?) -> the active name. "best" picks the fastest this CPU supports; "portable"
// forces the C++ reference (the tests run both). Per environment, like the constants.
napi_value Arithmetic(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!read_args(env, info, argv, 1)) return nullptr;
  Params* params = params_of(env);
  if (!params) return throw_type(env, "addon instance data is missing");
  if (!is_absent(env, argv[0])) {
    std::string wanted;
    if (!get_name(env, argv[0], wanted, "arithmetic name must be a string")) return nullptr;
    if (wanted == "best") {
      params->arith = best_arith();
    } else if (wanted == arith_name(Arith::Portable)) {
      params->arith = Arith::Portable;
    } else if (wanted == arith_name(Arith::X86Adx)) {
      if (!arith_supported(Arith::X86Adx)) return throw_range(env, "this CPU or build has no x86-64 BMI2/ADX support");
      params->arith = Arith::X86Adx;
    } else if (wanted == arith_name(Arith::X86Ifma)) {
      if (!arith_supported(Arith::X86Ifma)) return throw_range(env, "this CPU or build has no AVX-512 IFMA support");
      params->arith = Arith::X86Ifma;
    } else {
      return throw_range(env, "arithmetic must be \"best\", \"portable\", \"x86-64-adx\" or \"x86-64-avx512ifma\"");
    }
  }
  return make_string(env, arith_name(params->arith));
}

}  // namespace

NAPI_MODULE_INIT() {
  field_setup();
  if (!create_instance_data<Params>(env, "could not allocate the Poseidon parameters")) return nullptr;
  const napi_property_descriptor props[] = {
      {"init", nullptr, Init, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"hasWidth", nullptr, HasWidth, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"poseidon", nullptr, Poseidon, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"hashLeaves", nullptr, HashLeaves, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"hashPairs", nullptr, HashPairs, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"hashMany", nullptr, HashMany, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"arithmetic", nullptr, Arithmetic, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return nullptr;
  return exports;
}
