/**
 * BLS/BN254 test vectors from the TypeScript reference (agents/src/sdk/bls): expand_message_xmd,
 * hash_to_field, the SVDW map (every branch), hash_to_curve for several tags and messages (drand's and
 * the DA certificate tag included), key pairs with G1/G2 public keys and signatures, an aggregate, and
 * drand evmnet round 1000. test/contracts/BLS.t.sol reads test/vectors/bls.json; this test fails when
 * the file is stale.
 *
 *   BLS_VECTORS_WRITE=1 npx hardhat test mocha test/mocha/sdk/bls-vectors.test.ts    rewrite bls.json
 */
import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { keccak_256 } from "@noble/hashes/sha3.js";
import {
  DA_CERT_DST,
  DRAND_DST,
  DRAND_EVMNET,
  FIELD_MODULUS,
  SVDW_CONSTANTS,
  aggregateG1,
  aggregateG2,
  expandMessageXmd,
  g1FromBytes,
  g1ToSolidity,
  g2FromBytes,
  g2ToSolidity,
  hashToField,
  hashToPoint,
  keypairFromSecret,
  mapToPoint,
  secretKeyFromSeed,
  sign,
  toHex,
  drandRoundMessage,
  drandRandomness,
  type G1,
  type G2,
} from "../../../agents/src/sdk/bls/index.js";

const BLS_VECTORS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../vectors/bls.json");

/** drand evmnet round 1000 (public). */
const ROUND_1000 = {
  round: 1000,
  signature:
    "0x06fd5996329504d3a56b482d9222bf7205857d0a9559ddd216ca31a286f6a8cc0a120f021aac2f13553fb164f62bc3a5ca32c76dea88a777b39bcf3cac5fdbd6",
  randomness: "0x0e6745667465a6f9dce5d5f994656955080be14c469ff17fc4fc588c925a8504",
} as const;

const hex = (v: bigint): string => "0x" + v.toString(16).padStart(64, "0");
const g1Json = (p: G1) => {
  const { x, y } = g1ToSolidity(p);
  return { x: hex(x), y: hex(y) };
};
const g2Json = (p: G2) => {
  const { x1, x0, y1, y0 } = g2ToSolidity(p);
  return { x1: hex(x1), x0: hex(x0), y1: hex(y1), y0: hex(y0) };
};
const text = (s: string) => new TextEncoder().encode(s);

/** Which SVDW candidate (1, 2 or 3) the map of `u` takes, recomputed from the RFC formulas. */
function svdwBranch(u: bigint): number {
  const P = FIELD_MODULUS;
  const mod = (a: bigint) => ((a % P) + P) % P;
  const pow = (b: bigint, e: bigint) => {
    let r = 1n;
    b = mod(b);
    for (; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) r = (r * b) % P;
    return r;
  };
  const square = (a: bigint) => pow(a, (P - 1n) / 2n) !== P - 1n;
  const { c1, c2, c3 } = SVDW_CONSTANTS;
  const tv1 = mod(1n - u * u * c1);
  const tv2 = mod(1n + u * u * c1);
  const tv4 = mod(u * tv1 * pow(tv1 * tv2, P - 2n) * c3);
  const g = (x: bigint) => mod(x * x * x + 3n);
  if (square(g(mod(c2 - tv4)))) return 1;
  if (square(g(mod(c2 + tv4)))) return 2;
  return 3;
}

function buildVectors() {
  const messages: { name: string; dst: string; message: Uint8Array }[] = [
    { name: "drand round 1000", dst: DRAND_DST, message: drandRoundMessage(1000) },
    { name: "drand round 1", dst: DRAND_DST, message: drandRoundMessage(1) },
    { name: "empty message", dst: DRAND_DST, message: new Uint8Array(0) },
    { name: "abc", dst: DRAND_DST, message: text("abc") },
    { name: "DA certificate tag", dst: DA_CERT_DST, message: keccak_256(text("daios.da.cert.v1 example")) },
    { name: "DA certificate tag, empty message", dst: DA_CERT_DST, message: new Uint8Array(0) },
    { name: "one-byte tag", dst: "D", message: text("message under a one-byte tag") },
    { name: "255-byte tag", dst: "T".repeat(254) + "!", message: text("q128_" + "q".repeat(128)) },
    { name: "long message (300 bytes)", dst: DRAND_DST, message: Uint8Array.from({ length: 300 }, (_, i) => (i * 7 + 3) & 0xff) },
    { name: "136-byte message (one keccak block)", dst: DA_CERT_DST, message: Uint8Array.from({ length: 136 }, (_, i) => 255 - i) },
  ];
  const hashToPointVectors = messages.map(({ name, dst, message }) => {
    const uniform = expandMessageXmd(dst, message, 96);
    const [u0, u1] = hashToField(dst, message);
    return {
      name,
      dst: toHex(text(dst)),
      message: toHex(message),
      uniform: toHex(uniform),
      u0: hex(u0),
      u1: hex(u1),
      point: g1Json(hashToPoint(dst, message)),
    };
  });

  // Map vectors: boundary elements and the first elements that take each SVDW branch.
  const us = [0n, 1n, FIELD_MODULUS - 1n, (FIELD_MODULUS - 1n) / 2n];
  const seen = new Set<number>(us.map(svdwBranch));
  for (let i = 2n; seen.size < 3 || us.length < 10; i++) {
    const branch = svdwBranch(i);
    if (!seen.has(branch) || us.length < 10) {
      us.push(i);
      seen.add(branch);
    }
  }
  const mapVectors = us.map((u) => ({ u: hex(u), branch: svdwBranch(u), point: g1Json(mapToPoint(u)) }));

  // Key pairs: small and large secrets, and keys derived from seeds.
  const secrets = [1n, 2n, 0xdeadbeefn, secretKeyFromSeed(keccak_256(text("daios bls vector key 1"))), secretKeyFromSeed(keccak_256(text("daios bls vector key 2")))];
  const dst = DA_CERT_DST;
  const message = keccak_256(text("daios bls vector message"));
  const hm = hashToPoint(dst, message);
  const keys = secrets.map((sk) => keypairFromSecret(sk));
  const keypairs = keys.map((k) => ({
    secretKey: hex(k.secretKey),
    publicKeyG1: g1Json(k.publicKeyG1),
    publicKeyG2: g2Json(k.publicKeyG2),
    signature: g1Json(sign(k.secretKey, hm)),
  }));
  const aggregate = {
    publicKeyG1: g1Json(aggregateG1(keys.map((k) => k.publicKeyG1))),
    publicKeyG2: g2Json(aggregateG2(keys.map((k) => k.publicKeyG2))),
    signature: g1Json(aggregateG1(keys.map((k) => sign(k.secretKey, hm)))),
  };

  const pk = g2FromBytes(DRAND_EVMNET.publicKey, "evmnet public key");
  const sig = g1FromBytes(ROUND_1000.signature, "evmnet signature");
  const drand = {
    dst: toHex(text(DRAND_DST)),
    publicKey: g2Json(pk),
    genesis: DRAND_EVMNET.genesis,
    period: DRAND_EVMNET.period,
    round: ROUND_1000.round,
    message: toHex(drandRoundMessage(ROUND_1000.round)),
    messagePoint: g1Json(hashToPoint(DRAND_DST, drandRoundMessage(ROUND_1000.round))),
    signature: g1Json(sig),
    randomness: toHex(drandRandomness(sig)),
  };

  return {
    comment: "Written by test/mocha/sdk/bls-vectors.test.ts from agents/src/sdk/bls; do not edit.",
    hashToPoint: hashToPointVectors,
    mapToPoint: mapVectors,
    signing: { dst: toHex(text(dst)), message: toHex(message), messagePoint: g1Json(hm), keypairs, aggregate },
    drand,
  };
}

describe("BLS test vectors", function () {
  this.timeout(120_000);

  it("test/vectors/bls.json matches the TypeScript reference", () => {
    const fresh = buildVectors();
    if (process.env.BLS_VECTORS_WRITE === "1") writeFileSync(BLS_VECTORS_FILE, JSON.stringify(fresh, null, 2) + "\n");
    const committed = JSON.parse(readFileSync(BLS_VECTORS_FILE, "utf8")) as unknown;
    expect(committed, "stale: run `BLS_VECTORS_WRITE=1 npx hardhat test mocha test/mocha/sdk/bls-vectors.test.ts`").to.deep.equal(
      JSON.parse(JSON.stringify(fresh)),
    );
  });

  it("the vectors cover every SVDW branch and the drand round", () => {
    const v = buildVectors();
    expect(new Set(v.mapToPoint.map((m) => m.branch))).to.deep.equal(new Set([1, 2, 3]));
    expect(v.drand.randomness).to.equal(ROUND_1000.randomness);
  });
});
