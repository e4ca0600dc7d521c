// AVX-512 IFMA Poseidon kernel: see poseidon_ifma.h for the representation.
//
// Bounds (r < 2^253.6, so r / 2^260 < 0.012): every value the kernel stores is below 2r with
// normalized 52-bit limbs. A sum of N <= 17 products of values below 2r and r reduces to
// below r (2N r / 2^260 + 1) < 1.5 r, a product of two values below 2r to below 1.05 r, and a sum
// of two values below 2r loses 2r when it reaches it. Accumulators receive at most
// 2 * 5 * 17 + 10 terms below 2^52 plus carries, far below 2^64.
#include "poseidon_ifma.h"

#if defined(__x86_64__)

// GCC 12's AVX-512 headers start shifts from a deliberately undefined vector (_mm512_undefined_*),
// which -Wuninitialized reports inside every inlined call: a known false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#define IFMA_TARGET __attribute__((target("avx512f,avx512ifma")))
#define IFMA_INLINE static inline __attribute__((always_inline, target("avx512f,avx512ifma")))

namespace daios {

bool cpu_has_ifma() {
  __builtin_cpu_init();
  // GCC's check also requires the OS to save the AVX-512 registers (XCR0).
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
}

namespace {

typedef __m512i vec;

// One field element in each of the eight lanes.
struct V5 {
  vec l[IFMA_LIMBS];
};

IFMA_INLINE vec bcast(uint64_t x) { return _mm512_set1_epi64((long long)x); }

// out = t * 2^-260 mod r for a ten-limb accumulator t (unnormalized limbs), limbs normalized.
IFMA_INLINE void reduce_wide(V5& out, vec t[2 * IFMA_LIMBS], const Field52& f) {
  const vec zero = _mm512_setzero_si512();
#pragma GCC unroll 5
  for (int i = 0; i < IFMA_LIMBS; i++) {
    // m = -t_i / r mod 2^52 (only the low 52 bits of t_i matter); adding m * r * 2^(52 i) clears
    // limb i, whose carry then moves up.
    const vec m = _mm512_madd52lo_epu64(zero, t[i], bcast(f.inv));
#pragma GCC unroll 5
    for (int k = 0; k < IFMA_LIMBS; k++) {
      t[i + k] = _mm512_madd52lo_epu64(t[i + k], m, bcast(f.r[k]));
      t[i + k + 1] = _mm512_madd52hi_epu64(t[i + k + 1], m, bcast(f.r[k]));
    }
    t[i + 1] = _mm512_add_epi64(t[i + 1], _mm512_srli_epi64(t[i], 52));
  }
  const vec mask = bcast(LIMB52_MASK);
#pragma GCC unroll 4
  for (int k = IFMA_LIMBS; k < 2 * IFMA_LIMBS - 1; k++) {
    t[k + 1] = _mm512_add_epi64(t[k + 1], _mm512_srli_epi64(t[k], 52));
    t[k] = _mm512_and_si512(t[k], mask);
  }
#pragma GCC unroll 5
  for (int k = 0; k < IFMA_LIMBS; k++) out.l[k] = t[IFMA_LIMBS + k];
}

// t += a * b (all limbs of both), without carries.
IFMA_INLINE void acc_product(vec t[2 * IFMA_LIMBS], const V5& a, const vec b[IFMA_LIMBS]) {
#pragma GCC unroll 5
  for (int i = 0; i < IFMA_LIMBS; i++) {
#pragma GCC unroll 5
    for (int k = 0; k < IFMA_LIMBS; k++) {
      t[i + k] = _mm512_madd52lo_epu64(t[i + k], a.l[k], b[i]);
      t[i + k + 1] = _mm512_madd52hi_epu64(t[i + k + 1], a.l[k], b[i]);
    }
  }
}

IFMA_INLINE void mul(V5& out, const V5& a, const V5& b, const Field52& f) {
  vec t[2 * IFMA_LIMBS];
  for (int k = 0; k < 2 * IFMA_LIMBS; k++) t[k] = _mm512_setzero_si512();
  acc_product(t, a, b.l);
  reduce_wide(out, t, f);
}

// out = sum_j c[j] * a[j] * 2^-260 for N constants c (five limbs each, shared by all lanes).
template <int N>
IFMA_INLINE void dot_const(V5& out, const uint64_t* c, const V5* a, const Field52& f) {
  vec t[2 * IFMA_LIMBS];
  for (int k = 0; k < 2 * IFMA_LIMBS; k++) t[k] = _mm512_setzero_si512();
#pragma GCC unroll 17
  for (int j = 0; j < N; j++) {
    vec b[IFMA_LIMBS];
    for (int i = 0; i < IFMA_LIMBS; i++) b[i] = bcast(c[j * IFMA_LIMBS + i]);
    acc_product(t, a[j], b);
  }
  reduce_wide(out, t, f);
}

// out = s - q if that does not go below zero, else s; s has unnormalized limbs (< 2^63), q is given
// as normalized limbs. Normalizes s first.
IFMA_INLINE void subtract_if_geq(V5& out, vec s[IFMA_LIMBS], const uint64_t q[IFMA_LIMBS]) {
  const vec mask = bcast(LIMB52_MASK);
#pragma GCC unroll 4
  for (int k = 0; k < IFMA_LIMBS - 1; k++) {
    s[k + 1] = _mm512_add_epi64(s[k + 1], _mm512_srli_epi64(s[k], 52));
    s[k] = _mm512_and_si512(s[k], mask);
  }
  vec d[IFMA_LIMBS];
  vec borrow = _mm512_setzero_si512();
#pragma GCC unroll 5
  for (int k = 0; k < IFMA_LIMBS; k++) {
    d[k] = _mm512_sub_epi64(_mm512_sub_epi64(s[k], bcast(q[k])), borrow);
    if (k < IFMA_LIMBS - 1) {
      borrow = _mm512_srli_epi64(d[k], 63);  // 1 where the limb went negative
      d[k] = _mm512_and_si512(d[k], mask);
    }
  }
  const __mmask8 negative = _mm512_cmplt_epi64_mask(d[IFMA_LIMBS - 1], _mm512_setzero_si512());
#pragma GCC unroll 5
  for (int k = 0; k < IFMA_LIMBS; k++) out.l[k] = _mm512_mask_blend_epi64(negative, d[k], s[k]);
}

// out = a + b, kept below 2r (a, b < 2r).
IFMA_INLINE void add(V5& out, const V5& a, const V5& b, const Field52& f) {
  vec s[IFMA_LIMBS];
  for (int k = 0; k < IFMA_LIMBS; k++) s[k] = _mm512_add_epi64(a.l[k], b.l[k]);
  subtract_if_geq(out, s, f.r2x);
}

// out = a + c for a constant c < r shared by all lanes.
IFMA_INLINE void add_const(V5& out, const V5& a, const uint64_t* c, const Field52& f) {
  vec s[IFMA_LIMBS];
  for (int k = 0; k < IFMA_LIMBS; k++) s[k] = _mm512_add_epi64(a.l[k], bcast(c[k]));
  subtract_if_geq(out, s, f.r2x);
}

IFMA_INLINE void pow5(V5& x, const Field52& f) {
  V5 x2, x4;
  mul(x2, x, x, f);
  mul(x4, x2, x2, f);
  mul(x, x4, x, f);
}

template <int T>
IFMA_INLINE void apply_matrix(V5 state[T], const uint64_t* matrix, const Field52& f) {
  V5 next[T];
  for (int i = 0; i < T; i++) dot_const<T>(next[i], matrix + i * T * IFMA_LIMBS, state, f);
  for (int i = 0; i < T; i++) state[i] = next[i];
}

template <int T>
IFMA_TARGET void permute(const WidthIfma& w, const Field52& f, const uint64_t* in, uint64_t* out) {
  constexpr int L = IFMA_LIMBS;
  const int half = 4;  // FULL_ROUNDS / 2
  const int rp = w.partial_rounds;
  const uint64_t* c = w.c;
  V5 state[T];

  // Inputs into Montgomery form (times 2^520 mod r), then the first round constants.
  for (int k = 0; k < L; k++) state[0].l[k] = bcast(c[k]);  // initial state element 0 is zero
  for (int e = 1; e < T; e++) {
    V5 raw;
    for (int k = 0; k < L; k++) raw.l[k] = _mm512_loadu_si512(in + ((e - 1) * L + k) * IFMA_LANES);
    dot_const<1>(state[e], f.rr, &raw, f);
    add_const(state[e], state[e], c + e * L, f);
  }

  for (int r = 0; r < half; r++) {
    for (int i = 0; i < T; i++) pow5(state[i], f);
    for (int i = 0; i < T; i++) add_const(state[i], state[i], c + ((r + 1) * T + i) * L, f);
    apply_matrix<T>(state, r < half - 1 ? w.m : w.p, f);
  }

  const uint64_t* pc = c + (half + 1) * T * L;
  const uint64_t* s = w.s;
  for (int r = 0; r < rp; r++, s += (2 * T - 1) * L) {
    pow5(state[0], f);
    add_const(state[0], state[0], pc + r * L, f);
    V5 first;
    dot_const<T>(first, s, state, f);
    for (int k = 1; k < T; k++) {
      V5 prod;
      dot_const<1>(prod, s + (T + k - 1) * L, &state[0], f);
      add(state[k], state[k], prod, f);
    }
    state[0] = first;
  }

  const uint64_t* fc = c + ((half + 1) * T + rp) * L;
  for (int r = 0; r < half - 1; r++) {
    for (int i = 0; i < T; i++) pow5(state[i], f);
    for (int i = 0; i < T; i++) add_const(state[i], state[i], fc + (r * T + i) * L, f);
    apply_matrix<T>(state, w.m, f);
  }
  for (int i = 0; i < T; i++) pow5(state[i], f);
  V5 result;
  dot_const<T>(result, w.m, state, f);

  // Out of Montgomery form (times 2^-260: a product with 1), then fully reduced below r.
  static const uint64_t ONE[L] = {1, 0, 0, 0, 0};
  dot_const<1>(result, ONE, &result, f);
  subtract_if_geq(result, result.l, f.r);
  for (int k = 0; k < L; k++) _mm512_storeu_si512(out + k * IFMA_LANES, result.l[k]);
}

typedef void (*PermuteIfmaFn)(const WidthIfma&, const Field52&, const uint64_t*, uint64_t*);

const PermuteIfmaFn PERMUTE_IFMA[18] = {
    nullptr,     nullptr,     permute<2>,  permute<3>,  permute<4>,  permute<5>,
    permute<6>,  permute<7>,  permute<8>,  permute<9>,  permute<10>, permute<11>,
    permute<12>, permute<13>, permute<14>, permute<15>, permute<16>, permute<17>,
};

}  // namespace

void permute_ifma(const WidthIfma& w, const Field52& f, const uint64_t* in, uint64_t* out) {
  PERMUTE_IFMA[w.t](w, f, in, out);
}

}  // namespace daios

#else  // not x86-64: the kernel does not exist and is never selected

namespace daios {
bool cpu_has_ifma() { return false; }
void permute_ifma(const WidthIfma&, const Field52&, const uint64_t*, uint64_t*) {}
}  // namespace daios

#endif
