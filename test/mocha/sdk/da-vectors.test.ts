/**
 * test/vectors/da.json (read by the Solidity verifier tests) must match the TypeScript reference,
 * and the native code must reproduce every root and proof in it.
 *
 *   npx hardhat test mocha test/mocha/sdk/da-vectors.test.ts
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { encodeBlob } from "../../../agents/src/sdk/da/blob.js";
import { CommitmentTree, verifyProof, verifyRange } from "../../../agents/src/sdk/da/commitment.js";
import { VECTORS_FILE, daVectors } from "../../vectors/da-vectors.js";
import { deterministicBytes } from "../../helpers/data.js";

interface ProofVector {
  index: number;
  chunk: string;
  proof: string[];
}

const bytes = (hex: string) => Buffer.from(hex.slice(2), "hex");

describe("DA test vectors", function () {
  this.timeout(120_000);
  const committed = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as {
    trees: { size: number; seed: number; leafCount: number; root: string; proofs: ProofVector[] }[];
    blobs: { size: number; seed: number; quorumSize: number; leafCount: number; chunksPerShard: number; root: string; proofs: ProofVector[]; shardProofs: { shard: number; proof: string[] }[] }[];
  };

  it("test/vectors/da.json matches the TypeScript reference", function () {
    expect(committed, "run `npx tsx test/vectors/da-vectors.ts`").to.deep.equal(daVectors());
  });

  it("covers 1 byte, one chunk, odd chunk counts and a few KiB", function () {
    const counts = [...committed.trees, ...committed.blobs].map((v) => v.leafCount);
    expect(committed.trees.map((t) => t.size)).to.include.members([1, 512]);
    expect(counts.some((c) => c % 2 === 1 && c > 1)).to.equal(true);
    expect(Math.max(...committed.blobs.map((b) => b.size))).to.be.at.least(4096);
  });

  it("the default (native) code gives the same roots, and every proof verifies", function () {
    for (const tree of committed.trees) {
      const data = deterministicBytes(tree.size, tree.seed);
      expect(`0x${CommitmentTree.build(data).root.toString("hex")}`).to.equal(tree.root);
      for (const p of tree.proofs) {
        expect(verifyProof(bytes(tree.root), p.index, bytes(p.chunk), p.proof.map(bytes), tree.leafCount), `tree ${tree.size} chunk ${p.index}`).to.equal(true);
      }
    }
    for (const vector of committed.blobs) {
      const blob = encodeBlob(deterministicBytes(vector.size, vector.seed), vector.quorumSize);
      expect(blob.rootHex).to.equal(vector.root);
      for (const p of vector.proofs) {
        expect(verifyProof(bytes(vector.root), p.index, bytes(p.chunk), p.proof.map(bytes), vector.leafCount), `blob ${vector.size} chunk ${p.index}`).to.equal(true);
      }
      for (const { shard, proof } of vector.shardProofs) {
        const ok = verifyRange(bytes(vector.root), vector.leafCount, shard * vector.chunksPerShard, blob.shards[shard], proof.map(bytes));
        expect(ok, `blob ${vector.size} shard ${shard}`).to.equal(true);
      }
    }
  });
});
