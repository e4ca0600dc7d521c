#include "sha256.h"

#include <cstring>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(DAIOS_DA_NO_SIMD)
#include <cpuid.h>
#include <immintrin.h>
#define DAIOS_X86 1
#endif

namespace daios_da {

namespace {

// First 32 bits of the fractional parts of the cube roots of the first 64 primes.
alignas(16) const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// First 32 bits of the fractional parts of the square roots of the first 8 primes.
const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

inline uint32_t load_be32(const uint8_t* p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

void blocks_portable(uint32_t state[8], const uint8_t* data, size_t blocks) {
  uint32_t w[64];
  for (; blocks > 0; blocks--, data += 64) {
    for (int t = 0; t < 16; t++) w[t] = load_be32(data + 4 * t);
    for (int t = 16; t < 64; t++) {
      const uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
      const uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t++) {
      const uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
      const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
  }
}

#ifdef DAIOS_X86

// The SHA extensions keep the state as two vectors, ABEF and CDGH (A in the highest lane).
// SHA256RNDS2 does two rounds from the low two lanes of W + K; SHA256MSG1/MSG2 extend the message
// schedule four words at a time: W[t..t+3] from W[t-16..t-1]. A message's rounds form one chain
// of dependent SHA256RNDS2 instructions, so L independent messages are interleaved to keep the
// unit busy (each lane has its own states[l] and data[l], all of `blocks` blocks).
template <int L>
__attribute__((target("sha,sse4.1,ssse3"))) void lanes_shani(uint32_t* const* states, const uint8_t* const* data,
                                                             size_t blocks) {
  const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i abef[L], cdgh[L];
  const uint8_t* p[L];
#pragma GCC unroll 4
  for (int l = 0; l < L; l++) {
    const __m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i*>(states[l]));
    const __m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i*>(states[l] + 4));
    const __m128i badc = _mm_shuffle_epi32(dcba, 0xb1);  // lanes 0..3 = b a d c
    const __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1b);  // lanes 0..3 = h g f e
    abef[l] = _mm_alignr_epi8(badc, efgh, 8);             // lanes 0..3 = f e b a
    cdgh[l] = _mm_blend_epi16(efgh, badc, 0xf0);          // lanes 0..3 = h g d c
    p[l] = data[l];
  }
  for (; blocks > 0; blocks--) {
    __m128i abef_in[L], cdgh_in[L], w[L][4];
#pragma GCC unroll 4
    for (int l = 0; l < L; l++) {
      abef_in[l] = abef[l];
      cdgh_in[l] = cdgh[l];
    }
#pragma GCC unroll 16
    for (int g = 0; g < 16; g++) {
      const __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(K + 4 * g));
#pragma GCC unroll 4
      for (int l = 0; l < L; l++) {
        __m128i m;
        if (g < 4) {
          m = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p[l] + 16 * g)), byteswap);
        } else {
          // W[t-16] + s0(W[t-15]), + W[t-7] (lanes 1..3 of group g-2 and lane 0 of g-1), + s1(W[t-2]).
          const __m128i part = _mm_sha256msg1_epu32(w[l][g & 3], w[l][(g + 1) & 3]);
          const __m128i w7 = _mm_alignr_epi8(w[l][(g + 3) & 3], w[l][(g + 2) & 3], 4);
          m = _mm_sha256msg2_epu32(_mm_add_epi32(part, w7), w[l][(g + 3) & 3]);
        }
        w[l][g & 3] = m;
        __m128i wk = _mm_add_epi32(m, k);
        cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], wk);  // now the new ABEF; abef[l] is the new CDGH
        wk = _mm_shuffle_epi32(wk, 0x0e);
        abef[l] = _mm_sha256rnds2_epu32(abef[l], cdgh[l], wk);
      }
    }
#pragma GCC unroll 4
    for (int l = 0; l < L; l++) {
      abef[l] = _mm_add_epi32(abef[l], abef_in[l]);
      cdgh[l] = _mm_add_epi32(cdgh[l], cdgh_in[l]);
      p[l] += 64;
    }
  }
#pragma GCC unroll 4
  for (int l = 0; l < L; l++) {
    const __m128i abef_rev = _mm_shuffle_epi32(abef[l], 0x1b);  // lanes 0..3 = a b e f
    const __m128i cdgh_rev = _mm_shuffle_epi32(cdgh[l], 0xb1);  // lanes 0..3 = g h c d
    _mm_storeu_si128(reinterpret_cast<__m128i*>(states[l]), _mm_blend_epi16(abef_rev, cdgh_rev, 0xf0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(states[l] + 4), _mm_alignr_epi8(cdgh_rev, abef_rev, 8));
  }
}

void blocks_shani(uint32_t state[8], const uint8_t* data, size_t blocks) {
  uint32_t* states[1] = {state};
  const uint8_t* datas[1] = {data};
  lanes_shani<1>(states, datas, blocks);
}

void multi_shani(uint32_t* const* states, const uint8_t* const* data, size_t blocks, int lanes) {
  switch (lanes) {
    case 1: return lanes_shani<1>(states, data, blocks);
    case 2: return lanes_shani<2>(states, data, blocks);
    case 3: return lanes_shani<3>(states, data, blocks);
    default: return lanes_shani<4>(states, data, blocks);
  }
}

bool cpu_has_shani() {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("sse4.1") || !__builtin_cpu_supports("ssse3")) return false;
  // CPUID leaf 7, sub-leaf 0: EBX bit 29 is SHA.
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  return (ebx >> 29) & 1;
}

#else

void blocks_shani(uint32_t state[8], const uint8_t* data, size_t blocks) { blocks_portable(state, data, blocks); }
void multi_shani(uint32_t* const* states, const uint8_t* const* data, size_t blocks, int lanes) {
  for (int l = 0; l < lanes; l++) blocks_portable(states[l], data[l], blocks);
}
bool cpu_has_shani() { return false; }

#endif

void multi_portable(uint32_t* const* states, const uint8_t* const* data, size_t blocks, int lanes) {
  for (int l = 0; l < lanes; l++) blocks_portable(states[l], data[l], blocks);
}

// Messages hashed side by side (independent SHA-256 chains interleaved on one core).
constexpr int LANES = 2;
using MultiFn = void (*)(uint32_t* const* states, const uint8_t* const* data, size_t blocks, int lanes);

MultiFn multi_fn(Sha sha) { return sha == Sha::ShaNi && sha_supported(Sha::ShaNi) ? multi_shani : multi_portable; }

// Writes the 64-byte-block padding of a `length`-byte message at message + length.
void pad_message(uint8_t* message, size_t length, size_t padded) {
  message[length] = 0x80;
  std::memset(message + length + 1, 0, padded - length - 1);
  const uint64_t bits = (uint64_t)length * 8;
  for (int i = 0; i < 8; i++) message[padded - 1 - i] = (uint8_t)(bits >> (8 * i));
}

}  // namespace

const char* sha_name(Sha sha) { return sha == Sha::ShaNi ? "sha-ni" : "portable"; }

bool sha_supported(Sha sha) { return sha == Sha::Portable || (sha == Sha::ShaNi && cpu_has_shani()); }

Sha best_sha() { return sha_supported(Sha::ShaNi) ? Sha::ShaNi : Sha::Portable; }

BlockFn block_fn(Sha sha) { return sha == Sha::ShaNi && sha_supported(Sha::ShaNi) ? blocks_shani : blocks_portable; }

Sha256::Sha256(BlockFn fn) : buffered(0), total(0), compress(fn) { std::memcpy(state, H0, sizeof state); }

void Sha256::update(const uint8_t* data, size_t length) {
  total += length;
  if (buffered > 0) {
    const size_t take = 64 - buffered < length ? 64 - buffered : length;
    std::memcpy(buffer + buffered, data, take);
    buffered += take;
    data += take;
    length -= take;
    if (buffered < 64) return;
    compress(state, buffer, 1);
    buffered = 0;
  }
  if (length >= 64) {
    compress(state, data, length / 64);
    data += length - length % 64;
    length %= 64;
  }
  std::memcpy(buffer, data, length);
  buffered = length;
}

void Sha256::finish(uint8_t digest[32]) {
  const uint64_t bits = total * 8;
  buffer[buffered++] = 0x80;
  if (buffered > 56) {
    std::memset(buffer + buffered, 0, 64 - buffered);
    compress(state, buffer, 1);
    buffered = 0;
  }
  std::memset(buffer + buffered, 0, 56 - buffered);
  for (int i = 0; i < 8; i++) buffer[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
  compress(state, buffer, 1);
  for (int i = 0; i < 8; i++) store_be32(digest + 4 * i, state[i]);
}

void sha256(Sha sha, const uint8_t* data, size_t length, uint8_t digest[32]) {
  Sha256 h(block_fn(sha));
  h.update(data, length);
  h.finish(digest);
}

void hash_leaves(Sha sha, const uint8_t* data, size_t length, size_t chunk_size, size_t start, size_t end,
                 uint8_t* out) {
  const MultiFn multi = multi_fn(sha);
  // Each lane's message: 0x00 || chunk (zero-padded) || SHA-256 padding, built in a scratch buffer.
  const size_t message_length = 1 + chunk_size;
  const size_t padded = (message_length + 8) / 64 * 64 + 64;
  std::vector<uint8_t> scratch(LANES * padded);
  for (int l = 0; l < LANES; l++) {
    scratch[l * padded] = 0x00;
    pad_message(scratch.data() + l * padded, message_length, padded);
  }
  for (size_t i = start; i < end; i += LANES) {
    const int lanes = end - i < (size_t)LANES ? (int)(end - i) : LANES;  // 1 .. LANES
    uint32_t state[LANES][8];
    uint32_t* states[LANES];
    const uint8_t* messages[LANES];
    for (int l = 0; l < lanes && l < LANES; l++) {
      uint8_t* message = scratch.data() + l * padded;
      const size_t offset = (i + l) * chunk_size;
      const size_t have = offset < length ? (length - offset < chunk_size ? length - offset : chunk_size) : 0;
      if (have > 0) std::memcpy(message + 1, data + offset, have);
      if (have < chunk_size) std::memset(message + 1 + have, 0, chunk_size - have);
      std::memcpy(state[l], H0, sizeof state[l]);
      states[l] = state[l];
      messages[l] = message;
    }
    multi(states, messages, padded / 64, lanes);
    for (int l = 0; l < lanes; l++) {
      for (int w = 0; w < 8; w++) store_be32(out + 32 * (i + l - start) + 4 * w, state[l][w]);
    }
  }
}

void hash_nodes(Sha sha, const uint8_t* level, size_t count, const uint8_t* zero, size_t start, size_t end,
                uint8_t* out) {
  const MultiFn multi = multi_fn(sha);
  // 0x01 || left || right is 65 bytes: two blocks with the padding (0x80, zeros, length 520 bits).
  uint8_t message[LANES][128];
  for (int l = 0; l < LANES; l++) {
    message[l][0] = 0x01;
    pad_message(message[l], 65, 128);
  }
  for (size_t i = start; i < end; i += LANES) {
    const int lanes = end - i < (size_t)LANES ? (int)(end - i) : LANES;  // 1 .. LANES
    uint32_t state[LANES][8];
    uint32_t* states[LANES];
    const uint8_t* messages[LANES];
    for (int l = 0; l < lanes && l < LANES; l++) {
      const size_t parent = i + l;
      std::memcpy(message[l] + 1, level + 64 * parent, 32);
      std::memcpy(message[l] + 33, 2 * parent + 1 < count ? level + 64 * parent + 32 : zero, 32);
      std::memcpy(state[l], H0, sizeof state[l]);
      states[l] = state[l];
      messages[l] = message[l];
    }
    multi(states, messages, 2, lanes);
    for (int l = 0; l < lanes; l++) {
      for (int w = 0; w < 8; w++) store_be32(out + 32 * (i + l - start) + 4 * w, state[l][w]);
    }
  }
}

}  // namespace daios_da
