// The SIMD kernels. Each function carries its own target attribute, so the addon as a whole is
// built for baseline x86-64 and runs anywhere; gf256.cc calls a kernel only when the CPU has it.
#include "kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(DAIOS_DA_NO_SIMD)
#include <immintrin.h>
#define DAIOS_X86 1
#endif

namespace daios_da {

#ifdef DAIOS_X86

namespace {

// One group of G consecutive output rows over bytes [begin, end) (a multiple of 32 bytes): each
// input vector is loaded once and multiplied into all G accumulators. Per coefficient, PSHUFB
// looks up the products of the low and of the high nibble of every byte; their XOR is the product.
template <int G>
__attribute__((target("avx2"))) void group_avx2(const uint8_t* nibbles, size_t cols, const uint8_t* const* in,
                                                uint8_t* const* out, size_t begin, size_t end) {
  const __m256i mask = _mm256_set1_epi8(0x0f);
  for (size_t i = begin; i < end; i += 32) {
    __m256i acc[G];
    for (int g = 0; g < G; g++) acc[g] = _mm256_setzero_si256();
    for (size_t c = 0; c < cols; c++) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in[c] + i));
      const __m256i lo = _mm256_and_si256(x, mask);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), mask);
      const uint8_t* t = nibbles + 32 * c;
      for (int g = 0; g < G; g++, t += 32 * cols) {
        const __m256i tl = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t)));
        const __m256i th = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t + 16)));
        acc[g] = _mm256_xor_si256(acc[g], _mm256_xor_si256(_mm256_shuffle_epi8(tl, lo), _mm256_shuffle_epi8(th, hi)));
      }
    }
    for (int g = 0; g < G; g++) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[g] + i), acc[g]);
  }
}

// GFNI: one GF2P8AFFINEQB per coefficient and vector (the 8x8 bit matrix of "times c").
template <int G>
__attribute__((target("avx2,gfni"))) void group_avx2_gfni(const uint64_t* affine, size_t cols,
                                                          const uint8_t* const* in, uint8_t* const* out,
                                                          size_t begin, size_t end) {
  for (size_t i = begin; i < end; i += 32) {
    __m256i acc[G];
    for (int g = 0; g < G; g++) acc[g] = _mm256_setzero_si256();
    for (size_t c = 0; c < cols; c++) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in[c] + i));
      for (int g = 0; g < G; g++) {
        const __m256i a = _mm256_set1_epi64x(static_cast<long long>(affine[g * cols + c]));
        acc[g] = _mm256_xor_si256(acc[g], _mm256_gf2p8affine_epi64_epi8(x, a, 0));
      }
    }
    for (int g = 0; g < G; g++) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[g] + i), acc[g]);
  }
}

template <int G>
__attribute__((target("avx512f,avx512bw,gfni"))) void group_avx512_gfni(const uint64_t* affine, size_t cols,
                                                                        const uint8_t* const* in,
                                                                        uint8_t* const* out, size_t begin,
                                                                        size_t end) {
  for (size_t i = begin; i < end; i += 64) {
    __m512i acc[G];
    for (int g = 0; g < G; g++) acc[g] = _mm512_setzero_si512();
    for (size_t c = 0; c < cols; c++) {
      const __m512i x = _mm512_loadu_si512(in[c] + i);
      for (int g = 0; g < G; g++) {
        const __m512i a = _mm512_set1_epi64(static_cast<long long>(affine[g * cols + c]));
        acc[g] = _mm512_xor_si512(acc[g], _mm512_gf2p8affine_epi64_epi8(x, a, 0));
      }
    }
    for (int g = 0; g < G; g++) _mm512_storeu_si512(out[g] + i, acc[g]);
  }
}

// Splits the rows into groups of at most `max_group` and the bytes into blocks; the bytes past the
// last whole vector go to the portable code.
template <class Coef>
void drive(const uint8_t* matrix, const Coef* coefficients, size_t per_coefficient, size_t rows, size_t cols,
           const uint8_t* const* in, uint8_t* const* out, size_t len, size_t vector_bytes, int max_group,
           void (*group)(int g, const Coef* coefficients, size_t cols, const uint8_t* const* in, uint8_t* const* out,
                         size_t begin, size_t end)) {
  const size_t whole = len - len % vector_bytes;
  for (size_t begin = 0; begin < whole; begin += BLOCK_BYTES) {
    const size_t end = begin + BLOCK_BYTES < whole ? begin + BLOCK_BYTES : whole;
    for (size_t r = 0; r < rows; r += (size_t)max_group) {
      const int g = rows - r < (size_t)max_group ? (int)(rows - r) : max_group;
      group(g, coefficients + r * cols * per_coefficient, cols, in, out + r, begin, end);
    }
  }
  if (whole < len) rows_portable(matrix, cols, in, out, rows, whole, len);
}

void dispatch_avx2(int g, const uint8_t* nibbles, size_t cols, const uint8_t* const* in, uint8_t* const* out,
                   size_t begin, size_t end) {
  switch (g) {
    case 1: return group_avx2<1>(nibbles, cols, in, out, begin, end);
    case 2: return group_avx2<2>(nibbles, cols, in, out, begin, end);
    case 3: return group_avx2<3>(nibbles, cols, in, out, begin, end);
    default: return group_avx2<4>(nibbles, cols, in, out, begin, end);
  }
}

void dispatch_avx2_gfni(int g, const uint64_t* affine, size_t cols, const uint8_t* const* in, uint8_t* const* out,
                        size_t begin, size_t end) {
  switch (g) {
    case 1: return group_avx2_gfni<1>(affine, cols, in, out, begin, end);
    case 2: return group_avx2_gfni<2>(affine, cols, in, out, begin, end);
    case 3: return group_avx2_gfni<3>(affine, cols, in, out, begin, end);
    case 4: return group_avx2_gfni<4>(affine, cols, in, out, begin, end);
    case 5: return group_avx2_gfni<5>(affine, cols, in, out, begin, end);
    case 6: return group_avx2_gfni<6>(affine, cols, in, out, begin, end);
    case 7: return group_avx2_gfni<7>(affine, cols, in, out, begin, end);
    default: return group_avx2_gfni<8>(affine, cols, in, out, begin, end);
  }
}

void dispatch_avx512_gfni(int g, const uint64_t* affine, size_t cols, const uint8_t* const* in, uint8_t* const* out,
                          size_t begin, size_t end) {
  switch (g) {
    case 1: return group_avx512_gfni<1>(affine, cols, in, out, begin, end);
    case 2: return group_avx512_gfni<2>(affine, cols, in, out, begin, end);
    case 3: return group_avx512_gfni<3>(affine, cols, in, out, begin, end);
    case 4: return group_avx512_gfni<4>(affine, cols, in, out, begin, end);
    case 5: return group_avx512_gfni<5>(affine, cols, in, out, begin, end);
    case 6: return group_avx512_gfni<6>(affine, cols, in, out, begin, end);
    case 7: return group_avx512_gfni<7>(affine, cols, in, out, begin, end);
    default: return group_avx512_gfni<8>(affine, cols, in, out, begin, end);
  }
}

}  // namespace

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

bool cpu_has_avx2_gfni() { return cpu_has_avx2() && __builtin_cpu_supports("gfni"); }

bool cpu_has_avx512_gfni() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("gfni");
}

void mul_matrix_avx2(const uint8_t* matrix, const uint8_t* nibbles, size_t rows, size_t cols,
                     const uint8_t* const* in, uint8_t* const* out, size_t len) {
  drive<uint8_t>(matrix, nibbles, 32, rows, cols, in, out, len, 32, 4, dispatch_avx2);
}

void mul_matrix_avx2_gfni(const uint8_t* matrix, const uint64_t* affine, size_t rows, size_t cols,
                          const uint8_t* const* in, uint8_t* const* out, size_t len) {
  drive<uint64_t>(matrix, affine, 1, rows, cols, in, out, len, 32, 8, dispatch_avx2_gfni);
}

void mul_matrix_avx512_gfni(const uint8_t* matrix, const uint64_t* affine, size_t rows, size_t cols,
                            const uint8_t* const* in, uint8_t* const* out, size_t len) {
  drive<uint64_t>(matrix, affine, 1, rows, cols, in, out, len, 64, 8, dispatch_avx512_gfni);
}

#else  // not x86-64: only the portable kernel exists

bool cpu_has_avx2() { return false; }
bool cpu_has_avx2_gfni() { return false; }
bool cpu_has_avx512_gfni() { return false; }

void mul_matrix_avx2(const uint8_t* matrix, const uint8_t*, size_t rows, size_t cols, const uint8_t* const* in,
                     uint8_t* const* out, size_t len) {
  rows_portable(matrix, cols, in, out, rows, 0, len);
}
void mul_matrix_avx2_gfni(const uint8_t* matrix, const uint64_t*, size_t rows, size_t cols,
                          const uint8_t* const* in, uint8_t* const* out, size_t len) {
  rows_portable(matrix, cols, in, out, rows, 0, len);
}
void mul_matrix_avx512_gfni(const uint8_t* matrix, const uint64_t*, size_t rows, size_t cols,
                            const uint8_t* const* in, uint8_t* const* out, size_t len) {
  rows_portable(matrix, cols, in, out, rows, 0, len);
}

#endif

}  // namespace daios_da
