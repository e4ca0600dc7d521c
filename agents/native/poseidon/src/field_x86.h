// x86-64 field arithmetic with BMI2 (mulx) and ADX (adcx/adox): two independent carry chains let
// the low and high halves of each row of partial products be added in one pass. Used only when the
// CPU reports both extensions (see poseidon.cc); the portable code in field.h is the reference, and
// the tests compare the two.
//
// A product or a sum of products is built in eight (plus one spare) 64-bit words, then reduced
// once with Montgomery's method: one reduction per matrix row instead of one per product.
#pragma once

#include "field.h"

#if defined(__x86_64__)
#define DAIOS_HAVE_X86_ADX 1

namespace daios {
namespace x86 {

// Tells the compiler that an asm statement reads the four limbs at p (so p may stay in a register).
#define DAIOS_LIMBS(p) "m"(*(const uint64_t(*)[4])(p))

// (w0..w5) += d * p[0..3], where the caller guarantees that the sum fits in w0..w5: the low halves
// go down the OF chain into w0..w3, the high halves down the CF chain into w1..w4, and both final
// carries into w5.
DAIOS_INLINE void row_acc(uint64_t& w0, uint64_t& w1, uint64_t& w2, uint64_t& w3, uint64_t& w4, uint64_t& w5,
                           uint64_t d, const uint64_t* p) {
  uint64_t lo, hi, zero;
  __asm__(
      "xorl %k[z], %k[z]\n\t"  // zero, and clear CF and OF
      "mulxq 0(%[p]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[w0]\n\t"
      "adcxq %[hi], %[w1]\n\t"
      "mulxq 8(%[p]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[w1]\n\t"
      "adcxq %[hi], %[w2]\n\t"
      "mulxq 16(%[p]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[w2]\n\t"
      "adcxq %[hi], %[w3]\n\t"
      "mulxq 24(%[p]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[w3]\n\t"
      "adcxq %[hi], %[w4]\n\t"
      "adoxq %[z], %[w4]\n\t"
      "adcxq %[z], %[w5]\n\t"
      "adoxq %[z], %[w5]\n\t"
      : [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3), [w4] "+r"(w4), [w5] "+r"(w5),
        [lo] "=&r"(lo), [hi] "=&r"(hi), [z] "=&r"(zero)
      : "d"(d), [p] "r"(p), DAIOS_LIMBS(p)
      : "cc");
}

// One Montgomery reduction step: m = w0 * inv, (w0..w4) += m * r (which zeroes w0); `spill`, the
// carry left over from the previous step's w4 (this step's w3), is added to w4, and this step's
// carries out of w4 (at most two) are returned in `spill`.
DAIOS_INLINE void row_redc(uint64_t& w0, uint64_t& w1, uint64_t& w2, uint64_t& w3, uint64_t& w4, uint64_t& spill) {
  uint64_t lo, hi, zero;
  const uint64_t m = w0 * FIELD.inv;
  __asm__(
      "xorl %k[z], %k[z]\n\t"
      "mulxq 0(%[q]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[w0]\n\t"
      "adcxq %[hi], %[w1]\n\t"
      "mulxq 8(%[q]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[w1]\n\t"
      "adcxq %[hi], %[w2]\n\t"
      "mulxq 16(%[q]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[w2]\n\t"
      "adcxq %[hi], %[w3]\n\t"
      "mulxq 24(%[q]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[w3]\n\t"
      "adcxq %[hi], %[w4]\n\t"
      "adoxq %[s], %[w4]\n\t"
      "movl $0, %k[s]\n\t"  // mov leaves the flags alone
      "adcxq %[z], %[s]\n\t"
      "adoxq %[z], %[s]\n\t"
      : [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3), [w4] "+r"(w4), [s] "+r"(spill),
        [lo] "=&r"(lo), [hi] "=&r"(hi), [z] "=&r"(zero)
      : "d"(m), [q] "r"(MODULUS), DAIOS_LIMBS(MODULUS)
      : "cc");
}

// out = (w0..w3) - r if that does not borrow, else (w0..w3).
DAIOS_INLINE void sub_modulus_if_geq(Fe& out, uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3) {
  uint64_t s0 = w0, s1 = w1, s2 = w2, s3 = w3;
  __asm__(
      "subq 0(%[q]), %[s0]\n\t"
      "sbbq 8(%[q]), %[s1]\n\t"
      "sbbq 16(%[q]), %[s2]\n\t"
      "sbbq 24(%[q]), %[s3]\n\t"
      "cmovcq %[w0], %[s0]\n\t"
      "cmovcq %[w1], %[s1]\n\t"
      "cmovcq %[w2], %[s2]\n\t"
      "cmovcq %[w3], %[s3]\n\t"
      : [s0] "+&r"(s0), [s1] "+&r"(s1), [s2] "+&r"(s2), [s3] "+&r"(s3)
      : [w0] "r"(w0), [w1] "r"(w1), [w2] "r"(w2), [w3] "r"(w3), [q] "r"(MODULUS), DAIOS_LIMBS(MODULUS)
      : "cc");
  out.v[0] = s0;
  out.v[1] = s1;
  out.v[2] = s2;
  out.v[3] = s3;
}

// out = sum_j a[j] * b[j] * 2^-256 mod r for N <= 17 elements below r (N = 1 is a plain product).
template <int N>
DAIOS_INLINE void dot(Fe& out, const Fe* a, const Fe* b) {
  static_assert(N >= 1 && N <= 17, "the wide sum must stay below 17 r^2");
  // Words 0..7 hold the sum (< 17 r^2 < 2^512); word 8 only ever receives the zero carry of the
  // last row. Rows go by limb i of b, so while limb i is being added the sum is below
  // 17 r 2^(64 (i + 1)) < 2^(64 (i + 6)): the carries of row i never leave word i + 5.
  uint64_t w[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
#pragma GCC unroll 17
    for (int j = 0; j < N; j++) row_acc(w[i], w[i + 1], w[i + 2], w[i + 3], w[i + 4], w[i + 5], b[j].v[i], a[j].v);
  }
  // Montgomery reduction: (sum + M r) / 2^256 < r (17 r / 2^256 + 1) < 4.3 r, so no carry is left.
  uint64_t spill = 0;
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) row_redc(w[i], w[i + 1], w[i + 2], w[i + 3], w[i + 4], spill);
  if (N <= 5) {
    // sum < 5 r^2 gives a result below r (5 r / 2^256 + 1) < 1.95 r: one subtraction is enough.
    sub_modulus_if_geq(out, w[4], w[5], w[6], w[7]);
  } else {
    // Subtract floor(top / (r3 + 1)) * r (floor(value / r) or one less), then at most one more r.
    const Fe& kr = FIELD.multiple[w[7] / (MODULUS[3] + 1)];
    uint64_t v[4];
    uint64_t borrow = 0;
    for (int k = 0; k < 4; k++) {
      u128 diff = (u128)w[4 + k] - kr.v[k] - borrow;
      v[k] = (uint64_t)diff;
      borrow = (uint64_t)(diff >> 64) & 1;
    }
    sub_modulus_if_geq(out, v[0], v[1], v[2], v[3]);
  }
}

// Montgomery product (CIOS) in one block: for each limb b_i, t += a * b_i, then t += m * r with
// m = t_0 * inv, and t shifts down one word. With a, b < r, t stays below 2r and each step's sum
// below 2^320, so five words t0..t4 suffice; the word names rotate instead of moving data.
#define DAIOS_CIOS_REDUCE(T0, T1, T2, T3, T4)   \
  "movq %[" #T0 "], %%rdx\n\t"                  \
  "imulq %[inv], %%rdx\n\t"                     \
  "xorl %k[z], %k[z]\n\t"                       \
  "mulxq 0(%[q]), %[lo], %[hi]\n\t"             \
  "adoxq %[lo], %[" #T0 "]\n\t"                 \
  "adcxq %[hi], %[" #T1 "]\n\t"                 \
  "mulxq 8(%[q]), %[lo], %[hi]\n\t"             \
  "adoxq %[lo], %[" #T1 "]\n\t"                 \
  "adcxq %[hi], %[" #T2 "]\n\t"                 \
  "mulxq 16(%[q]), %[lo], %[hi]\n\t"            \
  "adoxq %[lo], %[" #T2 "]\n\t"                 \
  "adcxq %[hi], %[" #T3 "]\n\t"                 \
  "mulxq 24(%[q]), %[lo], %[hi]\n\t"            \
  "adoxq %[lo], %[" #T3 "]\n\t"                 \
  "adcxq %[hi], %[" #T4 "]\n\t"                 \
  "adoxq %[z], %[" #T4 "]\n\t"

#define DAIOS_CIOS_MUL(OFFSET, T0, T1, T2, T3, T4) \
  "movq " #OFFSET "(%[b]), %%rdx\n\t"               \
  "xorl %k[z], %k[z]\n\t"                           \
  "mulxq 0(%[a]), %[lo], %[hi]\n\t"                 \
  "adoxq %[lo], %[" #T0 "]\n\t"                     \
  "adcxq %[hi], %[" #T1 "]\n\t"                     \
  "mulxq 8(%[a]), %[lo], %[hi]\n\t"                 \
  "adoxq %[lo], %[" #T1 "]\n\t"                     \
  "adcxq %[hi], %[" #T2 "]\n\t"                     \
  "mulxq 16(%[a]), %[lo], %[hi]\n\t"                \
  "adoxq %[lo], %[" #T2 "]\n\t"                     \
  "adcxq %[hi], %[" #T3 "]\n\t"                     \
  "mulxq 24(%[a]), %[lo], %[" #T4 "]\n\t"           \
  "adoxq %[lo], %[" #T3 "]\n\t"                     \
  "adcxq %[z], %[" #T4 "]\n\t"                      \
  "adoxq %[z], %[" #T4 "]\n\t"

DAIOS_INLINE void mul(Fe& out, const Fe& a, const Fe& b) {
  uint64_t r0, r1, r2, r3, r4, lo, hi, z;
  __asm__(
      // limb 0 of b: the words start empty, one carry chain is enough
      "movq 0(%[b]), %%rdx\n\t"
      "mulxq 0(%[a]), %[r0], %[r1]\n\t"
      "mulxq 8(%[a]), %[lo], %[r2]\n\t"
      "addq %[lo], %[r1]\n\t"
      "mulxq 16(%[a]), %[lo], %[r3]\n\t"
      "adcq %[lo], %[r2]\n\t"
      "mulxq 24(%[a]), %[lo], %[r4]\n\t"
      "adcq %[lo], %[r3]\n\t"
      "adcq $0, %[r4]\n\t"
      DAIOS_CIOS_REDUCE(r0, r1, r2, r3, r4)
      DAIOS_CIOS_MUL(8, r1, r2, r3, r4, r0)
      DAIOS_CIOS_REDUCE(r1, r2, r3, r4, r0)
      DAIOS_CIOS_MUL(16, r2, r3, r4, r0, r1)
      DAIOS_CIOS_REDUCE(r2, r3, r4, r0, r1)
      DAIOS_CIOS_MUL(24, r3, r4, r0, r1, r2)
      DAIOS_CIOS_REDUCE(r3, r4, r0, r1, r2)
      // the result (r4, r0, r1, r2) is below 2r: subtract r unless that borrows
      "movq %[r4], %[lo]\n\t"
      "subq 0(%[q]), %[lo]\n\t"
      "movq %[r0], %[hi]\n\t"
      "sbbq 8(%[q]), %[hi]\n\t"
      "movq %[r1], %[z]\n\t"
      "sbbq 16(%[q]), %[z]\n\t"
      "movq %[r2], %[r3]\n\t"
      "sbbq 24(%[q]), %[r3]\n\t"
      "cmovncq %[lo], %[r4]\n\t"
      "cmovncq %[hi], %[r0]\n\t"
      "cmovncq %[z], %[r1]\n\t"
      "cmovncq %[r3], %[r2]\n\t"
      : [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3), [r4] "=&r"(r4), [lo] "=&r"(lo),
        [hi] "=&r"(hi), [z] "=&r"(z)
      : [a] "r"(a.v), [b] "r"(b.v), [q] "r"(MODULUS), [inv] "m"(FIELD.inv), DAIOS_LIMBS(a.v), DAIOS_LIMBS(b.v),
        DAIOS_LIMBS(MODULUS)
      : "rdx", "cc");
  out.v[0] = r4;
  out.v[1] = r0;
  out.v[2] = r1;
  out.v[3] = r2;
}

#undef DAIOS_CIOS_REDUCE
#undef DAIOS_CIOS_MUL

// out = a + b mod r for a, b < r (the sum stays below 2^255).
DAIOS_INLINE void add(Fe& out, const Fe& a, const Fe& b) {
  uint64_t s0 = a.v[0], s1 = a.v[1], s2 = a.v[2], s3 = a.v[3];
  __asm__(
      "addq 0(%[b]), %[s0]\n\t"
      "adcq 8(%[b]), %[s1]\n\t"
      "adcq 16(%[b]), %[s2]\n\t"
      "adcq 24(%[b]), %[s3]\n\t"
      : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3)
      : [b] "r"(b.v), DAIOS_LIMBS(b.v)
      : "cc");
  sub_modulus_if_geq(out, s0, s1, s2, s3);
}

#undef DAIOS_LIMBS

}  // namespace x86
}  // namespace daios

#endif  // __x86_64__
