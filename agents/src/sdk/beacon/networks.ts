/**
 * The beacon networks daios knows: drand's public "evmnet" (BN254, League of Entropy) and the devnet
 * beacon, whose signer is a fixed, published, INSECURE key.
 *
 * The devnet signer uses exactly drand's scheme (BLS on BN254, signatures in G1 over
 * keccak256(uint64 round), DST BLS_SIG_BN254G1_XMD:KECCAK-256_SVDW_RO_NUL_), so RandomnessBeacon cannot
 * tell its rounds from drand's: only the public key differs. Anybody can compute the devnet key from
 * the string below and sign any round in advance, so its randomness is predictable: it exists to run a
 * local chain without internet access, never to protect anything.
 */
import {
  DRAND_DST,
  DRAND_EVMNET,
  g1ToBytes,
  g2FromBytes,
  g2ToBytes,
  g2ToSolidity,
  publicKeyG2,
  secretKeyFromSeed,
  signMessage,
  drandRoundMessage,
  drandRandomness,
  toHex,
  type G1,
  type G2,
  type SolidityG2,
} from "../bls/index.js";
import { parseSignature } from "./input.js";
import type { RoundClock } from "./time.js";

export type BeaconNetworkName = "evmnet" | "devnet" | "custom";

export interface BeaconNetwork extends RoundClock {
  name: BeaconNetworkName;
  /** Group public key, kyber G2 bytes x1 || x0 || y1 || y0, 0x-prefixed hex. */
  publicKey: string;
  /** drand's chain hash (the chain's id on its HTTP relays); only for networks drand serves. */
  chainHash?: string;
}

/** drand evmnet: genesis 2024-09-28, a round every 3 s. */
export const EVMNET: BeaconNetwork = Object.freeze({
  name: "evmnet",
  publicKey: DRAND_EVMNET.publicKey,
  genesis: DRAND_EVMNET.genesis,
  period: DRAND_EVMNET.period,
  chainHash: "04f1e9062b8a81f848fded9c12306733282b2727ecced50032187751166ec8c3",
});

/**
 * Seconds between devnet rounds: one per devnet block (1 s), so every bucket of the delay rule gets
 * an anchor at once and a storage period's seed is public as early as the rule allows, leaving the
 * most of the proof deadline to the providers of a devnet that shares a laptop's cores.
 */
export const DEVNET_PERIOD = 1;

/** The text the devnet beacon key is derived from (public on purpose). */
export const DEVNET_KEY_SEED = "daios devnet beacon key: published, insecure, never use outside a local devnet";

/** The devnet beacon's secret key: secretKeyFromSeed(DEVNET_KEY_SEED). Public and insecure. */
export const DEVNET_SECRET_KEY: bigint = secretKeyFromSeed(new TextEncoder().encode(DEVNET_KEY_SEED));

/** The devnet beacon's public key (kyber G2 hex). */
export const DEVNET_PUBLIC_KEY: string = toHex(g2ToBytes(publicKeyG2(DEVNET_SECRET_KEY)));

/** The devnet beacon network; its genesis is chosen when the devnet deploys (the chain's time then). */
export function devnetNetwork(genesis: number, period = DEVNET_PERIOD): BeaconNetwork {
  return { name: "devnet", publicKey: DEVNET_PUBLIC_KEY, genesis, period };
}

/** A public key in the order RandomnessBeacon's constructor takes it. */
export function publicKeyForContract(publicKey: string): SolidityG2 {
  return g2ToSolidity(parsePublicKey(publicKey));
}

/** A kyber G2 public key (128 bytes hex, with or without 0x), checked to be a point of G2. */
export function parsePublicKey(publicKey: string): G2 {
  return g2FromBytes(publicKey, "beacon public key");
}

/** A beacon round: its number, signature (kyber G1 hex, 64 bytes) and randomness sha256(signature). */
export interface BeaconRound {
  round: number;
  signature: string;
  randomness: string;
}

/** Signs `round` with `secretKey` under drand's BN254 scheme (the devnet signer). */
export function signRound(round: number, secretKey: bigint = DEVNET_SECRET_KEY): BeaconRound {
  if (!Number.isSafeInteger(round) || round < 1) throw new RangeError(`a beacon round is a whole number from 1, got ${round}`);
  const signature = signMessage(secretKey, DRAND_DST, drandRoundMessage(round));
  return { round, signature: toHex(g1ToBytes(signature)), randomness: toHex(drandRandomness(signature)) };
}

/**
 * A round signature (64 bytes x || y, kyber G1 encoding) as RandomnessBeacon.relay takes it. Only the
 * encoding is checked here (see parseSignature); whether it is a curve point is the contract's check.
 */
export function signatureForContract(signature: string | G1): { x: bigint; y: bigint } {
  if (typeof signature !== "string") {
    const bytes = g1ToBytes(signature);
    return { x: BigInt(toHex(bytes.subarray(0, 32))), y: BigInt(toHex(bytes.subarray(32))) };
  }
  return parseSignature(signature);
}
