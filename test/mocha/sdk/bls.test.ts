import { expect } from "chai";
import { expand_message_xmd } from "@noble/curves/abstract/hash-to-curve.js";
import { bn254 } from "@noble/curves/bn254.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import {
  BlsError,
  DA_CERT_DST,
  DRAND_DST,
  DRAND_EVMNET,
  FIELD_MODULUS,
  GROUP_ORDER,
  SVDW_CONSTANTS,
  aggregateG1,
  aggregateG2,
  drandPublicKey,
  drandRandomness,
  drandRoundAt,
  drandRoundMessage,
  expandMessageXmd,
  g1FromBytes,
  g1FromSolidity,
  g1ToBytes,
  g1ToSolidity,
  g2FromBytes,
  g2FromSolidity,
  g2ToBytes,
  g2ToSolidity,
  hashToField,
  hashToPoint,
  keypairFromSecret,
  mapToPoint,
  publicKeyG1,
  publicKeyG2,
  secretKeyFromSeed,
  sign,
  signMessage,
  toHex,
  verify,
  verifyDrandRound,
  verifyMessage,
} from "../../../agents/src/sdk/bls/index.js";

/** drand evmnet round 1000 (public). */
const EVMNET = {
  publicKey: DRAND_EVMNET.publicKey,
  signature:
    "0x06fd5996329504d3a56b482d9222bf7205857d0a9559ddd216ca31a286f6a8cc0a120f021aac2f13553fb164f62bc3a5ca32c76dea88a777b39bcf3cac5fdbd6",
  randomness: "0x0e6745667465a6f9dce5d5f994656955080be14c469ff17fc4fc588c925a8504",
} as const;

const text = (s: string) => new TextEncoder().encode(s);
const P = FIELD_MODULUS;

describe("BLS on BN254 (agents/src/sdk/bls)", function () {
  this.timeout(120_000);

  describe("hash to curve", () => {
    it("expand_message_xmd agrees with noble's RFC 9380 implementation for keccak256", () => {
      for (const [dst, msg, len] of [
        [DRAND_DST, new Uint8Array(0), 96],
        [DA_CERT_DST, text("abc"), 96],
        ["X", new Uint8Array(200).fill(7), 48],
        ["T".repeat(255), text("q"), 255],
      ] as const) {
        expect(toHex(expandMessageXmd(dst, msg, len))).to.equal(toHex(expand_message_xmd(msg, dst, len, keccak_256)));
      }
    });

    it("uses the RFC 9380 SVDW constants for BN254 (Z = 1, sgn0(c3) = 0)", () => {
      const { Z, c1, c2, c3, c4 } = SVDW_CONSTANTS;
      const mod = (a: bigint) => ((a % P) + P) % P;
      expect(Z).to.equal(1n);
      expect(c1).to.equal(4n); // g(1) = 1 + 3
      expect(mod(2n * c2)).to.equal(P - 1n); // c2 = -1/2
      expect(mod(c3 * c3)).to.equal(P - 12n); // c3² = -g(Z)·3Z²
      expect(c3 & 1n).to.equal(0n);
      expect(mod(3n * c4)).to.equal(P - 16n); // c4 = -4·g(Z) / 3Z²
    });

    it("maps every field element to a curve point whose y has the sign of u", () => {
      for (const u of [0n, 1n, 2n, 3n, 12345n, P - 1n, P - 2n, (P - 1n) / 2n]) {
        const point = mapToPoint(u);
        point.assertValidity();
        expect(g1ToSolidity(point).y & 1n).to.equal(u & 1n);
      }
    });

    it("hashToPoint is the sum of the maps of hashToField and depends on the tag and the message", () => {
      const msg = text("hello");
      const [u0, u1] = hashToField(DRAND_DST, msg);
      expect(hashToPoint(DRAND_DST, msg).equals(mapToPoint(u0).add(mapToPoint(u1)))).to.equal(true);
      expect(hashToPoint(DA_CERT_DST, msg).equals(hashToPoint(DRAND_DST, msg))).to.equal(false);
      expect(hashToPoint(DRAND_DST, text("hellp")).equals(hashToPoint(DRAND_DST, msg))).to.equal(false);
      expect(hashToPoint(text(DRAND_DST), msg).equals(hashToPoint(DRAND_DST, msg)), "tag as text or bytes").to.equal(true);
    });

    it("rejects tags that are empty or longer than 255 bytes, naming the length", () => {
      expect(() => hashToPoint("", text("m"))).to.throw(BlsError, /1 to 255 bytes.*got 0 bytes/);
      expect(() => hashToPoint("x".repeat(256), text("m"))).to.throw(BlsError, /got 256 bytes/);
      expect(() => mapToPoint(P)).to.throw(BlsError, /not reduced modulo p/);
    });
  });

  describe("keys, signatures and aggregation", () => {
    const message = keccak_256(text("daios"));

    it("signs and verifies; other messages, tags, keys and tampered signatures fail", () => {
      const a = keypairFromSecret(0x1234n);
      const b = keypairFromSecret(secretKeyFromSeed(new Uint8Array(32).fill(9)));
      const sig = signMessage(a.secretKey, DA_CERT_DST, message);
      expect(verifyMessage(sig, a.publicKeyG2, DA_CERT_DST, message)).to.equal(true);
      expect(verifyMessage(sig, b.publicKeyG2, DA_CERT_DST, message)).to.equal(false);
      expect(verifyMessage(sig, a.publicKeyG2, DRAND_DST, message)).to.equal(false);
      expect(verifyMessage(sig, a.publicKeyG2, DA_CERT_DST, keccak_256(text("daiot")))).to.equal(false);
      expect(verifyMessage(sig.negate(), a.publicKeyG2, DA_CERT_DST, message)).to.equal(false);
      expect(verifyMessage(sig.add(bn254.G1.Point.BASE), a.publicKeyG2, DA_CERT_DST, message)).to.equal(false);
    });

    it("never verifies the point at infinity as signature, key or message point", () => {
      const zero1 = bn254.G1.Point.ZERO;
      const zero2 = bn254.G2.Point.ZERO;
      const a = keypairFromSecret(7n);
      const hm = hashToPoint(DA_CERT_DST, message);
      expect(verify(zero1, zero2, hm)).to.equal(false);
      expect(verify(zero1, a.publicKeyG2, zero1)).to.equal(false);
      expect(verify(sign(7n, hm), zero2, hm)).to.equal(false);
    });

    it("derives consistent G1 and G2 public keys from one secret (bigint or 32 bytes)", () => {
      const sk = 0xabcdefn;
      const bytes = new Uint8Array(32);
      bytes.set([0xab, 0xcd, 0xef], 29);
      expect(publicKeyG1(bytes).equals(publicKeyG1(sk))).to.equal(true);
      const pair = keypairFromSecret(sk);
      const gt = bn254.pairingBatch([
        { g1: pair.publicKeyG1, g2: bn254.G2.Point.BASE },
        { g1: bn254.G1.Point.BASE.negate(), g2: publicKeyG2(sk) },
      ]);
      expect(bn254.fields.Fp12.eql(gt, bn254.fields.Fp12.ONE)).to.equal(true);
    });

    it("aggregate signatures verify under aggregate keys, and a missing signer breaks them", () => {
      const hm = hashToPoint(DA_CERT_DST, message);
      const pairs = [3n, 5n, 11n, GROUP_ORDER - 1n].map((sk) => keypairFromSecret(sk));
      const sigma = aggregateG1(pairs.map((k) => sign(k.secretKey, hm)));
      expect(verify(sigma, aggregateG2(pairs.map((k) => k.publicKeyG2)), hm)).to.equal(true);
      expect(verify(sigma, aggregateG2(pairs.slice(1).map((k) => k.publicKeyG2)), hm)).to.equal(false);
      expect(aggregateG1(pairs.map((k) => k.publicKeyG1)).equals(publicKeyG1(3n + 5n + 11n - 1n))).to.equal(true);
      expect(() => aggregateG1([])).to.throw(BlsError, /empty list of G1/);
      expect(() => aggregateG2([])).to.throw(BlsError, /empty list of G2/);
    });

    it("rejects secret keys outside [1, r - 1] and short seeds", () => {
      expect(() => keypairFromSecret(0n)).to.throw(BlsError, /\[1, r - 1\].*got 0$/);
      expect(() => keypairFromSecret(GROUP_ORDER)).to.throw(BlsError, /got 2188824287/);
      expect(() => keypairFromSecret(new Uint8Array(31).fill(1))).to.throw(BlsError, /32 bytes, got 31/);
      expect(() => secretKeyFromSeed(new Uint8Array(16))).to.throw(BlsError, /at least 32 bytes.*got 16/);
      expect(secretKeyFromSeed(new Uint8Array(32))).to.equal(secretKeyFromSeed(new Uint8Array(32)));
    });
  });

  describe("encodings", () => {
    it("round-trips G1 and G2 through bytes and the Solidity struct order", () => {
      const pair = keypairFromSecret(99n);
      expect(g1FromBytes(g1ToBytes(pair.publicKeyG1)).equals(pair.publicKeyG1)).to.equal(true);
      expect(g2FromBytes(toHex(g2ToBytes(pair.publicKeyG2))).equals(pair.publicKeyG2)).to.equal(true);
      expect(g1FromSolidity(g1ToSolidity(pair.publicKeyG1)).equals(pair.publicKeyG1)).to.equal(true);
      expect(g2FromSolidity(g2ToSolidity(pair.publicKeyG2)).equals(pair.publicKeyG2)).to.equal(true);
      // EIP-197 order: imaginary part first.
      const g2 = g2ToSolidity(bn254.G2.Point.BASE);
      expect(g2.x1).to.equal(0x198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2n);
      expect(g2.x0).to.equal(0x1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6edn);
      expect(g1ToSolidity(bn254.G1.Point.ZERO)).to.deep.equal({ x: 0n, y: 0n });
    });

    it("names what is wrong with malformed points", () => {
      expect(() => g1FromBytes("0x1234", "signature")).to.throw(BlsError, /signature must be 64 bytes.*got 2 bytes/);
      expect(() => g1FromBytes("0xzz", "signature")).to.throw(BlsError, /signature is not a hex string/);
      expect(() => g1FromSolidity({ x: 1n, y: 3n }, "sig")).to.throw(BlsError, /sig \(1, 3\) is not on the curve/);
      expect(() => g1FromSolidity({ x: 0n, y: 0n }, "sig")).to.throw(BlsError, /sig is the point at infinity/);
      expect(() => g1FromSolidity({ x: P, y: 2n }, "sig")).to.throw(BlsError, /sig\.x = .* is not a field element/);
      expect(() => g2FromBytes(new Uint8Array(96), "drand key")).to.throw(BlsError, /drand key must be 128 bytes \(x1 \|\| x0 \|\| y1 \|\| y0.*got 96 bytes/);
      expect(() => g2FromBytes(new Uint8Array(128), "drand key")).to.throw(BlsError, /point at infinity/);
      const bad = g2ToSolidity(bn254.G2.Point.BASE);
      expect(() => g2FromSolidity({ ...bad, y0: bad.y0 ^ 1n }, "pk")).to.throw(BlsError, /pk .* is not on the twist curve/);
      // x = 1 lies on the twist but outside G2.
      const outside = {
        x1: 0n,
        x0: 1n,
        y1: 0x0d1271953ed9ea0836846e70a1934187998c7f790cb4d7511b7f8da82de048a4n,
        y0: 0x2869111d5381f072f8e2728fdb825a51aadd70e52c9830e9ab4b871c0531f1bbn,
      };
      expect(() => g2FromSolidity(outside, "pk")).to.throw(BlsError, /not in the order-r subgroup/);
      expect(() => drandRoundMessage(-1)).to.throw(BlsError, /does not fit in 64 bits/);
      expect(() => drandRoundMessage(1n << 64n)).to.throw(BlsError, /does not fit in 64 bits/);
    });
  });

  describe("drand evmnet", () => {
    const publicKey = g2FromBytes(EVMNET.publicKey, "evmnet public key");
    const signature = g1FromBytes(EVMNET.signature, "round 1000 signature");

    it("verifies round 1000 and derives its randomness", () => {
      expect(verifyDrandRound(1000, signature, publicKey)).to.equal(true);
      expect(toHex(drandRandomness(signature))).to.equal(EVMNET.randomness);
      expect(toHex(drandRandomness(EVMNET.signature))).to.equal(EVMNET.randomness);
      expect(toHex(g2ToBytes(publicKey))).to.equal(EVMNET.publicKey);
      expect(toHex(g1ToBytes(signature))).to.equal(EVMNET.signature);
    });

    it("rejects the signature for rounds 999 and 1001, and a tampered signature", () => {
      expect(verifyDrandRound(999, signature, publicKey)).to.equal(false);
      expect(verifyDrandRound(1001, signature, publicKey)).to.equal(false);
      expect(verifyDrandRound(1000, signature.double(), publicKey)).to.equal(false);
      const bytes = g1ToBytes(signature);
      bytes[63] ^= 1;
      expect(() => g1FromBytes(bytes, "tampered signature")).to.throw(BlsError, /tampered signature .* is not on the curve/);
    });

    it("knows the evmnet chain: key, schedule", () => {
      expect(drandPublicKey().equals(publicKey)).to.equal(true);
      expect(verifyDrandRound(1000, signature)).to.equal(true);
      expect(drandRoundAt(DRAND_EVMNET.genesis - 1)).to.equal(0n);
      expect(drandRoundAt(DRAND_EVMNET.genesis)).to.equal(1n);
      expect(drandRoundAt(DRAND_EVMNET.genesis + 999 * 3)).to.equal(1000n);
      expect(drandRoundAt(DRAND_EVMNET.genesis + 999 * 3 + 2)).to.equal(1000n);
    });

    it("round messages are keccak256 of the 8-byte big-endian round", () => {
      expect(toHex(drandRoundMessage(1000))).to.equal(toHex(keccak_256(Uint8Array.of(0, 0, 0, 0, 0, 0, 0x03, 0xe8))));
    });
  });
});
