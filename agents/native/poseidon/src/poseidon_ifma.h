// The Poseidon permutation on eight inputs at once with AVX-512 IFMA (x86-64 CPUs that report
// avx512f and avx512ifma: Intel Ice Lake and later, AMD Zen 4 and later).
//
// Field elements are held in five 52-bit limbs, one 64-bit vector lane per hash, and kept in
// Montgomery form with radix 2^260. vpmadd52luq/vpmadd52huq add the low/high 52 bits of limb
// products into 64-bit accumulators, so whole sums of products are accumulated without carries and
// reduced once. The code in poseidon_ifma.cc is compiled for those instructions function by
// function (target attributes); it only runs after the CPU check, and this header has none of it.
#pragma once

#include <cstdint>

namespace daios {

constexpr int IFMA_LANES = 8;
constexpr int IFMA_LIMBS = 5;
constexpr uint64_t LIMB52_MASK = (1ULL << 52) - 1;

// The field in the IFMA representation: r, 2r (52-bit limbs), -r^-1 mod 2^52, 2^520 mod r.
struct Field52 {
  uint64_t r[IFMA_LIMBS];
  uint64_t r2x[IFMA_LIMBS];  // 2r
  uint64_t inv;
  uint64_t rr[IFMA_LIMBS];   // 2^520 mod r: multiplying by it enters Montgomery form
};

// One width's constants for the IFMA kernel: five 52-bit limbs per value, in Montgomery form with
// radix 2^260, in the same order and layout as Width (matrices row-major as applied).
struct WidthIfma {
  int t;
  int partial_rounds;
  const uint64_t* c;
  const uint64_t* m;
  const uint64_t* p;
  const uint64_t* s;
};

// Whether this CPU (and OS) can run the IFMA kernel.
bool cpu_has_ifma();

// Poseidon of IFMA_LANES independent inputs of width w.t. `in` holds (t - 1) elements, each as
// IFMA_LIMBS rows of IFMA_LANES 52-bit limbs (in[(e * IFMA_LIMBS + k) * IFMA_LANES + lane]) of a
// value below 2^256; `out` receives the outputs in the same layout (one element), canonical (< r).
void permute_ifma(const WidthIfma& w, const Field52& f, const uint64_t* in, uint64_t* out);

// 4 x 64-bit limbs <-> 5 x 52-bit limbs (little-endian both).
static inline void limbs64_to_52(uint64_t out[IFMA_LIMBS], const uint64_t v[4]) {
  out[0] = v[0] & LIMB52_MASK;
  out[1] = ((v[0] >> 52) | (v[1] << 12)) & LIMB52_MASK;
  out[2] = ((v[1] >> 40) | (v[2] << 24)) & LIMB52_MASK;
  out[3] = ((v[2] >> 28) | (v[3] << 36)) & LIMB52_MASK;
  out[4] = v[3] >> 16;
}

static inline void limbs52_to_64(uint64_t out[4], const uint64_t l[IFMA_LIMBS]) {
  out[0] = l[0] | (l[1] << 52);
  out[1] = (l[1] >> 12) | (l[2] << 40);
  out[2] = (l[2] >> 24) | (l[3] << 28);
  out[3] = (l[3] >> 36) | (l[4] << 16);
}

}  // namespace daios
