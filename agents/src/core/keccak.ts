/**
 * keccak256 for the hot paths of agent memory (key and value hashes, op hashes, the sparse Merkle map).
 *
 *   keccak256(new TextEncoder().encode("notes/1"))   // Uint8Array(32)
 *
 * Backed by hash-wasm's WebAssembly Keccak: measured on this project's 2-core machines at ~1 µs for a
 * 100-byte input against ~8 µs for @noble/hashes' pure-JavaScript keccak_256, and a memory write hashes
 * every key and value on both the client and the node. One hasher per thread (module instance), created
 * when the module loads; hashing is synchronous, so calls never interleave.
 */
import { createKeccak } from "hash-wasm";

const hasher = await createKeccak(256);

/** keccak256(data) (Ethereum's Keccak-256, not SHA3-256) as a new 32-byte array. */
export function keccak256(data: Uint8Array): Uint8Array {
  hasher.init();
  hasher.update(data);
  return hasher.digest("binary");
}
