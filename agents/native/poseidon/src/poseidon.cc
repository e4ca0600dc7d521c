#include "poseidon.h"

#include <cstring>

#include "field_x86.h"

namespace daios {

FieldConsts FIELD;

namespace {

void compute_field_consts() {
  // -r^-1 mod 2^64 by Newton's iteration: each step doubles the number of correct low bits.
  uint64_t inv = 1;
  for (int i = 0; i < 7; i++) inv *= 2 - MODULUS[0] * inv;
  FieldConsts f;
  f.inv = (uint64_t)0 - inv;
  // 2^256 mod r and 2^512 mod r by repeated modular doubling of 1.
  Fe x = {{1, 0, 0, 0}};
  for (int i = 1; i <= 512; i++) {
    add(x, x, x);
    if (i == 256) f.one = x;
  }
  f.r2 = x;
  f.multiple[0] = Fe{{0, 0, 0, 0}};
  for (int k = 1; k < 5; k++) {  // plain addition: 4r < 2^256
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
      u128 sum = (u128)f.multiple[k - 1].v[i] + MODULUS[i] + carry;
      f.multiple[k].v[i] = (uint64_t)sum;
      carry = (uint64_t)(sum >> 64);
    }
  }
  // The IFMA representation: r and 2r in 52-bit limbs, -r^-1 mod 2^52, 2^520 mod r.
  const uint64_t two_r[4] = {MODULUS[0] << 1, (MODULUS[1] << 1) | (MODULUS[0] >> 63),
                             (MODULUS[2] << 1) | (MODULUS[1] >> 63), (MODULUS[3] << 1) | (MODULUS[2] >> 63)};
  limbs64_to_52(f.f52.r, MODULUS);
  limbs64_to_52(f.f52.r2x, two_r);
  f.f52.inv = f.inv & LIMB52_MASK;
  Fe y = {{1, 0, 0, 0}};
  for (int i = 0; i < 520; i++) add(y, y, y);
  limbs64_to_52(f.f52.rr, y.v);
  FIELD = f;
}

}  // namespace

void field_setup() {
  // A function-local static is initialized exactly once even when worker threads load the addon
  // concurrently, so FIELD is written before any thread reads it and never again.
  static const bool done = (compute_field_consts(), true);
  (void)done;
}

namespace {

const char* load_constants(std::vector<Fe>& out, const uint8_t* bytes, size_t len, size_t count) {
  if (len != count * 32) return "constant buffer has the wrong length for this width";
  out.resize(count);
  for (size_t i = 0; i < count; i++) {
    uint64_t raw[4];
    load_be(raw, bytes + 32 * i, 32);
    if (geq_modulus(raw)) return "a constant is not below the field modulus";
    to_mont(out[i], raw);
  }
  return nullptr;
}

// Montgomery form with radix 2^256 -> radix 2^260 (four modular doublings), in 52-bit limbs.
void to_ifma(std::vector<uint64_t>& out, const std::vector<Fe>& values) {
  out.resize(values.size() * IFMA_LIMBS);
  for (size_t i = 0; i < values.size(); i++) {
    Fe x = values[i];  // as an integer: value * 2^256 mod r
    for (int k = 0; k < 4; k++) add(x, x, x);
    limbs64_to_52(&out[i * IFMA_LIMBS], x.v);
  }
}

// circomlibjs applies a matrix as new[i] = sum_j A[j][i] * old[j]; store the transpose row-major.
void transpose(std::vector<Fe>& a, int t) {
  std::vector<Fe> tr(a.size());
  for (int i = 0; i < t; i++)
    for (int j = 0; j < t; j++) tr[(size_t)i * t + j] = a[(size_t)j * t + i];
  a.swap(tr);
}

// The field operations the permutation is written against: the portable reference (field.h) or
// the x86-64 BMI2/ADX form (field_x86.h). The AVX-512 IFMA kernel (poseidon_ifma.cc) is separate.
struct PortableArith {
  DAIOS_INLINE void add(Fe& out, const Fe& a, const Fe& b) { daios::add(out, a, b); }
  DAIOS_INLINE void mul(Fe& out, const Fe& a, const Fe& b) { daios::mul(out, a, b); }
  template <int N>
  DAIOS_INLINE void dot(Fe& out, const Fe* a, const Fe* b) { daios::dot<N>(out, a, b); }
};

#ifdef DAIOS_HAVE_X86_ADX
struct X86Arith {
  DAIOS_INLINE void add(Fe& out, const Fe& a, const Fe& b) { x86::add(out, a, b); }
  DAIOS_INLINE void mul(Fe& out, const Fe& a, const Fe& b) { x86::mul(out, a, b); }
  template <int N>
  DAIOS_INLINE void dot(Fe& out, const Fe* a, const Fe* b) { x86::dot<N>(out, a, b); }
};
#endif

// x^5, the Poseidon S-box.
template <class A>
inline void pow5(Fe& x) {
  Fe x2, x4;
  A::mul(x2, x, x);
  A::mul(x4, x2, x2);
  A::mul(x, x4, x);
}

// new_state = A * state for a t x t matrix stored row-major (see Width).
template <int T, class A>
inline void apply_matrix(Fe state[T], const Fe* a) {
  Fe next[T];
  for (int i = 0; i < T; i++) A::template dot<T>(next[i], a + i * T, state);
  for (int i = 0; i < T; i++) state[i] = next[i];
}

template <int T, class A>
inline void add_constants(Fe state[T], const Fe* c) {
  for (int i = 0; i < T; i++) A::add(state[i], state[i], c[i]);
}

template <int T, class A>
inline void sbox_full(Fe state[T]) {
  for (int i = 0; i < T; i++) pow5<A>(state[i]);
}

template <int T, class A>
Fe permute(const Width& w, const Fe* inputs) {
  const int half = FULL_ROUNDS / 2;
  const int rp = w.partial_rounds;
  const Fe* c = w.c.data();
  Fe state[T];
  state[0] = c[0];  // initial state element 0 is zero
  for (int i = 1; i < T; i++) A::add(state[i], inputs[i - 1], c[i]);

  // First half of the full rounds; the last of them mixes with the pre-sparse matrix P.
  for (int r = 0; r < half; r++) {
    sbox_full<T, A>(state);
    add_constants<T, A>(state, c + (r + 1) * T);
    apply_matrix<T, A>(state, r < half - 1 ? w.m.data() : w.p.data());
  }

  // Partial rounds: S-box on element 0 only, then a sparse matrix (one row and one column).
  const Fe* pc = c + (half + 1) * T;
  const Fe* s = w.s.data();
  for (int r = 0; r < rp; r++, s += 2 * T - 1) {
    pow5<A>(state[0]);
    A::add(state[0], state[0], pc[r]);
    Fe first, prod;
    A::template dot<T>(first, s, state);
    for (int k = 1; k < T; k++) {
      A::mul(prod, state[0], s[T + k - 1]);
      A::add(state[k], state[k], prod);
    }
    state[0] = first;
  }

  // Second half of the full rounds; the very last one adds no constants.
  const Fe* fc = c + (half + 1) * T + rp;
  for (int r = 0; r < half - 1; r++) {
    sbox_full<T, A>(state);
    add_constants<T, A>(state, fc + r * T);
    apply_matrix<T, A>(state, w.m.data());
  }
  sbox_full<T, A>(state);
  // Only element 0 of the final state is the output: compute just that row.
  Fe out;
  A::template dot<T>(out, w.m.data(), state);
  return out;
}

typedef Fe (*PermuteFn)(const Width&, const Fe*);

template <class A>
struct PermuteTable {
  static constexpr PermuteFn fns[MAX_WIDTH + 1] = {
      nullptr,        nullptr,        permute<2, A>,  permute<3, A>,  permute<4, A>,  permute<5, A>,
      permute<6, A>,  permute<7, A>,  permute<8, A>,  permute<9, A>,  permute<10, A>, permute<11, A>,
      permute<12, A>, permute<13, A>, permute<14, A>, permute<15, A>, permute<16, A>, permute<17, A>,
  };
};

bool cpu_has_x86_adx_impl() {
#ifdef DAIOS_HAVE_X86_ADX
  __builtin_cpu_init();
  return __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("adx");
#else
  return false;
#endif
}

}  // namespace

const char* set_width(Params& params, int t, int full_rounds, int partial_rounds, const uint8_t* c, size_t c_len,
                      const uint8_t* m, size_t m_len, const uint8_t* p, size_t p_len, const uint8_t* s,
                      size_t s_len) {
  if (t < MIN_WIDTH || t > MAX_WIDTH) return "width t must be between 2 and 17";
  if (full_rounds != FULL_ROUNDS) return "this implementation is built for 8 full rounds";
  if (partial_rounds < 1 || partial_rounds > 200) return "partial round count out of range";
  Width w;
  w.t = t;
  w.partial_rounds = partial_rounds;
  const char* err;
  if ((err = load_constants(w.c, c, c_len, (size_t)FULL_ROUNDS * t + partial_rounds))) return err;
  if ((err = load_constants(w.m, m, m_len, (size_t)t * t))) return err;
  if ((err = load_constants(w.p, p, p_len, (size_t)t * t))) return err;
  if ((err = load_constants(w.s, s, s_len, (size_t)(2 * t - 1) * partial_rounds))) return err;
  transpose(w.m, t);
  transpose(w.p, t);
  to_ifma(w.c52, w.c);
  to_ifma(w.m52, w.m);
  to_ifma(w.p52, w.p);
  to_ifma(w.s52, w.s);
  params.widths[t] = std::move(w);
  return nullptr;
}

const char* arith_name(Arith arith) {
  switch (arith) {
    case Arith::X86Ifma:
      return "x86-64-avx512ifma";
    case Arith::X86Adx:
      return "x86-64-adx";
    default:
      return "portable";
  }
}

bool arith_supported(Arith arith) {
  static const bool adx = cpu_has_x86_adx_impl();
  static const bool ifma = adx && cpu_has_ifma();
  switch (arith) {
    case Arith::X86Ifma:
      return ifma;
    case Arith::X86Adx:
      return adx;
    default:
      return true;
  }
}

Arith best_arith() {
  if (arith_supported(Arith::X86Ifma)) return Arith::X86Ifma;
  if (arith_supported(Arith::X86Adx)) return Arith::X86Adx;
  return Arith::Portable;
}

Fe hash(const Width& w, const Fe* inputs, Arith arith) {
#ifdef DAIOS_HAVE_X86_ADX
  // Single hashes in IFMA mode take the scalar ADX path (the batched kernel has its own entry).
  if (arith == Arith::X86Adx || arith == Arith::X86Ifma) return PermuteTable<X86Arith>::fns[w.t](w, inputs);
#endif
  (void)arith;
  return PermuteTable<PortableArith>::fns[w.t](w, inputs);
}

void hash_chunk(const Width& w, Arith arith, const uint8_t* chunk, size_t chunk_size, uint8_t out[32]) {
  Fe elements[MAX_WIDTH - 1];
  const int n = w.t - 1;
  for (int e = 0; e < n; e++) {
    const size_t begin = (size_t)e * FIELD_BYTES;
    const size_t end = begin + FIELD_BYTES < chunk_size ? begin + FIELD_BYTES : chunk_size;
    uint64_t raw[4];
    load_be(raw, chunk + begin, end - begin);  // at most 31 bytes: always below r
    to_mont(elements[e], raw);
  }
  store_be(out, hash(w, elements, arith));
}

void hash_pair(const Width& w3, Arith arith, const uint8_t left[32], const uint8_t right[32], uint8_t out[32]) {
  Fe in[2];
  load_element(in[0], left);
  load_element(in[1], right);
  store_be(out, hash(w3, in, arith));
}

namespace {

// The kernel's lane-major layout: element e, limb k, lane l at [(e * IFMA_LIMBS + k) * IFMA_LANES + l].
void put_lane(uint64_t* staging, int e, int lane, const uint64_t v[4]) {
  uint64_t limbs[IFMA_LIMBS];
  limbs64_to_52(limbs, v);
  for (int k = 0; k < IFMA_LIMBS; k++) staging[(e * IFMA_LIMBS + k) * IFMA_LANES + lane] = limbs[k];
}

void store_lanes(const uint64_t* result, int lanes, uint8_t* const* out) {
  for (int l = 0; l < lanes; l++) {
    uint64_t limbs[IFMA_LIMBS], v[4];
    for (int k = 0; k < IFMA_LIMBS; k++) limbs[k] = result[k * IFMA_LANES + l];
    limbs52_to_64(v, limbs);
    for (int i = 0; i < 4; i++) {
      const uint64_t limb = v[3 - i];
      for (int b = 0; b < 8; b++) out[l][8 * i + b] = (uint8_t)(limb >> (56 - 8 * b));
    }
  }
}

}  // namespace

void hash_chunks_batch(const Width& w, const uint8_t* const* chunks, int lanes, size_t chunk_size, uint8_t* const* out) {
  alignas(64) uint64_t staging[(MAX_WIDTH - 1) * IFMA_LIMBS * IFMA_LANES] = {};  // unused lanes stay zero
  alignas(64) uint64_t result[IFMA_LIMBS * IFMA_LANES];
  const int n = w.t - 1;
  for (int l = 0; l < lanes; l++) {
    for (int e = 0; e < n; e++) {
      const size_t begin = (size_t)e * FIELD_BYTES;
      const size_t end = begin + FIELD_BYTES < chunk_size ? begin + FIELD_BYTES : chunk_size;
      uint64_t raw[4];
      load_be(raw, chunks[l] + begin, end - begin);  // at most 31 bytes: below r
      put_lane(staging, e, l, raw);
    }
  }
  permute_ifma(w.ifma(), FIELD.f52, staging, result);
  store_lanes(result, lanes, out);
}

void hash_values_batch(const Width& w, const uint8_t* const* values, int lanes, uint8_t* const* out) {
  alignas(64) uint64_t staging[(MAX_WIDTH - 1) * IFMA_LIMBS * IFMA_LANES] = {};
  alignas(64) uint64_t result[IFMA_LIMBS * IFMA_LANES];
  const int n = w.t - 1;
  for (int l = 0; l < lanes; l++) {
    for (int e = 0; e < n; e++) {
      uint64_t raw[4];
      load_be(raw, values[l * n + e], 32);
      reduce_full(raw);  // like circomlibjs's F.e
      put_lane(staging, e, l, raw);
    }
  }
  permute_ifma(w.ifma(), FIELD.f52, staging, result);
  store_lanes(result, lanes, out);
}

}  // namespace daios
