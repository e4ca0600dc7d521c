// GF(2^8) arithmetic modulo x^8 + x^4 + x^3 + x^2 + 1 (0x11d) and the erasure-coding hot loop:
// outputs = matrix * inputs, byte-wise over shard buffers. Every kernel gives the same bytes as the
// TypeScript reference (agents/src/sdk/da/gf256.ts); the tests run each one this CPU supports.
#pragma once

#include <cstddef>
#include <cstdint>

namespace daios_da {

enum class Kernel : int {
  Portable = 0,    // 256-byte product tables, any CPU
  Avx2 = 1,        // split-nibble product tables with PSHUFB, 32 bytes at a time
  Avx2Gfni = 2,    // GF2P8AFFINEQB on 32 bytes (one affine map per coefficient)
  Avx512Gfni = 3,  // GF2P8AFFINEQB on 64 bytes
};
constexpr int KERNEL_COUNT = 4;

const char* kernel_name(Kernel kernel);
bool kernel_supported(Kernel kernel);
/** The fastest kernel this CPU supports. */
Kernel best_kernel();

/** The 256 x 256 product table: mul_table()[a * 256 + b] = a * b. */
const uint8_t* mul_table();

/**
 * out[r][0, len) = XOR over c of matrix[r * cols + c] * in[c][0, len), for r < rows. Outputs are
 * overwritten (all zero when cols == 0) and must not overlap the inputs.
 */
void mul_matrix(Kernel kernel, const uint8_t* matrix, size_t rows, size_t cols, const uint8_t* const* in,
                uint8_t* const* out, size_t len);

}  // namespace daios_da
