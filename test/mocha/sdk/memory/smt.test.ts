/**
 * The memory map (agents/src/sdk/memory/smt.ts): test/vectors/memory.json is current; every tree's
 * root equals a naive recursive recomputation written here from the design (ethers' keccak, not the
 * map's), built at once and by inserts in any order; every vector proof is what the map proves,
 * verifies to its kind and round-trips through the wire encoding; altered proofs, roots, keys and
 * encodings fail with the reason they should; and after seeded random inserts and updates (including
 * keys sharing long prefixes) the map's root, size, leaves and proofs agree with the naive model.
 *
 *   npx hardhat test mocha test/mocha/sdk/memory/smt.test.ts
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { keccak256, solidityPackedKeccak256, toUtf8Bytes } from "ethers";
import {
  EMPTY_ROOT,
  MemoryMapError,
  MemoryProofError,
  SparseMerkleMap,
  decodeProof,
  encodeProof,
  leafHash,
  memoryRoot,
  nodeHash,
  proofByteLength,
  verifyMemoryProof,
  type MemoryLeaf,
  type MemoryProof,
  type MemoryProofFailure,
} from "../../../../agents/src/sdk/memory/index.js";
import { VECTORS_FILE, memoryVectors, type LeafVector, type MemoryVectors, type ProofVector } from "../../../vectors/memory-vectors.js";

const vectors = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as MemoryVectors;
const ZERO = EMPTY_ROOT;

function leafOf(v: LeafVector): MemoryLeaf {
  return { keyHash: v.keyHash, valueHash: v.valueHash, seq: BigInt(v.seq), version: BigInt(v.version) };
}

function proofOf(v: ProofVector): MemoryProof {
  return v.hasLeaf ? { siblings: [...v.siblings], leaf: leafOf(v.leaf) } : { siblings: [...v.siblings] };
}

// The design written out plainly, with ethers' keccak: the reference the map must agree with.

function bit(keyHash: string, i: number): number {
  return (parseInt(keyHash.slice(2 + 2 * (i >> 3), 4 + 2 * (i >> 3)), 16) >> (7 - (i & 7))) & 1;
}

function naiveLeafHash(l: MemoryLeaf): string {
  return solidityPackedKeccak256(["bytes1", "bytes32", "bytes32", "uint64", "uint64"], ["0x00", l.keyHash, l.valueHash, l.seq, l.version]);
}

function naiveNode(left: string, right: string): string {
  return solidityPackedKeccak256(["bytes1", "bytes32", "bytes32"], ["0x01", left, right]);
}

function naiveRoot(leaves: MemoryLeaf[], depth = 0): string {
  if (leaves.length === 0) return ZERO;
  if (leaves.length === 1) return naiveLeafHash(leaves[0]);
  return naiveNode(
    naiveRoot(leaves.filter((l) => bit(l.keyHash, depth) === 0), depth + 1),
    naiveRoot(leaves.filter((l) => bit(l.keyHash, depth) === 1), depth + 1),
  );
}

/** Expects `fn` to throw a MemoryProofError with `reason` (and returns its message). */
function expectProofError(fn: () => unknown, reason: MemoryProofFailure): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(MemoryProofError);
    expect((error as MemoryProofError).reason, (error as Error).message).to.equal(reason);
    expect((error as MemoryProofError).hint).to.be.a("string");
    return (error as Error).message;
  }
  expect.fail(`expected a MemoryProofError (${reason})`);
}

function flipBit(hash: string, i: number): string {
  const at = 2 + 2 * (i >> 3);
  const byte = parseInt(hash.slice(at, at + 2), 16) ^ (1 << (7 - (i & 7)));
  return `${hash.slice(0, at)}${byte.toString(16).padStart(2, "0")}${hash.slice(at + 2)}`;
}

/** mulberry32: a small seeded PRNG, so that a failure replays. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("memory sparse Merkle map", () => {
  it("test/vectors/memory.json matches the TypeScript reference", () => {
    expect(vectors, "run `npx tsx test/vectors/memory-vectors.ts`").to.deep.equal(JSON.parse(JSON.stringify(memoryVectors())));
  });

  it("hashes leaves and internal nodes as the design says", () => {
    expect(vectors.leafHashes.length).to.be.greaterThan(3);
    for (const v of vectors.leafHashes) {
      expect(leafHash(leafOf(v))).to.equal(v.hash);
      expect(naiveLeafHash(leafOf(v))).to.equal(v.hash);
    }
    const a = keccak256(toUtf8Bytes("a"));
    const b = keccak256(toUtf8Bytes("b"));
    expect(nodeHash(a, b)).to.equal(keccak256(`0x01${a.slice(2)}${b.slice(2)}`));
    expect(nodeHash(a, b)).to.not.equal(nodeHash(b, a));
  });

  it("has the root 0x00…00 when empty, and the leaf's hash with one leaf", () => {
    const map = new SparseMerkleMap();
    expect(map.root()).to.equal(ZERO);
    expect(map.size).to.equal(0);
    const leaf = leafOf(vectors.leafHashes[0]);
    map.set(leaf.keyHash, leaf);
    expect(map.root()).to.equal(leafHash(leaf));
    expect(map.size).to.equal(1);
  });

  for (const tree of vectors.trees) {
    describe(`tree "${tree.name}" (${tree.leaves.length} leaves)`, () => {
      const leaves = tree.leaves.map(leafOf);

      it("has the vector root, built at once, by inserts in either order, and naively", () => {
        expect(naiveRoot(leaves)).to.equal(tree.root);
        expect(SparseMerkleMap.fromLeaves(leaves).root()).to.equal(tree.root);
        expect(memoryRoot(leaves)).to.equal(tree.root);
        for (const order of [leaves, [...leaves].reverse()]) {
          const map = new SparseMerkleMap();
          for (const l of order) map.set(l.keyHash, l);
          expect(map.root()).to.equal(tree.root);
          expect(map.size).to.equal(leaves.length);
          expect([...map.leaves()]).to.deep.equal(leaves);
        }
      });

      for (const v of tree.proofs) {
        it(`proves ${v.name} (${v.kind}, depth ${v.siblings.length})`, () => {
          const map = SparseMerkleMap.fromLeaves(leaves);
          const proof = map.prove(v.keyHash);
          expect(proof).to.deep.equal(proofOf(v));
          const result = verifyMemoryProof(tree.root, v.keyHash, proof);
          if (v.kind === "member") {
            expect(result).to.deep.equal({ kind: "member", leaf: leafOf(v.leaf) });
            expect(map.get(v.keyHash)).to.deep.equal(leafOf(v.leaf));
          } else {
            expect(result).to.deep.equal({ kind: "absent" });
            expect(map.get(v.keyHash)).to.equal(undefined);
          }
          expect(encodeProof(proof)).to.equal(v.encoded);
          expect(proofByteLength(proof)).to.equal(v.bytes);
          expect((v.encoded.length - 2) / 2).to.equal(v.bytes);
          expect(decodeProof(v.encoded)).to.deep.equal(proof);
          expect(decodeProof(Buffer.from(v.encoded.slice(2), "hex"))).to.deep.equal(proof);
        });
      }
    });
  }

  describe("rejects", () => {
    const tree = vectors.trees.find((t) => t.name === "200 leaves");
    if (!tree) throw new Error("the vectors have no 200-leaf tree");
    const member = tree.proofs.find((p) => p.kind === "member" && p.siblings.length >= 4) as ProofVector;
    const absentEmpty = tree.proofs.find((p) => p.kind === "absent-empty") as ProofVector;
    const absentOther = tree.proofs.find((p) => p.kind === "absent-other-leaf") as ProofVector;

    it("a tampered sibling, at every depth", () => {
      for (const v of [member, absentEmpty, absentOther]) {
        for (let i = 0; i < v.siblings.length; i++) {
          const proof = proofOf(v);
          proof.siblings[i] = flipBit(proof.siblings[i], 255);
          expectProofError(() => verifyMemoryProof(tree.root, v.keyHash, proof), "root-mismatch");
        }
      }
    });

    it("a tampered leaf field, a dropped leaf, a dropped or added sibling", () => {
      const base = proofOf(member);
      const leaf = base.leaf as MemoryLeaf;
      for (const changed of [
        { ...leaf, valueHash: flipBit(leaf.valueHash, 0) },
        { ...leaf, valueHash: ZERO },
        { ...leaf, seq: leaf.seq + 1n },
        { ...leaf, version: leaf.version + 1n },
      ]) {
        expectProofError(() => verifyMemoryProof(tree.root, member.keyHash, { siblings: base.siblings, leaf: changed }), "root-mismatch");
      }
      expectProofError(() => verifyMemoryProof(tree.root, member.keyHash, { siblings: base.siblings }), "root-mismatch");
      expectProofError(() => verifyMemoryProof(tree.root, member.keyHash, { siblings: base.siblings.slice(1), leaf }), "root-mismatch");
      expectProofError(() => verifyMemoryProof(tree.root, member.keyHash, { siblings: [...base.siblings, ZERO], leaf }), "root-mismatch");
    });

    it("a wrong root, saying which root the proof leads to", () => {
      const wrong = flipBit(tree.root, 7);
      const message = expectProofError(() => verifyMemoryProof(wrong, member.keyHash, proofOf(member)), "root-mismatch");
      expect(message).to.contain(tree.root).and.contain(wrong);
      expectProofError(() => verifyMemoryProof(ZERO, absentEmpty.keyHash, proofOf(absentEmpty)), "root-mismatch");
    });

    it("a proof used for another key", () => {
      // A leaf proof for a key off the leaf's path: the leaf does not share the proof's depth in bits.
      for (let i = 0; i < member.siblings.length; i++) {
        const message = expectProofError(() => verifyMemoryProof(tree.root, flipBit(member.keyHash, i), proofOf(member)), "prefix");
        expect(message).to.contain(`shares only ${i} leading bits`);
      }
      // An empty-terminal proof walked along another path.
      for (let i = 0; i < absentEmpty.siblings.length; i++) {
        expectProofError(() => verifyMemoryProof(tree.root, flipBit(absentEmpty.keyHash, i), proofOf(absentEmpty)), "root-mismatch");
      }
      // A key on the leaf's path below its depth is absent, and the leaf's proof shows it.
      expect(verifyMemoryProof(tree.root, flipBit(member.keyHash, 255), proofOf(member))).to.deep.equal({ kind: "absent" });
    });

    it("an empty-tree proof against a root that is not empty", () => {
      expectProofError(() => verifyMemoryProof(tree.root, member.keyHash, { siblings: [] }), "empty-root");
      expect(verifyMemoryProof(ZERO, member.keyHash, { siblings: [] })).to.deep.equal({ kind: "absent" });
    });

    it("more than 256 siblings, in a proof and in an encoding", () => {
      const deep: MemoryProof = { siblings: new Array<string>(257).fill(ZERO) };
      expectProofError(() => verifyMemoryProof(tree.root, member.keyHash, deep), "too-deep");
      expectProofError(() => encodeProof(deep), "too-deep");
      const encoded = `0x0101${"00".repeat(32 * 257)}00`;
      expect(expectProofError(() => decodeProof(encoded), "too-deep")).to.contain("257 siblings");
    });

    it("malformed fields", () => {
      const p = proofOf(member);
      const leaf = p.leaf as MemoryLeaf;
      expectProofError(() => verifyMemoryProof("0x1234", member.keyHash, p), "malformed");
      expectProofError(() => verifyMemoryProof(tree.root, member.keyHash.slice(0, 64), p), "malformed");
      expectProofError(() => verifyMemoryProof(tree.root, member.keyHash, { siblings: [p.siblings[0].slice(0, 64), ...p.siblings.slice(1)], leaf }), "malformed");
      expectProofError(() => verifyMemoryProof(tree.root, member.keyHash, { siblings: [`0x${"zz".repeat(32)}`, ...p.siblings.slice(1)], leaf }), "malformed");
      expectProofError(() => verifyMemoryProof(tree.root, member.keyHash, { siblings: p.siblings, leaf: { ...leaf, seq: -1n } }), "malformed");
      expectProofError(() => verifyMemoryProof(tree.root, member.keyHash, { siblings: p.siblings, leaf: { ...leaf, version: 1n << 64n } }), "malformed");
      expectProofError(() => verifyMemoryProof(tree.root, member.keyHash, { siblings: p.siblings, leaf: { ...leaf, keyHash: "0x00" } }), "malformed");
      expectProofError(() => verifyMemoryProof(tree.root, member.keyHash, {} as MemoryProof), "malformed");
    });

    it("malformed encodings: truncated, trailing bytes, bad flag, not hex", () => {
      const encoded = member.encoded;
      for (let cut = 1; cut < member.bytes; cut += 7) {
        const message = expectProofError(() => decodeProof(encoded.slice(0, encoded.length - 2 * cut)), "malformed");
        expect(message).to.match(/truncated|shorter than|flag/);
      }
      expect(expectProofError(() => decodeProof(`${encoded}00`), "malformed")).to.contain("trailing bytes");
      expect(expectProofError(() => decodeProof(`${absentEmpty.encoded}00`), "malformed")).to.contain("trailing bytes");
      const flagAt = 2 + 2 * (2 + 32 * absentEmpty.siblings.length);
      const badFlag = `${absentEmpty.encoded.slice(0, flagAt)}02`;
      expect(expectProofError(() => decodeProof(badFlag), "malformed")).to.contain("flag is 2");
      expectProofError(() => decodeProof("0x"), "malformed");
      expectProofError(() => decodeProof("0x000"), "malformed");
      expectProofError(() => decodeProof("00000000"), "malformed");
      expectProofError(() => decodeProof("0x0000zz"), "malformed");
      expect(decodeProof("0x000000")).to.deep.equal({ siblings: [] });
    });
  });

  describe("map", () => {
    it("replaces a key's leaf (tombstones included) without adding one", () => {
      const map = new SparseMerkleMap();
      const k = keccak256(toUtf8Bytes("k"));
      map.set(k, { valueHash: keccak256("0x01"), seq: 1n, version: 1n });
      map.set(k, { valueHash: ZERO, seq: 2n, version: 2n });
      expect(map.size).to.equal(1);
      expect(map.get(k)).to.deep.equal({ keyHash: k, valueHash: ZERO, seq: 2n, version: 2n });
      expect(map.has(k)).to.equal(true);
      expect(map.root()).to.equal(naiveLeafHash({ keyHash: k, valueHash: ZERO, seq: 2n, version: 2n }));
    });

    it("takes keyHashes in either case and returns them in lower case", () => {
      const map = new SparseMerkleMap();
      const k = `0x${"AB".repeat(32)}`;
      map.set(k, { valueHash: `0x${"CD".repeat(32)}`, seq: 1n, version: 1n });
      expect(map.get(k.toLowerCase())).to.deep.equal({ keyHash: k.toLowerCase(), valueHash: `0x${"cd".repeat(32)}`, seq: 1n, version: 1n });
    });

    it("keeps the last of duplicate leaves given at once", () => {
      const k = keccak256(toUtf8Bytes("k"));
      const map = SparseMerkleMap.fromLeaves([
        { keyHash: k, valueHash: keccak256("0x01"), seq: 1n, version: 1n },
        { keyHash: k, valueHash: keccak256("0x02"), seq: 2n, version: 2n },
      ]);
      expect(map.size).to.equal(1);
      expect(map.get(k)?.seq).to.equal(2n);
    });

    it("refuses keys and leaves that are not bytes32 / uint64", () => {
      const map = new SparseMerkleMap();
      const k = keccak256(toUtf8Bytes("k"));
      const ok = { valueHash: ZERO, seq: 1n, version: 1n };
      expect(() => map.set("0x1234", ok)).to.throw(MemoryMapError, "keyHash 0x1234 is not a bytes32");
      expect(() => map.set(k.slice(2), ok)).to.throw(MemoryMapError, "is not a bytes32");
      expect(() => map.set(k, { ...ok, valueHash: "0x" })).to.throw(MemoryMapError, "valueHash");
      expect(() => map.set(k, { ...ok, seq: 1n << 64n })).to.throw(MemoryMapError, "seq");
      expect(() => map.set(k, { ...ok, version: -1n })).to.throw(MemoryMapError, "version");
      expect(() => map.set(k, { ...ok, seq: 1 as unknown as bigint })).to.throw(MemoryMapError, "not a uint64");
      expect(() => map.get("0x")).to.throw(MemoryMapError);
      expect(map.size).to.equal(0);
    });

    it("agrees with the naive tree after seeded random inserts and updates", function () {
      this.timeout(120_000);
      const random = prng(0x5eed);
      const hex32 = () => `0x${Array.from({ length: 32 }, () => Math.floor(random() * 256).toString(16).padStart(2, "0")).join("")}`;
      const model = new Map<string, MemoryLeaf>();
      const map = new SparseMerkleMap();
      let seq = 0n;
      for (let round = 0; round < 40; round++) {
        const writes = 1 + Math.floor(random() * 20);
        for (let w = 0; w < writes; w++) {
          seq++;
          const known = [...model.keys()];
          const pick = random();
          let keyHash: string;
          if (known.length > 0 && pick < 0.3) keyHash = known[Math.floor(random() * known.length)]; // update
          else if (known.length > 0 && pick < 0.5) keyHash = flipBit(known[Math.floor(random() * known.length)], 8 + Math.floor(random() * 248)); // long shared prefix
          else keyHash = hex32();
          const previous = model.get(keyHash);
          const leaf: MemoryLeaf = { keyHash, valueHash: random() < 0.15 ? ZERO : hex32(), seq, version: (previous?.version ?? 0n) + 1n };
          model.set(keyHash, leaf);
          map.set(keyHash, leaf);
        }
        // Read the root only every few rounds, so that several rounds of changes are rehashed together.
        if (round % 3 !== 2 && round !== 39) continue;
        const leaves = [...model.values()];
        const root = naiveRoot(leaves);
        expect(map.root(), `round ${round}`).to.equal(root);
        expect(map.size).to.equal(model.size);
        expect(SparseMerkleMap.fromLeaves(leaves).root()).to.equal(root);
        const sorted = [...leaves].sort((a, b) => (a.keyHash < b.keyHash ? -1 : 1));
        expect([...map.leaves()]).to.deep.equal(sorted);
        for (let q = 0; q < 20; q++) {
          const keyHash = q % 2 === 0 ? leaves[Math.floor(random() * leaves.length)].keyHash : random() < 0.5 ? hex32() : flipBit(leaves[Math.floor(random() * leaves.length)].keyHash, Math.floor(random() * 256));
          const proof = decodeProof(encodeProof(map.prove(keyHash)));
          const result = verifyMemoryProof(root, keyHash, proof);
          const expected = model.get(keyHash);
          expect(result).to.deep.equal(expected ? { kind: "member", leaf: expected } : { kind: "absent" });
        }
      }
      expect(model.size).to.be.greaterThan(200);
    });
  });
});
