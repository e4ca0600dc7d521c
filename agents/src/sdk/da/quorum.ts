/**
 * DA quorum sampling and member trees: the TypeScript reference of contracts/libraries/QuorumSampling.sol
 * (identical results, checked on the shared vectors test/vectors/quorum.json).
 *
 * Sampling draws without replacement across all K quorums. Each quorum has
 * `Qe = min(quorumSize, floor(N / K))` members (no quorums when Qe < MIN_QUORUM_SIZE). Draw j takes
 * `x = uint256(keccak256(abi.encode(seed, j))) % remainingWeight` and picks the first remaining candidate
 * whose cumulative weight exceeds x. Quorum q is draws [q·Qe, (q+1)·Qe) in draw order: the member at
 * position p holds coded shard p. This file walks the cumulative weights linearly; the contract uses a
 * Fenwick tree, so the vectors compare two independent implementations.
 *
 * Member tree: leaf = keccak256(abi.encode(nodeId, pkG1.x, pkG1.y, weight)) per position, zero leaves up to
 * the next power of two, parent = keccak256(left ‖ right).
 */
import { AbiCoder, concat, keccak256, zeroPadValue } from "ethers";
import { DA } from "../../generated/constants.js";
import { DaiosError } from "../../core/errors.js";

/** Most candidates one sampling accepts (QuorumSampling.MAX_CANDIDATES). */
export const MAX_CANDIDATES = 256;
/** Deepest member tree, ceil(log2(MAX_QUORUM_SIZE)): the fixed length of DABlobs' member proofs. */
export const MAX_MEMBER_DEPTH = 5;
export const ZERO_HASH = `0x${"00".repeat(32)}`;

const abi = AbiCoder.defaultAbiCoder();

export class QuorumSamplingError extends DaiosError {}

/** A member of a sampled quorum: everything its leaf commits to. */
export interface QuorumMember {
  nodeId: bigint;
  pkG1: { x: bigint; y: bigint };
  weight: bigint;
}

/** Members per quorum for `candidates` candidates, or 0 when the epoch has no quorums. */
export function membersPerQuorum(candidates: number, quorums: number, quorumSize: number): number {
  checkShape(quorums, quorumSize);
  const size = Math.min(quorumSize, Math.floor(candidates / quorums));
  return size < DA.MIN_QUORUM_SIZE ? 0 : size;
}

export function checkShape(quorums: number, quorumSize: number): void {
  if (!Number.isInteger(quorums) || quorums < 1 || quorums > DA.MAX_QUORUMS) {
    throw new QuorumSamplingError(`quorum count ${quorums} is outside 1..${DA.MAX_QUORUMS}`);
  }
  if (!Number.isInteger(quorumSize) || quorumSize < DA.MIN_QUORUM_SIZE || quorumSize > DA.MAX_QUORUM_SIZE) {
    throw new QuorumSamplingError(`quorum size ${quorumSize} is outside ${DA.MIN_QUORUM_SIZE}..${DA.MAX_QUORUM_SIZE}`);
  }
}

/** The value of draw `j`: uint256(keccak256(abi.encode(seed, j))). */
export function drawValue(seed: string, j: number): bigint {
  return BigInt(keccak256(abi.encode(["bytes32", "uint256"], [seed, j])));
}

/**
 * Samples the quorums: candidate indices (into `weights`, which are in node-id order), `quorums * size`
 * of them; quorum q is picks.slice(q * size, (q + 1) * size).
 */
export function sampleQuorums(
  seed: string,
  weights: readonly bigint[],
  quorums: number,
  quorumSize: number,
): { picks: number[]; size: number } {
  if (weights.length > MAX_CANDIDATES) {
    throw new QuorumSamplingError(`${weights.length} candidates exceed the cap of ${MAX_CANDIDATES}`);
  }
  weights.forEach((w, i) => {
    if (w <= 0n) throw new QuorumSamplingError(`candidate ${i} has weight ${w}; weights must be positive`);
  });
  const size = membersPerQuorum(weights.length, quorums, quorumSize);
  const left = [...weights];
  let remaining = left.reduce((a, b) => a + b, 0n);
  const picks: number[] = [];
  for (let j = 0; j < quorums * size; j++) {
    const x = drawValue(seed, j) % remaining;
    let cumulative = 0n;
    let pick = -1;
    for (let i = 0; i < left.length; i++) {
      cumulative += left[i];
      if (cumulative > x) {
        pick = i;
        break;
      }
    }
    picks.push(pick);
    remaining -= left[pick];
    left[pick] = 0n;
  }
  return { picks, size };
}

/** The seed DARegistry derives for an epoch: keccak256(abi.encode(randomness, chainId, registry, epoch)). */
export function epochSeed(randomness: string, chainId: bigint, registry: string, epoch: bigint): string {
  return keccak256(abi.encode(["bytes32", "uint256", "address", "uint256"], [randomness, chainId, registry, epoch]));
}

export function memberLeaf(member: QuorumMember): string {
  return keccak256(
    abi.encode(["uint256", "uint256", "uint256", "uint256"], [member.nodeId, member.pkG1.x, member.pkG1.y, member.weight]),
  );
}

/** ceil(log2(count)). */
export function memberDepth(count: number): number {
  let depth = 0;
  while (2 ** depth < count) depth++;
  return depth;
}

/** All levels of the member tree, leaves (padded) first, root last. */
export function memberTreeLevels(leaves: readonly string[]): string[][] {
  if (leaves.length === 0 || leaves.length > DA.MAX_QUORUM_SIZE) {
    throw new QuorumSamplingError(`a member tree needs 1..${DA.MAX_QUORUM_SIZE} leaves, got ${leaves.length}`);
  }
  const width = 2 ** memberDepth(leaves.length);
  let level = [...leaves, ...Array<string>(width - leaves.length).fill(ZERO_HASH)];
  const levels = [level];
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(hashPair(level[i], level[i + 1]));
    levels.push(next);
    level = next;
  }
  return levels;
}

export function memberRoot(members: readonly QuorumMember[]): string {
  const levels = memberTreeLevels(members.map(memberLeaf));
  return levels[levels.length - 1][0];
}

/** Siblings of `position` from the leaf up (what DABlobs.certify expects for a non-signer). */
export function memberProof(members: readonly QuorumMember[], position: number): string[] {
  if (!Number.isInteger(position) || position < 0 || position >= members.length) {
    throw new QuorumSamplingError(`position ${position} is outside the quorum's ${members.length} members`);
  }
  const levels = memberTreeLevels(members.map(memberLeaf));
  const proof: string[] = [];
  let index = position;
  for (let d = 0; d < levels.length - 1; d++) {
    proof.push(levels[d][index ^ 1]);
    index >>= 1;
  }
  return proof;
}

/** A member proof as DABlobs.certify takes it: MAX_MEMBER_DEPTH (5) siblings, the ones past the depth zero. */
export type PaddedMemberProof = [string, string, string, string, string];

/** memberProof zero-padded to MAX_MEMBER_DEPTH siblings: the `proof` of a DABlobs.certify non-signer. */
export function paddedMemberProof(members: readonly QuorumMember[], position: number): PaddedMemberProof {
  const proof = memberProof(members, position);
  return [...proof, ...Array<string>(MAX_MEMBER_DEPTH - proof.length).fill(ZERO_HASH)] as PaddedMemberProof;
}

/** A DABlobs.certify non-signer entry for the member at `position`. */
export function nonSignerEntry(members: readonly QuorumMember[], position: number) {
  const m = members[position];
  if (m === undefined) throw new QuorumSamplingError(`position ${position} is outside the quorum's ${members.length} members`);
  return { position, nodeId: m.nodeId, pk: m.pkG1, weight: m.weight, proof: paddedMemberProof(members, position) };
}

export function verifyMember(root: string, count: number, position: number, leaf: string, proof: readonly string[]): boolean {
  if (position < 0 || position >= count || proof.length !== memberDepth(count)) return false;
  let node = leaf;
  for (let i = 0; i < proof.length; i++) {
    node = ((position >> i) & 1) === 0 ? hashPair(node, proof[i]) : hashPair(proof[i], node);
  }
  return node === root;
}

function hashPair(left: string, right: string): string {
  return keccak256(concat([zeroPadValue(left, 32), zeroPadValue(right, 32)]));
}
