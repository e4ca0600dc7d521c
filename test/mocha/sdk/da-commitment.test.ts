/**
 * The DA commitment tree (agents/src/sdk/da/commitment.ts): roots against a naive definition that
 * pads the leaves explicitly, chunk proofs and range proofs at every index of small trees, and
 * tampering (chunk, index, proof, leaf count) that must fail.
 *
 *   npx hardhat test mocha test/mocha/sdk/da-commitment.test.ts
 */
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { DA } from "../../../agents/src/generated/constants.js";
import {
  CommitmentError,
  CommitmentTree,
  PADDING_LEAF,
  ZERO_HASHES,
  defaultCommitHasher,
  leafHash,
  nodeHash,
  openRange,
  referenceCommitHasher,
  rootFromProof,
  treeDepth,
  verifyProof,
  verifyRange,
} from "../../../agents/src/sdk/da/commitment.js";

const CHUNK = DA.CHUNK_SIZE;
const sha256 = (...parts: Uint8Array[]) => createHash("sha256").update(Buffer.concat(parts)).digest();

/** The definition, written plainly: pad the leaves to a power of two with 32 zero bytes, hash up. */
function naiveRoot(data: Uint8Array): Buffer {
  const count = Math.ceil(data.length / CHUNK);
  let level: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const chunk = Buffer.alloc(CHUNK);
    chunk.set(data.subarray(i * CHUNK, (i + 1) * CHUNK));
    level.push(sha256(Buffer.of(0), chunk));
  }
  let width = 1;
  while (width < count) width *= 2;
  while (level.length < width) level.push(Buffer.alloc(32));
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256(Buffer.of(1), level[i], level[i + 1]));
    level = next;
  }
  return level[0];
}

function chunkAt(data: Uint8Array, index: number): Buffer {
  const chunk = Buffer.alloc(CHUNK);
  chunk.set(data.subarray(index * CHUNK, (index + 1) * CHUNK));
  return chunk;
}

function flip(bytes: Uint8Array, at = 0): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] ^= 1;
  return copy;
}

describe("DA commitment tree", function () {
  this.timeout(300_000);
  const hasher = defaultCommitHasher();

  it("prefixes, padding leaf and zero hashes are as documented", function () {
    const chunk = randomBytes(CHUNK);
    expect(leafHash(chunk).equals(sha256(Buffer.of(0), chunk))).to.equal(true);
    expect(leafHash(chunk.subarray(0, 10)).equals(sha256(Buffer.of(0), chunk.subarray(0, 10), Buffer.alloc(CHUNK - 10)))).to.equal(true);
    const [l, r] = [randomBytes(32), randomBytes(32)];
    expect(nodeHash(l, r).equals(sha256(Buffer.of(1), l, r))).to.equal(true);
    expect(PADDING_LEAF.equals(Buffer.alloc(32))).to.equal(true);
    expect(ZERO_HASHES).to.have.length(DA.MAX_TREE_DEPTH + 1);
    expect(ZERO_HASHES[0].equals(PADDING_LEAF)).to.equal(true);
    for (let i = 1; i <= DA.MAX_TREE_DEPTH; i++) expect(ZERO_HASHES[i].equals(nodeHash(ZERO_HASHES[i - 1], ZERO_HASHES[i - 1]))).to.equal(true);
    expect(() => leafHash(Buffer.alloc(CHUNK + 1))).to.throw(CommitmentError);
  });

  it("treeDepth = ceil(log2(leafCount)) within [1, 2^MAX_TREE_DEPTH]", function () {
    const cases: [number, number][] = [
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 2],
      [5, 3],
      [1024, 10],
      [1025, 11],
      [2 ** 20, 20],
    ];
    for (const [count, depth] of cases) expect(treeDepth(count), `${count}`).to.equal(depth);
    for (const bad of [0, -1, 1.5, 2 ** 20 + 1]) expect(() => treeDepth(bad), `${bad}`).to.throw(CommitmentError);
  });

  it("the root equals the naive definition, from 1 byte to 70 chunks, with both hashers", function () {
    const sizes = [1, 511, 512, 513, 1024, 1536, 2048, 2049, 512 * 5, 512 * 7 + 1, 512 * 8, 512 * 9, 512 * 33, 512 * 70 - 5];
    for (const size of sizes) {
      const data = randomBytes(size);
      const expected = naiveRoot(data);
      for (const h of [referenceCommitHasher, hasher]) {
        const tree = CommitmentTree.build(data, { hasher: h });
        expect(tree.leafCount).to.equal(Math.ceil(size / CHUNK));
        expect(tree.root.equals(expected), `${h.name} size ${size}`).to.equal(true);
      }
    }
  });

  it("a single chunk is its own root (depth 0, empty proof)", function () {
    const data = randomBytes(100);
    const tree = CommitmentTree.build(data, { hasher });
    expect(tree.depth).to.equal(0);
    expect(tree.root.equals(leafHash(data))).to.equal(true);
    expect(tree.proof(0)).to.deep.equal([]);
    expect(verifyProof(tree.root, 0, chunkAt(data, 0), [], 1)).to.equal(true);
  });

  it("every chunk proof of trees of 1..33 leaves verifies, and every tampering fails", function () {
    for (let count = 1; count <= 33; count++) {
      const data = randomBytes(count * CHUNK - (count % 3) * 100);
      const tree = CommitmentTree.build(data, { hasher });
      const { root } = tree;
      for (let i = 0; i < count; i++) {
        const chunk = chunkAt(data, i);
        const proof = tree.proof(i);
        expect(proof).to.have.length(tree.depth);
        expect(verifyProof(root, i, chunk, proof, count), `count ${count} index ${i}`).to.equal(true);
        // Tampered chunk (first and last byte), root, index, leaf count, proof entries and length.
        expect(verifyProof(root, i, flip(chunk), proof, count)).to.equal(false);
        expect(verifyProof(root, i, flip(chunk, CHUNK - 1), proof, count)).to.equal(false);
        expect(verifyProof(flip(root), i, chunk, proof, count)).to.equal(false);
        if (count > 1) expect(verifyProof(root, (i + 1) % count, chunk, proof, count)).to.equal(false);
        expect(verifyProof(root, i + count, chunk, proof, count)).to.equal(false);
        expect(verifyProof(root, -1, chunk, proof, count)).to.equal(false);
        proof.forEach((_, l) => {
          const bad = [...proof];
          bad[l] = flip(bad[l], 31);
          expect(verifyProof(root, i, chunk, bad, count), `count ${count} index ${i} level ${l}`).to.equal(false);
        });
        expect(verifyProof(root, i, chunk, [...proof, ZERO_HASHES[tree.depth]], count)).to.equal(false);
        if (proof.length > 0) expect(verifyProof(root, i, chunk, proof.slice(1), count)).to.equal(false);
        // A leaf count with another depth makes the proof the wrong length.
        expect(verifyProof(root, i, chunk, proof, 2 ** tree.depth + 1)).to.equal(false);
        expect(verifyProof(root, i, chunk.subarray(0, CHUNK - 1), proof, count)).to.equal(false);
      }
    }
  });

  it("padding positions cannot be proven: the zero chunk does not hash to the padding leaf", function () {
    const data = randomBytes(3 * CHUNK);
    const tree = CommitmentTree.build(data, { hasher });
    expect(tree.node(0, 3).equals(PADDING_LEAF)).to.equal(true);
    const proofOf3 = [tree.node(0, 2), tree.node(1, 0)];
    expect(verifyProof(tree.root, 3, Buffer.alloc(CHUNK), proofOf3, 4)).to.equal(false);
    expect(verifyProof(tree.root, 3, Buffer.alloc(CHUNK), proofOf3, 3)).to.equal(false);
    expect(rootFromProof(3, PADDING_LEAF, proofOf3, 4)!.equals(tree.root)).to.equal(true);
    expect(rootFromProof(3, PADDING_LEAF, proofOf3, 3)).to.equal(undefined);
  });

  it("range proofs of every range of trees of 1..12 leaves verify and open to the chunk proofs", function () {
    for (let count = 1; count <= 12; count++) {
      const data = randomBytes(count * CHUNK);
      const tree = CommitmentTree.build(data, { hasher });
      for (let start = 0; start < count; start++) {
        for (let end = start + 1; end <= count; end++) {
          const slice = data.subarray(start * CHUNK, end * CHUNK);
          const proof = tree.rangeProof(start, end);
          const label = `count ${count} [${start}, ${end})`;
          const opening = openRange(tree.root, count, start, slice, proof, hasher);
          expect(opening, label).to.not.equal(undefined);
          for (let i = start; i < end; i++) {
            expect(opening!.proof(i).map((p) => p.toString("hex")), `${label} chunk ${i}`).to.deep.equal(tree.proof(i).map((p) => p.toString("hex")));
          }
          expect(() => opening!.proof(end)).to.throw(CommitmentError);
          expect(verifyRange(tree.root, count, start, flip(slice, slice.length - 1), proof, hasher), label).to.equal(false);
          if (proof.length > 0) {
            expect(verifyRange(tree.root, count, start, slice, [flip(proof[0]), ...proof.slice(1)], hasher), label).to.equal(false);
            expect(verifyRange(tree.root, count, start, slice, proof.slice(1), hasher), label).to.equal(false);
          }
          expect(verifyRange(tree.root, count, start, slice, [...proof, PADDING_LEAF], hasher), label).to.equal(false);
          if (start + 1 < count && end < count) expect(verifyRange(tree.root, count, start + 1, slice, proof, hasher), label).to.equal(false);
        }
      }
    }
  });

  it("builds from leaves, and rejects empty data, bad indices and ranges", function () {
    const data = randomBytes(5 * CHUNK);
    const tree = CommitmentTree.build(data, { hasher });
    expect(CommitmentTree.fromLeaves(tree.levels[0], hasher).root.equals(tree.root)).to.equal(true);
    expect(() => CommitmentTree.build(new Uint8Array(0), { hasher })).to.throw(CommitmentError, /empty/);
    expect(() => CommitmentTree.fromLeaves(new Uint8Array(33), hasher)).to.throw(CommitmentError, /32 bytes/);
    expect(() => tree.proof(5)).to.throw(CommitmentError, /Indices run from 0 to 4/);
    expect(() => tree.rangeProof(2, 2)).to.throw(CommitmentError, /range/);
    expect(() => tree.rangeProof(0, 6)).to.throw(CommitmentError, /range/);
    expect(verifyRange(tree.root, 5, 0, data.subarray(0, 100), [], hasher)).to.equal(false);
  });
});
