#include "gf256.h"

#include <cstring>
#include <vector>

#include "kernels.h"

namespace daios_da {

namespace {

struct Tables {
  uint8_t mul[256 * 256];
  Tables() {
    // exp/log over the generator x (= 2), which is primitive for 0x11d.
    uint8_t exp[510];
    int log[256] = {0};
    int v = 1;
    for (int i = 0; i < 255; i++) {
      exp[i] = (uint8_t)v;
      exp[i + 255] = (uint8_t)v;
      log[v] = i;
      v <<= 1;
      if (v & 0x100) v ^= 0x11d;
    }
    for (int a = 0; a < 256; a++) {
      for (int b = 0; b < 256; b++) {
        mul[a * 256 + b] = (a == 0 || b == 0) ? 0 : exp[log[a] + log[b]];
      }
    }
  }
};

const Tables& tables() {
  static const Tables t;  // built once, thread-safe (C++11 static initialisation)
  return t;
}

}  // namespace

const uint8_t* mul_table() { return tables().mul; }

void rows_portable(const uint8_t* matrix, size_t cols, const uint8_t* const* in, uint8_t* const* out,
                   size_t rows, size_t begin, size_t end) {
  const uint8_t* mul = mul_table();
  const size_t n = end - begin;
  for (size_t r = 0; r < rows; r++) {
    uint8_t* o = out[r] + begin;
    if (cols == 0) {
      std::memset(o, 0, n);
      continue;
    }
    for (size_t c = 0; c < cols; c++) {
      const uint8_t coef = matrix[r * cols + c];
      const uint8_t* x = in[c] + begin;
      const uint8_t* t = mul + 256 * coef;
      if (c == 0) {
        if (coef == 0) {
          std::memset(o, 0, n);
        } else if (coef == 1) {
          std::memcpy(o, x, n);
        } else {
          for (size_t i = 0; i < n; i++) o[i] = t[x[i]];
        }
      } else if (coef == 1) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
          uint64_t a, b;
          std::memcpy(&a, o + i, 8);
          std::memcpy(&b, x + i, 8);
          a ^= b;
          std::memcpy(o + i, &a, 8);
        }
        for (; i < n; i++) o[i] ^= x[i];
      } else if (coef != 0) {
        for (size_t i = 0; i < n; i++) o[i] ^= t[x[i]];
      }
    }
  }
}


const char* kernel_name(Kernel kernel) {
  switch (kernel) {
    case Kernel::Portable:
      return "portable";
    case Kernel::Avx2:
      return "avx2";
    case Kernel::Avx2Gfni:
      return "avx2-gfni";
    case Kernel::Avx512Gfni:
      return "avx512-gfni";
  }
  return "unknown";
}

bool kernel_supported(Kernel kernel) {
  switch (kernel) {
    case Kernel::Portable:
      return true;
    case Kernel::Avx2:
      return cpu_has_avx2();
    case Kernel::Avx2Gfni:
      return cpu_has_avx2_gfni();
    case Kernel::Avx512Gfni:
      return cpu_has_avx512_gfni();
  }
  return false;
}

Kernel best_kernel() {
  if (kernel_supported(Kernel::Avx512Gfni)) return Kernel::Avx512Gfni;
  if (kernel_supported(Kernel::Avx2Gfni)) return Kernel::Avx2Gfni;
  if (kernel_supported(Kernel::Avx2)) return Kernel::Avx2;
  return Kernel::Portable;
}

void mul_matrix(Kernel kernel, const uint8_t* matrix, size_t rows, size_t cols, const uint8_t* const* in,
                uint8_t* const* out, size_t len) {
  if (rows == 0 || len == 0) return;
  if (cols == 0 || kernel == Kernel::Portable || !kernel_supported(kernel)) {
    // Blocks keep the output row in L1 while every input streams over it.
    for (size_t begin = 0; begin < len; begin += BLOCK_BYTES) {
      const size_t end = begin + BLOCK_BYTES < len ? begin + BLOCK_BYTES : len;
      rows_portable(matrix, cols, in, out, rows, begin, end);
    }
    return;
  }
  const uint8_t* mul = tables().mul;
  switch (kernel) {
    case Kernel::Avx2: {
      // Per coefficient: 16 products of the low nibble, then 16 of the high nibble (x << 4).
      std::vector<uint8_t> nibbles(rows * cols * 32);
      for (size_t i = 0; i < rows * cols; i++) {
        const uint8_t* t = mul + 256 * matrix[i];
        for (int x = 0; x < 16; x++) {
          nibbles[32 * i + x] = t[x];
          nibbles[32 * i + 16 + x] = t[x << 4];
        }
      }
      mul_matrix_avx2(matrix, nibbles.data(), rows, cols, in, out, len);
      break;
    }
    case Kernel::Avx2Gfni:
    case Kernel::Avx512Gfni: {
      std::vector<uint64_t> affine(rows * cols);
      for (size_t i = 0; i < rows * cols; i++) affine[i] = affine_matrix(mul + 256 * matrix[i]);
      if (kernel == Kernel::Avx2Gfni) {
        mul_matrix_avx2_gfni(matrix, affine.data(), rows, cols, in, out, len);
      } else {
        mul_matrix_avx512_gfni(matrix, affine.data(), rows, cols, in, out, len);
      }
      break;
    }
    case Kernel::Portable:
      break;
  }
}

uint64_t affine_matrix(const uint8_t* products) {
  // GF2P8AFFINEQB sets bit i of each result byte to parity(A.byte[7 - i] & x). Multiplying by a
  // constant c is GF(2)-linear: bit i of c * x is the XOR over the set bits j of x of bit i of
  // c * 2^j, so byte 7 - i of A holds, at bit j, bit i of products[1 << j].
  uint64_t a = 0;
  for (int i = 0; i < 8; i++) {
    uint8_t row = 0;
    for (int j = 0; j < 8; j++) row |= (uint8_t)(((products[1 << j] >> i) & 1) << j);
    a |= (uint64_t)row << (8 * (7 - i));
  }
  return a;
}

}  // namespace daios_da
