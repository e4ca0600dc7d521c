/**
 * drand BN254 networks ("evmnet" scheme, unchained): the message of round r is keccak256(uint64 r,
 * big-endian), hashed to G1 with DRAND_DST and signed by the network's group key in G2; a round's
 * randomness is sha256 of its 64-byte signature x || y. contracts/randomness/RandomnessBeacon.sol checks
 * the same on chain.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  BlsError,
  DRAND_DST,
  g1FromBytes,
  g1ToBytes,
  g2FromBytes,
  verifyMessage,
  type BytesInput,
  type G1,
  type G2,
} from "./bn254.js";

/** Public chain information of a drand BN254 network. */
export interface DrandChainInfo {
  /** Group public key, kyber G2 bytes x1 || x0 || y1 || y0 (hex). */
  publicKey: string;
  /** Unix time of round 1. */
  genesis: number;
  /** Seconds between rounds. */
  period: number;
  /** Domain separation tag of the signatures. */
  dst: string;
}

/** drand "evmnet" (League of Entropy, BN254, 3-second rounds). */
export const DRAND_EVMNET: DrandChainInfo = Object.freeze({
  publicKey:
    "0x07e1d1d335df83fa98462005690372c643340060d205306a9aa8106b6bd0b3820557ec32c2ad488e4d4f6008f89a346f18492092ccc0d594610de2732c8b808f0095685ae3a85ba243747b1b2f426049010f6b73a0cf1d389351d5aaaa1047f6297d3a4f9749b33eb2d904c9d9ebf17224150ddd7abd7567a9bec6c74480ee0b",
  genesis: 1727521075,
  period: 3,
  dst: DRAND_DST,
});

/** The group public key of `chain` as a G2 point. */
export function drandPublicKey(chain: DrandChainInfo = DRAND_EVMNET): G2 {
  return g2FromBytes(chain.publicKey, "drand public key");
}

/** The round due at unix time `timestamp` (0 before genesis), as RandomnessBeacon.roundAt. */
export function drandRoundAt(timestamp: number | bigint, chain: DrandChainInfo = DRAND_EVMNET): bigint {
  const t = BigInt(timestamp);
  const genesis = BigInt(chain.genesis);
  return t < genesis ? 0n : (t - genesis) / BigInt(chain.period) + 1n;
}


/** The message a drand BN254 network signs for `round` (unchained): keccak256(uint64 round, big-endian). */
export function drandRoundMessage(round: bigint | number): Uint8Array {
  const r = BigInt(round);
  if (r < 0n || r >= 1n << 64n) throw new BlsError(`drand round ${round} does not fit in 64 bits`);
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, r, false);
  return keccak_256(bytes);
}

/** The randomness of a beacon round: sha256 of its 64-byte signature x||y (as RandomnessBeacon stores it). */
export function drandRandomness(signature: G1 | BytesInput): Uint8Array {
  const point = typeof signature === "string" || signature instanceof Uint8Array ? g1FromBytes(signature, "drand signature") : signature;
  return sha256(g1ToBytes(point));
}

/** Whether `signature` is the drand signature of `round` under `publicKey` (unchained BN254 scheme). */
export function verifyDrandRound(round: bigint | number, signature: G1, publicKey: G2 = drandPublicKey(), dst: string | Uint8Array = DRAND_DST): boolean {
  return verifyMessage(signature, publicKey, dst, drandRoundMessage(round));
}
