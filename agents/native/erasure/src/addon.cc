// Node-API bindings of the DA coding addon (ABI-stable: NAPI_VERSION 8, no V8 or libuv API).
//
//   mulMatrix(matrix, rows, cols, inputs, outputs, start = 0, end = shard length)
//       outputs[r][start, end) = XOR_c matrix[r * cols + c] * inputs[c][start, end) in GF(2^8)/0x11d
//   kernel(name?) -> "avx512-gfni" | "avx2-gfni" | "avx2" | "portable"       select or report it
//   kernels() -> the kernels this CPU supports, fastest first
//   sha256(data) -> Uint8Array(32)
//   hashLeaves(data, chunkSize, start = 0, end = chunks, out?) -> (end - start) x 32 bytes
//       leaf i = sha256(0x00 || chunk i), the last chunk zero-padded to chunkSize
//   hashNodes(level, zero, start = 0, end = parents, out?) -> (end - start) x 32 bytes
//       parent i = sha256(0x01 || node 2i || node 2i+1), an odd last node paired with `zero`
//   sha(name?) -> "sha-ni" | "portable"                                       select or report it
//   shas() -> the SHA-256 implementations this CPU supports, fastest first
//
// The selections live in per-environment instance data, so each worker thread chooses its own.
// Ranges let several threads fill disjoint parts of shared buffers.
#include <node_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include "gf256.h"
#include "napi_util.h"
#include "sha256.h"

using namespace daios_da;
using namespace daios_napi;

const char* const daios_napi::ERROR_CODE = "ERR_DAIOS_ERASURE";

namespace {

constexpr size_t MAX_SHARDS = 256;

struct State {
  Kernel kernel = best_kernel();
  Sha sha = best_sha();
};

State* state_of(napi_env env) { return instance_data<State>(env); }

// An array of Uint8Arrays.
bool get_buffers(napi_env env, napi_value v, std::vector<Bytes>& out, const char* what) {
  bool is_array = false;
  if (!check(env, napi_is_array(env, v, &is_array))) return false;
  if (!is_array) {
    throw_type(env, what);
    return false;
  }
  uint32_t length = 0;
  if (!check(env, napi_get_array_length(env, v, &length))) return false;
  if (length > MAX_SHARDS) {
    throw_range(env, "at most 256 shards per call");
    return false;
  }
  out.resize(length);
  for (uint32_t i = 0; i < length; i++) {
    napi_value item;
    if (!check(env, napi_get_element(env, v, i, &item))) return false;
    if (!get_bytes(env, item, out[i], what)) return false;
  }
  return true;
}

bool overlaps(const uint8_t* a, size_t a_len, const uint8_t* b, size_t b_len) {
  return a_len > 0 && b_len > 0 && a < b + b_len && b < a + a_len;
}

napi_value MulMatrix(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!read_args(env, info, argv, 7)) return nullptr;
  Bytes matrix;
  if (!get_bytes(env, argv[0], matrix, "matrix must be a Uint8Array (rows x cols coefficients, row-major)")) {
    return nullptr;
  }
  size_t rows = 0, cols = 0;
  if (!get_index(env, argv[1], 0, rows, "rows must be a non-negative integer") ||
      !get_index(env, argv[2], 0, cols, "cols must be a non-negative integer")) {
    return nullptr;
  }
  if (rows > MAX_SHARDS || cols > MAX_SHARDS) return throw_range(env, "rows and cols must be at most 256");
  if (matrix.length != rows * cols) return throw_range(env, "matrix must hold exactly rows x cols coefficients");
  std::vector<Bytes> inputs, outputs;
  if (!get_buffers(env, argv[3], inputs, "inputs must be an array of Uint8Arrays") ||
      !get_buffers(env, argv[4], outputs, "outputs must be an array of Uint8Arrays")) {
    return nullptr;
  }
  if (inputs.size() != cols) return throw_range(env, "inputs must hold cols shards");
  if (outputs.size() != rows) return throw_range(env, "outputs must hold rows shards");
  size_t shortest = SIZE_MAX;
  for (const Bytes& b : inputs) shortest = b.length < shortest ? b.length : shortest;
  for (const Bytes& b : outputs) shortest = b.length < shortest ? b.length : shortest;
  if (shortest == SIZE_MAX) shortest = 0;
  size_t start = 0, end = 0;
  if (!get_range(env, argv[5], argv[6], shortest, "need start <= end <= the length of every shard", start, end)) {
    return nullptr;
  }
  const size_t len = end - start;
  std::vector<const uint8_t*> in(cols);
  std::vector<uint8_t*> out(rows);
  for (size_t c = 0; c < cols; c++) in[c] = inputs[c].data + start;
  for (size_t r = 0; r < rows; r++) {
    out[r] = outputs[r].data + start;
    for (size_t c = 0; c < cols; c++) {
      if (overlaps(out[r], len, in[c], len)) return throw_range(env, "an output shard overlaps an input shard");
    }
    for (size_t q = 0; q < r; q++) {
      if (overlaps(out[r], len, out[q], len)) return throw_range(env, "two output shards overlap");
    }
  }
  State* state = state_of(env);
  if (!state) return throw_type(env, "addon instance data is missing");
  mul_matrix(state->kernel, matrix.data, rows, cols, in.data(), out.data(), len);
  return nullptr;
}

// kernel(name?): "best", a kernel name, or nothing (report only).
napi_value KernelFn(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!read_args(env, info, argv, 1)) return nullptr;
  State* state = state_of(env);
  if (!state) return throw_type(env, "addon instance data is missing");
  if (!is_absent(env, argv[0])) {
    std::string wanted;
    if (!get_name(env, argv[0], wanted, "the name must be a string")) return nullptr;
    if (wanted == "best") {
      state->kernel = best_kernel();
    } else {
      bool found = false;
      for (int k = 0; k < KERNEL_COUNT; k++) {
        if (wanted != kernel_name((Kernel)k)) continue;
        if (!kernel_supported((Kernel)k)) return throw_range(env, "this CPU does not support that kernel");
        state->kernel = (Kernel)k;
        found = true;
      }
      if (!found) return throw_range(env, "kernel must be \"best\", \"avx512-gfni\", \"avx2-gfni\", \"avx2\" or \"portable\"");
    }
  }
  return make_string(env, kernel_name(state->kernel));
}

napi_value name_list(napi_env env, int count, bool (*supported)(int), const char* (*name)(int)) {
  napi_value array;
  if (!check(env, napi_create_array(env, &array))) return nullptr;
  uint32_t n = 0;
  for (int i = count - 1; i >= 0; i--) {  // the enums are ordered slowest first
    if (!supported(i)) continue;
    napi_value s = make_string(env, name(i));
    if (!s || !check(env, napi_set_element(env, array, n++, s))) return nullptr;
  }
  return array;
}

napi_value Kernels(napi_env env, napi_callback_info) {
  return name_list(
      env, KERNEL_COUNT, [](int k) { return kernel_supported((Kernel)k); }, [](int k) { return kernel_name((Kernel)k); });
}

napi_value ShaFn(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!read_args(env, info, argv, 1)) return nullptr;
  State* state = state_of(env);
  if (!state) return throw_type(env, "addon instance data is missing");
  if (!is_absent(env, argv[0])) {
    std::string wanted;
    if (!get_name(env, argv[0], wanted, "the name must be a string")) return nullptr;
    if (wanted == "best") {
      state->sha = best_sha();
    } else if (wanted == sha_name(Sha::Portable)) {
      state->sha = Sha::Portable;
    } else if (wanted == sha_name(Sha::ShaNi)) {
      if (!sha_supported(Sha::ShaNi)) return throw_range(env, "this CPU has no SHA extensions (sha-ni)");
      state->sha = Sha::ShaNi;
    } else {
      return throw_range(env, "sha must be \"best\", \"sha-ni\" or \"portable\"");
    }
  }
  return make_string(env, sha_name(state->sha));
}

napi_value Shas(napi_env env, napi_callback_info) {
  return name_list(
      env, SHA_COUNT, [](int s) { return sha_supported((Sha)s); }, [](int s) { return sha_name((Sha)s); });
}

napi_value Sha256Fn(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!read_args(env, info, argv, 1)) return nullptr;
  Bytes data;
  if (!get_bytes(env, argv[0], data, "data must be a Uint8Array")) return nullptr;
  State* state = state_of(env);
  if (!state) return throw_type(env, "addon instance data is missing");
  napi_value result;
  uint8_t* out = nullptr;
  if (!make_output(env, nullptr, 32, result, out)) return nullptr;
  sha256(state->sha, data.data, data.length, out);
  return result;
}

napi_value HashLeaves(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!read_args(env, info, argv, 5)) return nullptr;
  Bytes data;
  if (!get_bytes(env, argv[0], data, "data must be a Uint8Array")) return nullptr;
  size_t chunk_size = 0;
  if (!get_index(env, argv[1], 0, chunk_size, "chunkSize must be a positive integer")) return nullptr;
  if (chunk_size == 0 || chunk_size > (1u << 30)) return throw_range(env, "chunkSize must be between 1 and 2^30");
  const size_t chunks = (data.length + chunk_size - 1) / chunk_size;
  size_t start = 0, end = 0;
  if (!get_range(env, argv[2], argv[3], chunks, "need start <= end <= number of chunks", start, end)) return nullptr;
  State* state = state_of(env);
  if (!state) return throw_type(env, "addon instance data is missing");
  napi_value result;
  uint8_t* out = nullptr;
  if (!make_output(env, argv[4], (end - start) * 32, result, out)) return nullptr;
  if (overlaps(out, (end - start) * 32, data.data, data.length)) return throw_range(env, "out overlaps data");
  hash_leaves(state->sha, data.data, data.length, chunk_size, start, end, out);
  return result;
}

napi_value HashNodes(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!read_args(env, info, argv, 5)) return nullptr;
  Bytes level, zero;
  if (!get_bytes(env, argv[0], level, "level must be a Uint8Array") ||
      !get_bytes(env, argv[1], zero, "zero must be a 32-byte Uint8Array")) {
    return nullptr;
  }
  if (level.length % 32 != 0) return throw_range(env, "level length must be a multiple of 32 bytes");
  if (zero.length != 32) return throw_range(env, "zero must be 32 bytes");
  const size_t nodes = level.length / 32;
  const size_t parents = (nodes + 1) / 2;
  size_t start = 0, end = 0;
  if (!get_range(env, argv[2], argv[3], parents, "need start <= end <= number of parents", start, end)) return nullptr;
  State* state = state_of(env);
  if (!state) return throw_type(env, "addon instance data is missing");
  napi_value result;
  uint8_t* out = nullptr;
  if (!make_output(env, argv[4], (end - start) * 32, result, out)) return nullptr;
  if (overlaps(out, (end - start) * 32, level.data, level.length)) return throw_range(env, "out overlaps level");
  hash_nodes(state->sha, level.data, nodes, zero.data, start, end, out);
  return result;
}

}  // namespace

NAPI_MODULE_INIT() {
  mul_table();  // builds the product table once per process
  if (!create_instance_data<State>(env, "could not allocate the addon state")) return nullptr;
  const napi_property_descriptor props[] = {
      {"mulMatrix", nullptr, MulMatrix, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"kernel", nullptr, KernelFn, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"kernels", nullptr, Kernels, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sha256", nullptr, Sha256Fn, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"hashLeaves", nullptr, HashLeaves, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"hashNodes", nullptr, HashNodes, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sha", nullptr, ShaFn, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"shas", nullptr, Shas, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return nullptr;
  return exports;
}
