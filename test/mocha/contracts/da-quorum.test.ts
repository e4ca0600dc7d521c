/**
 * The quorum vectors (test/vectors/quorum.json, read by test/contracts/QuorumSampling.t.sol) match the
 * TypeScript reference agents/src/sdk/da/quorum.ts, and the reference's own properties hold.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { keccak256, toUtf8Bytes } from "ethers";
import {
  MAX_MEMBER_DEPTH,
  QuorumSamplingError,
  ZERO_HASH,
  memberDepth,
  memberLeaf,
  memberProof,
  memberRoot,
  membersPerQuorum,
  nonSignerEntry,
  sampleQuorums,
  verifyMember,
  type QuorumMember,
} from "../../../agents/src/sdk/da/quorum.js";
import { QUORUM_VECTORS_FILE, quorumVectors } from "../../vectors/quorum-vectors.js";
import { DA } from "../../../agents/src/generated/constants.js";

describe("DA quorum sampling (TypeScript reference)", function () {
  it("test/vectors/quorum.json matches the reference", () => {
    const committed = JSON.parse(readFileSync(QUORUM_VECTORS_FILE, "utf8")) as unknown;
    expect(committed, "run `npx tsx test/vectors/quorum-vectors.ts`").to.deep.equal(quorumVectors());
  });

  it("draws distinct candidates, K * Qe of them, and none when quorums would be too small", () => {
    const weights = Array.from({ length: 50 }, (_, i) => BigInt(i % 7) * 10n ** 18n + 1n);
    for (const [quorums, size] of [[1, 4], [3, 16], [8, 32], [8, 4]] as const) {
      const { picks, size: qe } = sampleQuorums(keccak256(toUtf8Bytes(`s${quorums}`)), weights, quorums, size);
      expect(qe).to.equal(membersPerQuorum(50, quorums, size));
      expect(picks).to.have.length(quorums * qe);
      expect(new Set(picks).size).to.equal(picks.length);
    }
    expect(membersPerQuorum(7, 2, 4)).to.equal(0);
    expect(sampleQuorums(ZERO_HASH, weights.slice(0, 7), 2, 4).picks).to.deep.equal([]);
  });

  it("favours stake", () => {
    const weights = [1n, 1n, 1n, 1n, 10n ** 9n, 1n, 1n, 1n];
    for (let s = 0; s < 10; s++) {
      expect(sampleQuorums(keccak256(toUtf8Bytes(`seed${s}`)), weights, 1, 4).picks[0]).to.equal(4);
    }
  });

  it("rejects bad input with errors that name the value", () => {
    expect(() => sampleQuorums(ZERO_HASH, [1n, 0n], 1, 4)).to.throw(QuorumSamplingError, "candidate 1 has weight 0");
    expect(() => sampleQuorums(ZERO_HASH, Array<bigint>(257).fill(1n), 1, 4)).to.throw(QuorumSamplingError, "257 candidates");
    expect(() => membersPerQuorum(10, 0, 4)).to.throw(QuorumSamplingError, "quorum count 0");
    expect(() => membersPerQuorum(10, 1, DA.MAX_QUORUM_SIZE + 1)).to.throw(QuorumSamplingError, "quorum size 33");
  });

  it("builds member proofs that verify at their position only, padded for DABlobs.certify", () => {
    for (const count of [1, 3, 4, 9, 16, 32]) {
      const members: QuorumMember[] = Array.from({ length: count }, (_, i) => ({
        nodeId: BigInt(i + 1),
        pkG1: { x: BigInt(keccak256(toUtf8Bytes(`x${i}`))), y: BigInt(i) },
        weight: 10n ** 18n * BigInt(i + 1),
      }));
      const root = memberRoot(members);
      for (let p = 0; p < count; p++) {
        const proof = memberProof(members, p);
        expect(proof).to.have.length(memberDepth(count));
        expect(verifyMember(root, count, p, memberLeaf(members[p]), proof)).to.equal(true);
        if (count > 1) expect(verifyMember(root, count, p ^ 1, memberLeaf(members[p]), proof)).to.equal(false);
        const entry = nonSignerEntry(members, p);
        expect(entry.proof).to.have.length(MAX_MEMBER_DEPTH);
        expect(entry.proof.slice(0, proof.length)).to.deep.equal(proof);
      }
    }
    expect(memberDepth(DA.MAX_QUORUM_SIZE)).to.equal(MAX_MEMBER_DEPTH);
  });
});
