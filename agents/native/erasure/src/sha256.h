// SHA-256 (FIPS 180-4) for the DA commitment tree: leaves sha256(0x00 || chunk) and nodes
// sha256(0x01 || left || right). Two block functions, the same digests: portable C++ and the x86
// SHA extensions (SHA-NI). The tests compare both with node:crypto.
#pragma once

#include <cstddef>
#include <cstdint>

namespace daios_da {

enum class Sha : int { Portable = 0, ShaNi = 1 };
constexpr int SHA_COUNT = 2;

const char* sha_name(Sha sha);
bool sha_supported(Sha sha);
Sha best_sha();

/** Compresses `blocks` 64-byte blocks into `state` (a, b, ..., h). */
using BlockFn = void (*)(uint32_t state[8], const uint8_t* data, size_t blocks);
BlockFn block_fn(Sha sha);

/** A streaming SHA-256 over one block function. */
struct Sha256 {
  uint32_t state[8];
  uint8_t buffer[64];
  size_t buffered;
  uint64_t total;
  BlockFn compress;

  explicit Sha256(BlockFn fn);
  void update(const uint8_t* data, size_t length);
  void finish(uint8_t digest[32]);
};

void sha256(Sha sha, const uint8_t* data, size_t length, uint8_t digest[32]);

/**
 * Leaves [start, end) of `data` cut into `chunk_size`-byte chunks (the last one zero-padded):
 * leaf i = sha256(0x00 || chunk i), 32 bytes each, written to `out`.
 */
void hash_leaves(Sha sha, const uint8_t* data, size_t length, size_t chunk_size, size_t start, size_t end,
                 uint8_t* out);

/**
 * Parents [start, end) of a level of `count` 32-byte nodes: parent i = sha256(0x01 || node 2i ||
 * node 2i+1), with `zero` as the right node of an odd last one.
 */
void hash_nodes(Sha sha, const uint8_t* level, size_t count, const uint8_t* zero, size_t start, size_t end,
                uint8_t* out);

}  // namespace daios_da
