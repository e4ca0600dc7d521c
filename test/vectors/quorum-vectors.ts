/**
 * DA quorum vectors from the TypeScript reference (agents/src/sdk/da/quorum.ts): sampling results for
 * fixed seeds and weights, and member trees with their roots and proofs. test/contracts/QuorumSampling.t.sol
 * and test/mocha/contracts/da-quorum.test.ts read test/vectors/quorum.json; the mocha test fails when it
 * is stale.
 *
 *   npx tsx test/vectors/quorum-vectors.ts     rewrite quorum.json
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { keccak256, toUtf8Bytes } from "ethers";
import {
  epochSeed,
  memberLeaf,
  memberProof,
  memberRoot,
  sampleQuorums,
  type QuorumMember,
} from "../../agents/src/sdk/da/quorum.js";

export const QUORUM_VECTORS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), "quorum.json");

export interface SamplingVector {
  name: string;
  seed: string;
  weights: string[];
  quorums: number;
  quorumSize: number;
  size: number;
  picks: number[];
}

export interface TreeVector {
  nodeIds: string[];
  pkX: string[];
  pkY: string[];
  weights: string[];
  leaves: string[];
  root: string;
  /** proofs[p] are the siblings of position p, from the leaf up. */
  proofs: string[][];
}

export interface QuorumVectors {
  sampling: SamplingVector[];
  trees: TreeVector[];
  epochSeed: { randomness: string; chainId: string; registry: string; epoch: string; seed: string };
}

/** Deterministic pseudo-random 256-bit values. */
function rand(label: string, i: number): bigint {
  return BigInt(keccak256(toUtf8Bytes(`daios.quorum.vectors/${label}/${i}`)));
}

function weightsOf(label: string, n: number, max: bigint): bigint[] {
  return Array.from({ length: n }, (_, i) => (rand(label, i) % max) + 1n);
}

function sampling(name: string, weights: bigint[], quorums: number, quorumSize: number): SamplingVector {
  const seed = keccak256(toUtf8Bytes(`daios.quorum.vectors/seed/${name}`));
  const { picks, size } = sampleQuorums(seed, weights, quorums, quorumSize);
  return { name, seed, weights: weights.map(String), quorums, quorumSize, size, picks };
}

function tree(count: number): TreeVector {
  const members: QuorumMember[] = Array.from({ length: count }, (_, i) => ({
    nodeId: BigInt(i * 7 + 1),
    pkG1: { x: rand(`pkx${count}`, i), y: rand(`pky${count}`, i) },
    weight: (rand(`w${count}`, i) % 10n ** 24n) + 10n ** 20n,
  }));
  return {
    nodeIds: members.map((m) => m.nodeId.toString()),
    pkX: members.map((m) => m.pkG1.x.toString()),
    pkY: members.map((m) => m.pkG1.y.toString()),
    weights: members.map((m) => m.weight.toString()),
    leaves: members.map(memberLeaf),
    root: memberRoot(members),
    proofs: members.map((_, p) => memberProof(members, p)),
  };
}

export function quorumVectors(): QuorumVectors {
  const e18 = 10n ** 18n;
  const heavy = weightsOf("heavy", 40, 100n * e18);
  heavy[3] = 10_000n * e18;
  heavy[17] = 5_000n * e18;
  const randomness = keccak256(toUtf8Bytes("daios.quorum.vectors/randomness"));
  const registry = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
  return {
    sampling: [
      sampling("equal-8-1x4", Array<bigint>(8).fill(100n * e18), 1, 4),
      sampling("equal-20-2x8", Array<bigint>(20).fill(e18), 2, 8),
      sampling("random-37-3x16", weightsOf("random37", 37, 1000n * e18), 3, 16),
      sampling("heavy-40-2x16", heavy, 2, 16),
      sampling("tiny-weights-12-1x12", weightsOf("tiny", 12, 3n), 1, 12),
      sampling("all-drawn-32-2x16", weightsOf("all", 32, 50n * e18), 2, 16),
      sampling("max-256-8x32", weightsOf("max", 256, 10n ** 30n), 8, 32),
      sampling("too-few-7-2x4", weightsOf("few", 7, e18), 2, 4),
      sampling("empty-0-1x4", [], 1, 4),
    ],
    trees: [1, 2, 4, 5, 16, 31, 32].map(tree),
    epochSeed: {
      randomness,
      chainId: "31337",
      registry,
      epoch: "7",
      seed: epochSeed(randomness, 31337n, registry, 7n),
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(QUORUM_VECTORS_FILE, `${JSON.stringify(quorumVectors(), null, 2)}\n`);
  console.log(`wrote ${QUORUM_VECTORS_FILE}`);
}
