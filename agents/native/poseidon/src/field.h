// Arithmetic in the BN254 scalar field (the field of circom signals and of circomlib's Poseidon):
// the portable C++ reference. field_x86.h has the faster x86-64 form of add, mul and dot.
//
// An element is four little-endian 64-bit limbs holding a value below the modulus r, kept in
// Montgomery form (a * 2^256 mod r) between conversions. Multiplication is the coarsely integrated
// operand scanning (CIOS) Montgomery product with 128-bit intermediate products. Because the top
// limb of r is below 2^62, the two extra words of the textbook CIOS loop can never be non-zero, so
// they are left out (every intermediate sum still fits in 128 bits: see mul()).
#pragma once

#include <cstddef>
#include <cstdint>

#include "poseidon_ifma.h"

// The arithmetic is a handful of instructions per call: it must be inlined into the permutation
// so that the limbs stay in registers.
#define DAIOS_INLINE static inline __attribute__((always_inline))

namespace daios {

typedef unsigned __int128 u128;

struct Fe {
  uint64_t v[4];
};

// r = 21888242871839275222246405745257275088548364400416034343698204186575808495617, little-endian limbs.
constexpr uint64_t MODULUS[4] = {0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL,
                                 0x30644e72e131a029ULL};

// Derived at start-up from MODULUS (see field_setup): -r^-1 mod 2^64, 2^512 mod r, 2^256 mod r.
struct FieldConsts {
  uint64_t inv;
  Fe r2;
  Fe one;           // 1 in Montgomery form
  Fe multiple[5];   // k * r for k = 0..4 (plain integers below 2^256), used by redc_wide
  Field52 f52;      // the IFMA representation (poseidon_ifma.h)
};
extern FieldConsts FIELD;

// Computes FIELD from MODULUS once per process; safe to call from every thread that loads the addon.
void field_setup();

// a >= MODULUS ?
DAIOS_INLINE bool geq_modulus(const uint64_t a[4]) {
  for (int i = 3; i >= 0; i--) {
    if (a[i] != MODULUS[i]) return a[i] > MODULUS[i];
  }
  return true;
}

// out = a - MODULUS if that does not borrow, else a (branch-free: the outcome is data-dependent and
// would be mispredicted half of the time).
DAIOS_INLINE void reduce_once(uint64_t out[4], const uint64_t a[4]) {
  uint64_t d[4];
  uint64_t borrow = 0;
  for (int i = 0; i < 4; i++) {
    u128 diff = (u128)a[i] - MODULUS[i] - borrow;
    d[i] = (uint64_t)diff;
    borrow = (uint64_t)(diff >> 64) & 1;
  }
  const uint64_t keep = (uint64_t)0 - borrow;  // all ones when a < r
  for (int i = 0; i < 4; i++) out[i] = (a[i] & keep) | (d[i] & ~keep);
}

// out = a + b mod r, for a, b < r (the sum is below 2^255, so it never leaves four limbs).
DAIOS_INLINE void add(Fe& out, const Fe& a, const Fe& b) {
  uint64_t s[4];
  uint64_t carry = 0;
  for (int i = 0; i < 4; i++) {
    u128 sum = (u128)a.v[i] + b.v[i] + carry;
    s[i] = (uint64_t)sum;
    carry = (uint64_t)(sum >> 64);
  }
  reduce_once(out.v, s);
}

// out = a * b * 2^-256 mod r, for a, b < r. `out` may alias a or b.
DAIOS_INLINE void mul(Fe& out, const Fe& a, const Fe& b) {
  const uint64_t inv = FIELD.inv;
  uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  for (int i = 0; i < 4; i++) {
    const uint64_t bi = b.v[i];
    // Each line is x + y*z + w with x, y, z, w < 2^64: at most 2^128 - 1, so no carry is lost.
    u128 acc = (u128)a.v[0] * bi + t0;
    t0 = (uint64_t)acc;
    uint64_t hiA = (uint64_t)(acc >> 64);
    const uint64_t m = t0 * inv;
    u128 red = (u128)m * MODULUS[0] + t0;  // low word is zero by the choice of m
    uint64_t hiC = (uint64_t)(red >> 64);

    acc = (u128)a.v[1] * bi + t1 + hiA;
    hiA = (uint64_t)(acc >> 64);
    red = (u128)m * MODULUS[1] + (uint64_t)acc + hiC;
    t0 = (uint64_t)red;
    hiC = (uint64_t)(red >> 64);

    acc = (u128)a.v[2] * bi + t2 + hiA;
    hiA = (uint64_t)(acc >> 64);
    red = (u128)m * MODULUS[2] + (uint64_t)acc + hiC;
    t1 = (uint64_t)red;
    hiC = (uint64_t)(red >> 64);

    acc = (u128)a.v[3] * bi + t3 + hiA;
    hiA = (uint64_t)(acc >> 64);
    red = (u128)m * MODULUS[3] + (uint64_t)acc + hiC;
    t2 = (uint64_t)red;
    hiC = (uint64_t)(red >> 64);

    // hiA + hiC cannot overflow because r < 2^254 keeps the running value below 2r < 2^255.
    t3 = hiC + hiA;
  }
  const uint64_t t[4] = {t0, t1, t2, t3};
  reduce_once(out.v, t);
}

// Montgomery reduction of a 512-bit value x < 17 r^2 (a sum of at most 17 products of elements):
// out = x * 2^-256 mod r. The textbook bound gives (x + m r) / 2^256 < r (17 r / 2^256 + 1) < 4.3 r,
// which still fits in four limbs; subtracting floor(top limb / (r's top limb + 1)) * r leaves a value
// below 2r, and one conditional subtraction finishes.
DAIOS_INLINE void redc_wide(Fe& out, uint64_t x[8]) {
  const uint64_t inv = FIELD.inv;
  uint64_t spill = 0;  // carry out of x[i + 4], owed to x[i + 5]
  for (int i = 0; i < 4; i++) {
    const uint64_t m = x[i] * inv;
    u128 acc = (u128)m * MODULUS[0] + x[i];  // low word becomes zero
    uint64_t carry = (uint64_t)(acc >> 64);
    for (int j = 1; j < 4; j++) {
      acc = (u128)m * MODULUS[j] + x[i + j] + carry;
      x[i + j] = (uint64_t)acc;
      carry = (uint64_t)(acc >> 64);
    }
    acc = (u128)x[i + 4] + carry + spill;
    x[i + 4] = (uint64_t)acc;
    spill = (uint64_t)(acc >> 64);
  }
  // spill is zero here: the reduced value is below 4.3 r < 2^256.
  const uint64_t k = x[7] / (MODULUS[3] + 1);  // floor(value / r) or one less
  const Fe& kr = FIELD.multiple[k];
  uint64_t v[4];
  uint64_t borrow = 0;
  for (int i = 0; i < 4; i++) {
    u128 diff = (u128)x[4 + i] - kr.v[i] - borrow;
    v[i] = (uint64_t)diff;
    borrow = (uint64_t)(diff >> 64) & 1;
  }
  reduce_once(out.v, v);
}

// out = sum_j a[j] * b[j] * 2^-256 mod r, for N <= 17 elements below r, with a single reduction:
// the 512-bit products are summed column by column (product scanning) and reduced once.
template <int N>
DAIOS_INLINE void dot(Fe& out, const Fe* a, const Fe* b) {
  static_assert(N >= 1 && N <= 17, "the wide sum must stay below 17 r^2");
  uint64_t x[8];
  u128 low = 0;       // running column sum, low 128 bits
  uint64_t high = 0;  // bits 128..191 (a column holds at most 4 * 17 products below 2^128)
  for (int k = 0; k < 7; k++) {
    const int from = k > 3 ? k - 3 : 0;
    const int to = k < 3 ? k : 3;
    for (int j = 0; j < N; j++) {
      for (int i = from; i <= to; i++) {
        const u128 p = (u128)a[j].v[i] * b[j].v[k - i];
        low += p;
        high += low < p;
      }
    }
    x[k] = (uint64_t)low;
    low = (low >> 64) | ((u128)high << 64);
    high = 0;
  }
  x[7] = (uint64_t)low;  // the sum is below 2^512, so nothing is left above
  redc_wide(out, x);
}

// Loads a big-endian byte string of at most 32 bytes as an integer (not yet reduced, not Montgomery).
DAIOS_INLINE void load_be(uint64_t out[4], const uint8_t* bytes, size_t len) {
  out[0] = out[1] = out[2] = out[3] = 0;
  for (size_t k = 0; k < len; k++) {
    const size_t bit = 8 * (len - 1 - k);  // weight of bytes[k]
    out[bit / 64] |= (uint64_t)bytes[k] << (bit % 64);
  }
}

// Reduces any 256-bit integer below r (2^256 < 6r, so at most five subtractions).
DAIOS_INLINE void reduce_full(uint64_t a[4]) {
  while (geq_modulus(a)) reduce_once(a, a);
}

DAIOS_INLINE void to_mont(Fe& out, const uint64_t canonical[4]) {
  Fe a;
  for (int i = 0; i < 4; i++) a.v[i] = canonical[i];
  mul(out, a, FIELD.r2);
}

// Canonical value of a Montgomery element, as 32 big-endian bytes.
DAIOS_INLINE void store_be(uint8_t out[32], const Fe& mont) {
  static const Fe ONE_PLAIN = {{1, 0, 0, 0}};
  Fe c;
  mul(c, mont, ONE_PLAIN);
  for (int i = 0; i < 4; i++) {
    const uint64_t limb = c.v[3 - i];
    for (int k = 0; k < 8; k++) out[8 * i + k] = (uint8_t)(limb >> (56 - 8 * k));
  }
}

}  // namespace daios
