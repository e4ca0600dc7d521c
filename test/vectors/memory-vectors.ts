/**
 * Memory test vectors from the TypeScript reference (agents/src/sdk/memory/smt.ts): leaf hashes, and
 * trees (empty, one leaf, two leaves, 200 leaves, and leaves with chosen keyHashes sharing long
 * prefixes, down to two leaves at depth 256) with their roots and proofs of each kind (member,
 * absent at an empty subtree, absent at another key's leaf) in object and wire form. The SDK tests and
 * the Solidity tests of MemoryProof read test/vectors/memory.json; test/mocha/sdk/memory/smt.test.ts
 * fails when it is stale. Nothing here is random.
 *
 *   npx tsx test/vectors/memory-vectors.ts     rewrite memory.json
 *
 * Format: bytes32 and proof bytes as 0x hex; seq and version as decimal strings (uint64). A proof's
 * `leaf` is always present so that it parses the same way everywhere: when `hasLeaf` is false its
 * fields are zero and the wire form has flag 0.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { hexlify, toUtf8Bytes } from "ethers";
import { keyHashOf, valueHashOf } from "../../agents/src/sdk/memory/signing.js";
import { EMPTY_ROOT, SparseMerkleMap, encodeProof, leafHash, proofByteLength, type MemoryLeaf, type MemoryProof } from "../../agents/src/sdk/memory/smt.js";

export const VECTORS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), "memory.json");

const ZERO = EMPTY_ROOT;

export interface LeafVector {
  /** The key bytes (hex) when the keyHash is keccak256 of a key; absent for chosen keyHashes. */
  key?: string;
  keyHash: string;
  valueHash: string;
  seq: string;
  version: string;
}

export type ProofKind = "member" | "absent-empty" | "absent-other-leaf";

export interface ProofVector {
  name: string;
  kind: ProofKind;
  keyHash: string;
  siblings: string[];
  hasLeaf: boolean;
  leaf: LeafVector;
  /** encodeProof(proof). */
  encoded: string;
  /** proofByteLength(proof). */
  bytes: number;
}

export interface TreeVector {
  name: string;
  leaves: LeafVector[];
  root: string;
  proofs: ProofVector[];
}

export interface MemoryVectors {
  leafHashes: (LeafVector & { hash: string })[];
  trees: TreeVector[];
}

function leafVector(leaf: MemoryLeaf, key?: string): LeafVector {
  return { ...(key === undefined ? {} : { key }), keyHash: leaf.keyHash, valueHash: leaf.valueHash, seq: leaf.seq.toString(), version: leaf.version.toString() };
}

/** A leaf of the UTF-8 key `name` (keccak keyHash). */
function named(name: string, value: string | null, seq: bigint, version: bigint): { leaf: MemoryLeaf; key: string } {
  const key = toUtf8Bytes(name);
  return { leaf: { keyHash: keyHashOf(key), valueHash: value === null ? ZERO : valueHashOf(toUtf8Bytes(value)), seq, version }, key: hexlify(key) };
}

/** A chosen keyHash: `prefix` bytes (hex digits, no 0x) padded with `fill` bytes to 32. */
function chosen(prefix: string, fill = "00"): string {
  return `0x${prefix}${fill.repeat(32 - prefix.length / 2)}`;
}

function proofKind(keyHash: string, proof: MemoryProof): ProofKind {
  if (!proof.leaf) return "absent-empty";
  return proof.leaf.keyHash === keyHash ? "member" : "absent-other-leaf";
}

function proofVector(map: SparseMerkleMap, name: string, keyHash: string, want: ProofKind): ProofVector {
  const proof = map.prove(keyHash);
  const kind = proofKind(keyHash, proof);
  if (kind !== want) throw new Error(`vector ${name}: expected a ${want} proof, got ${kind}`);
  return {
    name,
    kind,
    keyHash,
    siblings: proof.siblings,
    hasLeaf: proof.leaf !== undefined,
    leaf: leafVector(proof.leaf ?? { keyHash: ZERO, valueHash: ZERO, seq: 0n, version: 0n }),
    encoded: encodeProof(proof),
    bytes: proofByteLength(proof),
  };
}

/** The first keyHash keccak256("absent-<i>") whose proof in `map` is of kind `kind`. */
function findAbsent(map: SparseMerkleMap, kind: "absent-empty" | "absent-other-leaf"): string {
  for (let i = 0; i < 100_000; i++) {
    const keyHash = keyHashOf(toUtf8Bytes(`absent-${i}`));
    if (proofKind(keyHash, map.prove(keyHash)) === kind) return keyHash;
  }
  throw new Error(`no ${kind} key among absent-0..absent-99999`);
}

/** keyHash with its last bit flipped: the same path as `keyHash` for 255 bits. */
function lastBitFlipped(keyHash: string): string {
  const last = parseInt(keyHash.slice(-2), 16) ^ 1;
  return `${keyHash.slice(0, -2)}${last.toString(16).padStart(2, "0")}`;
}

function tree(name: string, entries: { leaf: MemoryLeaf; key?: string }[], queries: (map: SparseMerkleMap) => [string, string, ProofKind][]): TreeVector {
  const map = SparseMerkleMap.fromLeaves(entries.map((e) => e.leaf));
  const sorted = [...entries].sort((a, b) => (a.leaf.keyHash < b.leaf.keyHash ? -1 : 1));
  return {
    name,
    leaves: sorted.map((e) => leafVector(e.leaf, e.key)),
    root: map.root(),
    proofs: queries(map).map(([proofName, keyHash, kind]) => proofVector(map, proofName, keyHash, kind)),
  };
}

export function memoryVectors(): MemoryVectors {
  const max = (1n << 64n) - 1n;
  const leafCases: MemoryLeaf[] = [
    named("alpha", "1", 1n, 1n).leaf,
    named("alpha", null, 2n, 2n).leaf,
    { keyHash: ZERO, valueHash: ZERO, seq: 0n, version: 0n },
    { keyHash: chosen("", "ff"), valueHash: chosen("", "ee"), seq: max, version: max },
    { keyHash: chosen("0123456789abcdef"), valueHash: chosen("fedcba9876543210"), seq: 0x0102030405060708n, version: 0x1112131415161718n },
  ];

  const alpha = named("alpha", "1", 1n, 1n);
  const beta = named("beta", "", 2n, 1n);
  // A second key sharing its first 3 bits with alpha's, so that the two-leaf tree has empty subtrees.
  let partner = named("partner-0", "2", 2n, 1n);
  for (let i = 1; parseInt(partner.leaf.keyHash.slice(2, 3), 16) >> 1 !== parseInt(alpha.leaf.keyHash.slice(2, 3), 16) >> 1; i++) {
    partner = named(`partner-${i}`, "2", 2n, 1n);
  }

  const many = Array.from({ length: 200 }, (_, i) => named(`key-${i}`, i % 10 === 9 ? null : `value-${i}`, BigInt(i + 1), BigInt(1 + (i % 3))));

  const A = chosen("");
  const B = chosen("", "00").slice(0, -2) + "01";
  const C = chosen("80");
  const D = chosen("", "ff");
  const E = chosen("55".repeat(16));
  const F = chosen(`${"55".repeat(16)}80`);
  const G = chosen("55".repeat(16), "ff");
  const chosenLeaves = [A, B, C, D, E, F, G].map((keyHash, i) => ({
    leaf: { keyHash, valueHash: valueHashOf(toUtf8Bytes(`chosen-${i}`)), seq: BigInt(10 + i), version: 1n },
  }));

  return {
    leafHashes: leafCases.map((leaf) => ({ ...leafVector(leaf), hash: leafHash(leaf) })),
    trees: [
      tree("empty", [], () => [["absent alpha (empty tree)", alpha.leaf.keyHash, "absent-empty"]]),
      tree("one leaf", [alpha], () => [
        ["member alpha (the root is the leaf)", alpha.leaf.keyHash, "member"],
        ["absent beta (at alpha's leaf)", beta.leaf.keyHash, "absent-other-leaf"],
      ]),
      tree("two leaves", [alpha, partner], (map) => [
        ["member alpha", alpha.leaf.keyHash, "member"],
        ["member partner", partner.leaf.keyHash, "member"],
        ["absent (empty subtree)", findAbsent(map, "absent-empty"), "absent-empty"],
        ["absent alpha with its last bit flipped (at alpha's leaf)", lastBitFlipped(alpha.leaf.keyHash), "absent-other-leaf"],
        ["absent beta", beta.leaf.keyHash, proofKind(beta.leaf.keyHash, map.prove(beta.leaf.keyHash))],
      ]),
      tree("200 leaves", many, (map) => [
        ["member key-0", many[0].leaf.keyHash, "member"],
        ["member key-9 (tombstone)", many[9].leaf.keyHash, "member"],
        ["member key-57", many[57].leaf.keyHash, "member"],
        ["member key-199", many[199].leaf.keyHash, "member"],
        ["absent (empty subtree)", findAbsent(map, "absent-empty"), "absent-empty"],
        ["absent (another key's leaf)", findAbsent(map, "absent-other-leaf"), "absent-other-leaf"],
      ]),
      tree("chosen prefixes", chosenLeaves, () => [
        ["member 0x00…00 (depth 256)", A, "member"],
        ["member 0x00…01 (depth 256)", B, "member"],
        ["member 0x80…00 (depth 2)", C, "member"],
        ["member 0xff…ff (depth 2)", D, "member"],
        ["member 0x55×16 00×16 (depth 129)", E, "member"],
        ["member 0x55×16 80 00×15 (depth 130)", F, "member"],
        ["member 0x55×16 ff×16 (depth 130)", G, "member"],
        ["absent 0x40…00 (empty subtree at depth 4)", chosen("40"), "absent-empty"],
        ["absent 0x00…02 (empty subtree at depth 255)", `${A.slice(0, -2)}02`, "absent-empty"],
        ["absent 0x80…01 (at 0x80…00's leaf, depth 2)", `${C.slice(0, -2)}01`, "absent-other-leaf"],
        ["absent 0x55×16 00×15 01 (at E's leaf, depth 129)", `${E.slice(0, -2)}01`, "absent-other-leaf"],
      ]),
    ],
  };
}

function main(): void {
  writeFileSync(VECTORS_FILE, `${JSON.stringify(memoryVectors(), null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), VECTORS_FILE)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
