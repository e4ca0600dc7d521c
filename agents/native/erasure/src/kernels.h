// Internal to the addon: the pieces of gf256.cc's mul_matrix that the SIMD kernels share.
#pragma once

#include <cstddef>
#include <cstdint>

namespace daios_da {

/** Bytes of every shard handled per pass over the rows (inputs and outputs of a block stay in L1/L2). */
constexpr size_t BLOCK_BYTES = 4096;

bool cpu_has_avx2();
bool cpu_has_avx2_gfni();
bool cpu_has_avx512_gfni();

/** The GF2P8AFFINEQB matrix of multiplication by c, from c's 256 products (mul_table() + 256 * c). */
uint64_t affine_matrix(const uint8_t* products);

/** Rows [0, rows) of the product over bytes [begin, end) with 256-byte tables (also the SIMD tails). */
void rows_portable(const uint8_t* matrix, size_t cols, const uint8_t* const* in, uint8_t* const* out, size_t rows,
                   size_t begin, size_t end);

/** `nibbles`: per coefficient (row-major) 16 low-nibble then 16 high-nibble products. */
void mul_matrix_avx2(const uint8_t* matrix, const uint8_t* nibbles, size_t rows, size_t cols,
                     const uint8_t* const* in, uint8_t* const* out, size_t len);
/** `affine`: per coefficient (row-major) its GF2P8AFFINEQB matrix. */
void mul_matrix_avx2_gfni(const uint8_t* matrix, const uint64_t* affine, size_t rows, size_t cols,
                          const uint8_t* const* in, uint8_t* const* out, size_t len);
void mul_matrix_avx512_gfni(const uint8_t* matrix, const uint64_t* affine, size_t rows, size_t cols,
                            const uint8_t* const* in, uint8_t* const* out, size_t len);

}  // namespace daios_da
