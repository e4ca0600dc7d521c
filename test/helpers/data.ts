import { createHash } from "node:crypto";

/** Deterministic pseudo-random bytes (SHA-256 in counter mode), the same for a given length and seed. */
export function deterministicBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (let counter = 0; offset < length; counter++) {
    const block = createHash("sha256").update(`daios-test-${seed}-${counter}`).digest();
    out.set(block.subarray(0, Math.min(32, length - offset)), offset);
    offset += 32;
  }
  return out;
}
