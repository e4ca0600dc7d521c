/**
 * BLS signatures on BN254 — the TypeScript reference for contracts/libraries/BN254.sol and BLS.sol.
 *
 * Scheme (drand's "short signatures", also used for DA certificates): secret key sk in [1, R), public
 * key pk = sk·g2 in G2 (the G1 key sk·g1 is kept too, for aggregate-key checks on chain), message point
 * H(m) in G1, signature sk·H(m) in G1, valid when e(sig, -g2)·e(H(m), pk) == 1.
 *
 * H is RFC 9380 hash_to_curve for BN254 G1, suite BN254G1_XMD:KECCAK-256_SVDW_RO_: expand_message_xmd
 * with keccak256 (b_in_bytes 32, s_in_bytes 136) to 96 bytes, hash_to_field giving two field elements
 * of L = 48 bytes, the SVDW map (section 6.6.1, Z = 1) on each, and their sum (cofactor 1). This file
 * follows the RFC step by step; the Solidity library computes the same points with fewer modexps, and
 * test/vectors/bls.json (written from here) checks that they agree bit for bit.
 *
 * Encodings: Solidity structs `G1Point {x, y}` and `G2Point {x1, x0, y1, y0}` (EIP-197, imaginary
 * part first); kyber/drand bytes are 64 bytes x||y for G1 and 128 bytes x1||x0||y1||y0 for G2, all
 * big-endian 32-byte words.
 */
import { bn254 } from "@noble/curves/bn254.js";
import type { WeierstrassPoint } from "@noble/curves/abstract/weierstrass.js";
import type { Fp2 } from "@noble/curves/abstract/tower.js";
import { keccak_256 } from "@noble/hashes/sha3.js";

const { Fp, Fp12 } = bn254.fields;

/** Base field modulus p. */
export const FIELD_MODULUS = Fp.ORDER;
/** Order r of G1 and G2. */
export const GROUP_ORDER = bn254.fields.Fr.ORDER;

/** Domain separation tag of drand's BN254 networks (evmnet); see drand.ts. */
export const DRAND_DST = "BLS_SIG_BN254G1_XMD:KECCAK-256_SVDW_RO_NUL_";
/** Domain separation tag of daios DA certificates. */
export const DA_CERT_DST = "DAIOS-DA-CERT-V1_BN254G1_XMD:KECCAK-256_SVDW_RO_";
/** Domain separation tag for deriving secret keys from seeds (`secretKeyFromSeed`). */
export const KEYGEN_DST = "DAIOS-BLS-KEYGEN-V1_BN254";

/** A point of G1 (noble). */
export type G1 = WeierstrassPoint<bigint>;
/** A point of G2 (noble). */
export type G2 = WeierstrassPoint<Fp2>;
/** BN254.G1Point as Solidity sees it. */
export interface SolidityG1 {
  x: bigint;
  y: bigint;
}
/** BN254.G2Point as Solidity sees it: x = x0 + x1·i, y = y0 + y1·i, imaginary parts first. */
export interface SolidityG2 {
  x1: bigint;
  x0: bigint;
  y1: bigint;
  y0: bigint;
}
/** Bytes, or a hex string with or without 0x. */
export type BytesInput = Uint8Array | string;

/** A key, point, encoding or parameter that the BLS code cannot accept; the message names the value. */
export class BlsError extends Error {
  override name = "BlsError";
}

const G1Point = bn254.G1.Point;
const G2Point = bn254.G2.Point;
const P = FIELD_MODULUS;

// ---------------------------------------------------------------------------------------------------
// Bytes helpers

const encoder = new TextEncoder();

function hexToBytes(hex: string, what: string): Uint8Array {
  const body = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex;
  if (body.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(body)) {
    throw new BlsError(`${what} is not a hex string of whole bytes: "${hex.length > 80 ? hex.slice(0, 80) + "…" : hex}"`);
  }
  return Uint8Array.from(Buffer.from(body, "hex"));
}

function toBytes(input: BytesInput, what: string): Uint8Array {
  return typeof input === "string" ? hexToBytes(input, what) : input;
}

function dstBytes(dst: string | Uint8Array): Uint8Array {
  const bytes = typeof dst === "string" ? encoder.encode(dst) : dst;
  if (bytes.length < 1 || bytes.length > 255) {
    throw new BlsError(
      `domain separation tag must be 1 to 255 bytes (RFC 9380 section 5.3.3), got ${bytes.length} bytes`,
    );
  }
  return bytes;
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt("0x" + Buffer.from(bytes).toString("hex"));
}

function bigIntToBytes32(value: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(value.toString(16).padStart(64, "0"), "hex"));
}

/** 0x-prefixed lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return "0x" + Buffer.from(bytes).toString("hex");
}

// ---------------------------------------------------------------------------------------------------
// RFC 9380 hash_to_curve for BN254 G1

const KECCAK_BLOCK_BYTES = 136; // s_in_bytes: the keccak256 rate
const KECCAK_OUT_BYTES = 32; // b_in_bytes

/**
 * RFC 9380 expand_message_xmd with H = keccak256. `dst` (text or bytes) must be 1 to 255 bytes; the
 * Solidity library only produces `lenInBytes` = 96.
 */
export function expandMessageXmd(dst: string | Uint8Array, message: Uint8Array, lenInBytes = 96): Uint8Array {
  const tag = dstBytes(dst);
  const ell = Math.ceil(lenInBytes / KECCAK_OUT_BYTES);
  if (!Number.isInteger(lenInBytes) || lenInBytes < 1 || ell > 255 || lenInBytes > 65535) {
    throw new BlsError(`expand_message_xmd output length must be 1 to ${255 * KECCAK_OUT_BYTES} bytes, got ${lenInBytes}`);
  }
  const dstPrime = Uint8Array.of(...tag, tag.length);
  const msgPrime = new Uint8Array(KECCAK_BLOCK_BYTES + message.length + 3 + dstPrime.length);
  msgPrime.set(message, KECCAK_BLOCK_BYTES);
  msgPrime[KECCAK_BLOCK_BYTES + message.length] = lenInBytes >> 8;
  msgPrime[KECCAK_BLOCK_BYTES + message.length + 1] = lenInBytes & 0xff;
  msgPrime[KECCAK_BLOCK_BYTES + message.length + 2] = 0;
  msgPrime.set(dstPrime, KECCAK_BLOCK_BYTES + message.length + 3);
  const b0 = keccak_256(msgPrime);
  const out = new Uint8Array(ell * KECCAK_OUT_BYTES);
  let previous = new Uint8Array(KECCAK_OUT_BYTES);
  for (let i = 1; i <= ell; i++) {
    const input = new Uint8Array(KECCAK_OUT_BYTES + 1 + dstPrime.length);
    for (let j = 0; j < KECCAK_OUT_BYTES; j++) input[j] = b0[j] ^ previous[j]; // b_0 xor b_(i-1); b_(0) xor 0 for i = 1
    input[KECCAK_OUT_BYTES] = i;
    input.set(dstPrime, KECCAK_OUT_BYTES + 1);
    previous = keccak_256(input);
    out.set(previous, (i - 1) * KECCAK_OUT_BYTES);
  }
  return out.subarray(0, lenInBytes);
}

/** RFC 9380 hash_to_field(message, 2) for F_p: two field elements from 48 bytes each. */
export function hashToField(dst: string | Uint8Array, message: Uint8Array): [bigint, bigint] {
  const uniform = expandMessageXmd(dst, message, 96);
  return [bytesToBigInt(uniform.subarray(0, 48)) % P, bytesToBigInt(uniform.subarray(48, 96)) % P];
}

const mod = (a: bigint): bigint => ((a % P) + P) % P;
const inv0 = (a: bigint): bigint => Fp.pow(mod(a), P - 2n); // 0 maps to 0
const isSquare = (a: bigint): boolean => {
  const legendre = Fp.pow(mod(a), (P - 1n) / 2n);
  return legendre === 0n || legendre === 1n;
};
const sqrt = (a: bigint): bigint => Fp.sqrt(mod(a));
const sgn0 = (a: bigint): bigint => mod(a) & 1n;
const g = (x: bigint): bigint => mod(x * x * x + 3n); // A = 0, B = 3

// SVDW constants (RFC 9380 section 6.6.1) for A = 0, B = 3, Z = 1.
const Z = 1n;
const C1 = g(Z);
const C2 = mod(-Z * inv0(2n));
const C3 = (() => {
  const root = sqrt(mod(-C1 * (3n * Z * Z)));
  return sgn0(root) === 0n ? root : mod(-root);
})();
const C4 = mod(-4n * C1 * inv0(3n * Z * Z));

/** The SVDW constants, exported for tests. */
export const SVDW_CONSTANTS = Object.freeze({ Z, c1: C1, c2: C2, c3: C3, c4: C4 });

/** RFC 9380 map_to_curve_svdw of one field element onto G1 (straight-line transcription of the RFC). */
export function mapToPoint(u: bigint): G1 {
  if (u < 0n || u >= P) throw new BlsError(`field element ${u} is not reduced modulo p`);
  let tv1 = mod(u * u * C1);
  const tv2 = mod(1n + tv1);
  tv1 = mod(1n - tv1);
  const tv3 = inv0(tv1 * tv2);
  const tv4 = mod(u * tv1 * tv3 * C3);
  const x1 = mod(C2 - tv4);
  const e1 = isSquare(g(x1));
  const x2 = mod(C2 + tv4);
  const e2 = isSquare(g(x2)) && !e1;
  let x3 = mod(tv2 * tv2 * tv3);
  x3 = mod(x3 * x3 * C4 + Z);
  const x = e1 ? x1 : e2 ? x2 : x3;
  let y = sqrt(g(x));
  if (sgn0(u) !== sgn0(y)) y = mod(-y);
  return G1Point.fromAffine({ x, y });
}

/** RFC 9380 hash_to_curve(message) onto G1 with domain separation tag `dst` (text or bytes). */
export function hashToPoint(dst: string | Uint8Array, message: Uint8Array): G1 {
  const [u0, u1] = hashToField(dst, message);
  return mapToPoint(u0).add(mapToPoint(u1));
}

// ---------------------------------------------------------------------------------------------------
// Keys, signatures, aggregation

/** A BLS key pair: the secret scalar and the public key in G1 and in G2. */
export interface Keypair {
  secretKey: bigint;
  publicKeyG1: G1;
  publicKeyG2: G2;
}

function secretScalar(secret: bigint | Uint8Array): bigint {
  const sk = typeof secret === "bigint" ? secret : bytesToBigInt(secret);
  if (typeof secret !== "bigint" && secret.length !== 32) {
    throw new BlsError(`secret key must be 32 bytes, got ${secret.length} bytes`);
  }
  if (sk <= 0n || sk >= GROUP_ORDER) {
    throw new BlsError(`secret key must be in [1, r - 1] with r = ${GROUP_ORDER}; got ${sk}`);
  }
  return sk;
}

/** The key pair of a secret key (a bigint, or 32 big-endian bytes), which must be in [1, r - 1]. */
export function keypairFromSecret(secret: bigint | Uint8Array): Keypair {
  const secretKey = secretScalar(secret);
  return { secretKey, publicKeyG1: G1Point.BASE.multiply(secretKey), publicKeyG2: G2Point.BASE.multiply(secretKey) };
}

/**
 * A secret key derived from seed material of at least 32 bytes: OS2IP(expand_message_xmd(seed,
 * KEYGEN_DST, 48)) mod r (the bias is below 2^-128), retried with a counter byte in the unlikely
 * case of zero.
 */
export function secretKeyFromSeed(seed: Uint8Array): bigint {
  if (seed.length < 32) throw new BlsError(`key seed must be at least 32 bytes of secret randomness, got ${seed.length} bytes`);
  for (let counter = 0; counter < 256; counter++) {
    const sk = bytesToBigInt(expandMessageXmd(KEYGEN_DST, Uint8Array.of(...seed, counter), 48)) % GROUP_ORDER;
    if (sk !== 0n) return sk;
  }
  throw new BlsError("key derivation produced zero 256 times: the seed cannot be used");
}

/** The G1 public key sk·g1. */
export function publicKeyG1(secret: bigint | Uint8Array): G1 {
  return G1Point.BASE.multiply(secretScalar(secret));
}

/** The G2 public key sk·g2. */
export function publicKeyG2(secret: bigint | Uint8Array): G2 {
  return G2Point.BASE.multiply(secretScalar(secret));
}

/** Signature sk·H of a message point H (from `hashToPoint`). */
export function sign(secret: bigint | Uint8Array, messagePoint: G1): G1 {
  return messagePoint.multiply(secretScalar(secret));
}

/** Signature of `message` under `dst`: sk·hashToPoint(dst, message). */
export function signMessage(secret: bigint | Uint8Array, dst: string | Uint8Array, message: Uint8Array): G1 {
  return sign(secret, hashToPoint(dst, message));
}

/**
 * Whether e(sig, -g2)·e(H, pk) == 1, as BLS.verify on chain. False when a point is the point at
 * infinity (the contract rejects those too); noble points are always on their curve and in their
 * subgroup.
 */
export function verify(signature: G1, publicKey: G2, messagePoint: G1): boolean {
  if (signature.is0() || publicKey.is0() || messagePoint.is0()) return false;
  const gt = bn254.pairingBatch([
    { g1: signature, g2: G2Point.BASE.negate() },
    { g1: messagePoint, g2: publicKey },
  ]);
  return Fp12.eql(gt, Fp12.ONE);
}

/** verify() of `message` under `dst`. */
export function verifyMessage(signature: G1, publicKey: G2, dst: string | Uint8Array, message: Uint8Array): boolean {
  return verify(signature, publicKey, hashToPoint(dst, message));
}

/** Sum of G1 points (signatures or G1 public keys); at least one point. */
export function aggregateG1(points: readonly G1[]): G1 {
  if (points.length === 0) throw new BlsError("cannot aggregate an empty list of G1 points");
  return points.reduce((sum, p) => sum.add(p), G1Point.ZERO);
}

/** Sum of G2 points (public keys); at least one point. */
export function aggregateG2(points: readonly G2[]): G2 {
  if (points.length === 0) throw new BlsError("cannot aggregate an empty list of G2 points");
  return points.reduce((sum, p) => sum.add(p), G2Point.ZERO);
}

// ---------------------------------------------------------------------------------------------------
// Encodings

/** BN254.G1Point {x, y} of a point; the point at infinity is (0, 0) as in the precompiles. */
export function g1ToSolidity(point: G1): SolidityG1 {
  if (point.is0()) return { x: 0n, y: 0n };
  const { x, y } = point.toAffine();
  return { x, y };
}

/** BN254.G2Point {x1, x0, y1, y0} of a point; the point at infinity is all zeros. */
export function g2ToSolidity(point: G2): SolidityG2 {
  if (point.is0()) return { x1: 0n, x0: 0n, y1: 0n, y0: 0n };
  const { x, y } = point.toAffine();
  return { x1: x.c1, x0: x.c0, y1: y.c1, y0: y.c0 };
}

function fieldElement(value: bigint, what: string): bigint {
  if (value < 0n || value >= P) throw new BlsError(`${what} = ${value} is not a field element (must be below p = ${P})`);
  return value;
}

/** A G1 point from Solidity coordinates; throws unless it is an affine point on the curve. */
export function g1FromSolidity(point: SolidityG1, what = "G1 point"): G1 {
  const x = fieldElement(point.x, `${what}.x`);
  const y = fieldElement(point.y, `${what}.y`);
  if (x === 0n && y === 0n) throw new BlsError(`${what} is the point at infinity (0, 0)`);
  if (mod(y * y) !== g(x)) throw new BlsError(`${what} (${x}, ${y}) is not on the curve y^2 = x^3 + 3`);
  return G1Point.fromAffine({ x, y });
}

/** A G2 point from Solidity coordinates; throws unless it is an affine point of the order-r subgroup. */
export function g2FromSolidity(point: SolidityG2, what = "G2 point"): G2 {
  const x1 = fieldElement(point.x1, `${what}.x1`);
  const x0 = fieldElement(point.x0, `${what}.x0`);
  const y1 = fieldElement(point.y1, `${what}.y1`);
  const y0 = fieldElement(point.y0, `${what}.y0`);
  if (x1 === 0n && x0 === 0n && y1 === 0n && y0 === 0n) throw new BlsError(`${what} is the point at infinity (all zeros)`);
  const p = G2Point.fromAffine({ x: { c0: x0, c1: x1 }, y: { c0: y0, c1: y1 } });
  try {
    p.assertValidity();
  } catch (err) {
    const reason = err instanceof Error && /subgroup/.test(err.message) ? "is on the twist curve but not in the order-r subgroup G2" : "is not on the twist curve y^2 = x^3 + 3/(9+i)";
    throw new BlsError(`${what} (x1 ${x1}, x0 ${x0}, y1 ${y1}, y0 ${y0}) ${reason}`);
  }
  return p;
}

/** A G1 point from 64 bytes x||y (kyber/drand signature encoding, big-endian). */
export function g1FromBytes(input: BytesInput, what = "G1 point"): G1 {
  const bytes = toBytes(input, what);
  if (bytes.length !== 64) throw new BlsError(`${what} must be 64 bytes (x || y, big-endian), got ${bytes.length} bytes`);
  return g1FromSolidity({ x: bytesToBigInt(bytes.subarray(0, 32)), y: bytesToBigInt(bytes.subarray(32, 64)) }, what);
}

/** 64 bytes x||y of a G1 point (infinity: 64 zero bytes). */
export function g1ToBytes(point: G1): Uint8Array {
  const { x, y } = g1ToSolidity(point);
  return Uint8Array.of(...bigIntToBytes32(x), ...bigIntToBytes32(y));
}

/** A G2 point from 128 bytes x1||x0||y1||y0 (kyber/drand public key encoding, big-endian). */
export function g2FromBytes(input: BytesInput, what = "G2 point"): G2 {
  const bytes = toBytes(input, what);
  if (bytes.length !== 128) {
    throw new BlsError(`${what} must be 128 bytes (x1 || x0 || y1 || y0, imaginary parts first, big-endian), got ${bytes.length} bytes`);
  }
  const word = (i: number) => bytesToBigInt(bytes.subarray(32 * i, 32 * (i + 1)));
  return g2FromSolidity({ x1: word(0), x0: word(1), y1: word(2), y0: word(3) }, what);
}

/** 128 bytes x1||x0||y1||y0 of a G2 point (infinity: 128 zero bytes). */
export function g2ToBytes(point: G2): Uint8Array {
  const { x1, x0, y1, y0 } = g2ToSolidity(point);
  return Uint8Array.of(...bigIntToBytes32(x1), ...bigIntToBytes32(x0), ...bigIntToBytes32(y1), ...bigIntToBytes32(y0));
}
