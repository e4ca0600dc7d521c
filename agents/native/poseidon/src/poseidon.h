// Poseidon over BN254 with circomlib's parameters, in the optimized form of circomlibjs's
// poseidon_opt.js (full rounds with the MDS matrix M, one pre-sparse matrix P before the partial
// rounds, and a sparse matrix per partial round). The constants are not in this source: the host
// passes them in (from circomlibjs's poseidon_constants_opt.json) through set_width().
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "field.h"
#include "poseidon_ifma.h"

namespace daios {

constexpr int MIN_WIDTH = 2;   // t = inputs + 1
constexpr int MAX_WIDTH = 17;  // circomlib supports 1..16 inputs
constexpr int FULL_ROUNDS = 8;

// The parameters of one width t, in Montgomery form. Matrices are stored row-major as they are
// applied: new_state[i] = sum_j mt[i * t + j] * state[j] (that is, circomlibjs's M[j][i]).
struct Width {
  int t = 0;
  int partial_rounds = 0;
  std::vector<Fe> c;   // round constants: FULL_ROUNDS * t + partial_rounds
  std::vector<Fe> m;   // t * t
  std::vector<Fe> p;   // t * t
  std::vector<Fe> s;   // (2t - 1) * partial_rounds
  // The same constants for the IFMA kernel (poseidon_ifma.h): 5 limbs of 52 bits per value.
  std::vector<uint64_t> c52, m52, p52, s52;
  WidthIfma ifma() const { return WidthIfma{t, partial_rounds, c52.data(), m52.data(), p52.data(), s52.data()}; }
};

// Which field arithmetic runs the permutation: the portable C++, x86-64 BMI2/ADX assembly (one
// hash at a time), or AVX-512 IFMA (eight hashes at a time).
enum class Arith { Portable, X86Adx, X86Ifma };

// Whether this CPU can run `arith`.
bool arith_supported(Arith arith);

// The fastest arithmetic this CPU supports (checked once), and its name for diagnostics.
Arith best_arith();
const char* arith_name(Arith arith);

struct Params {
  Width widths[MAX_WIDTH + 1];
  Arith arith = best_arith();
  bool ready(int t) const { return t >= MIN_WIDTH && t <= MAX_WIDTH && widths[t].t == t; }
};

// Installs the parameters of width t from canonical 32-byte big-endian constants (circomlibjs's
// layout: C[t-2] flat, M[t-2][j][i] and P[t-2][j][i] row by row, S[t-2] flat). Returns an error
// message, or nullptr on success.
const char* set_width(Params& params, int t, int full_rounds, int partial_rounds, const uint8_t* c, size_t c_len,
                      const uint8_t* m, size_t m_len, const uint8_t* p, size_t p_len, const uint8_t* s,
                      size_t s_len);

// Poseidon of t - 1 Montgomery-form inputs (initial state element 0). Returns state[0] (Montgomery).
Fe hash(const Width& w, const Fe* inputs, Arith arith);

// Packs one chunk like format.ts packChunk (elements of 31 bytes big-endian, the last element the
// remainder) and writes Poseidon(elements) as 32 big-endian bytes. `chunk` has chunk_size bytes.
void hash_chunk(const Width& w, Arith arith, const uint8_t* chunk, size_t chunk_size, uint8_t out[32]);

// Poseidon(left, right) of two 32-byte big-endian values (reduced modulo r first), big-endian out.
void hash_pair(const Width& w3, Arith arith, const uint8_t left[32], const uint8_t right[32], uint8_t out[32]);

// Batched forms for the IFMA arithmetic: `lanes` (1..IFMA_LANES) independent hashes at once.
// hash_chunks_batch: chunks[l] is one chunk of chunk_size bytes (packed as in hash_chunk).
// hash_values_batch: values[l * (t - 1) + e] is input e of hash l, 32 bytes big-endian.
void hash_chunks_batch(const Width& w, const uint8_t* const* chunks, int lanes, size_t chunk_size, uint8_t* const* out);
void hash_values_batch(const Width& w, const uint8_t* const* values, int lanes, uint8_t* const* out);

constexpr size_t FIELD_BYTES = 31;

static inline int width_for_chunk(size_t chunk_size) { return (int)((chunk_size + FIELD_BYTES - 1) / FIELD_BYTES) + 1; }

// Big-endian 32 bytes -> Montgomery element, reducing values >= r like circomlibjs's F.e does.
static inline void load_element(Fe& out, const uint8_t bytes[32]) {
  uint64_t raw[4];
  load_be(raw, bytes, 32);
  reduce_full(raw);
  to_mont(out, raw);
}

}  // namespace daios
