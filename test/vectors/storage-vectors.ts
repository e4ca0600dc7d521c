/**
 * Storage test vectors from the TypeScript reference (agents/src/sdk/storage): data roots of
 * deterministic files, challenged indices, and one real PoRA proof. Circuit, contract and hasher tests
 * read test/vectors/storage.json; test/mocha/sdk/vectors.test.ts fails when it is stale.
 *
 *   npx tsx test/vectors/storage-vectors.ts     rewrite storage.json (a new proof is made each time)
 */
import { keccak256, toUtf8Bytes } from "ethers";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { STORAGE } from "../../agents/src/generated/constants.js";
import { DataTree, ReferenceHasher, fromBytes32, zeroHashes } from "../../agents/src/sdk/storage/format.js";
import { challengedIndices, memoryChunkReader, poraInput } from "../../agents/src/sdk/storage/challenge.js";
import { SNARK_FIELD, circomlibPoseidon, type PoseidonFn } from "../../agents/src/sdk/storage/poseidon.js";
import { deterministicBytes } from "../helpers/data.js";

export const VECTORS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), "storage.json");
export const VECTOR_SIZES = [1, 255, 256, 257, 4096, 10_000, 70_001];
/** The field's edges, a small seed and full-width seeds like the market's (keccak mod r). */
export const VECTOR_SEEDS = [
  0n,
  1n,
  123456789n,
  21888242871839275222246405745257275088548364400416034343698204186575808495616n,
  BigInt(keccak256(toUtf8Bytes("daios storage vector seed 1"))) % SNARK_FIELD,
  BigInt(keccak256(toUtf8Bytes("daios storage vector seed 2"))) % SNARK_FIELD,
];

export interface FileVector {
  size: number;
  seed: number;
  chunkCount: number;
  firstLeaf: string;
  treeRoot: string;
  dataRoot: string;
  challenges: { seed: string; indices: number[] }[];
}

/** Everything in the vectors except the proof (which is randomised per run). */
export async function fileVectors(poseidon: PoseidonFn): Promise<{ zeroRoot: string; files: FileVector[] }> {
  const hasher = new ReferenceHasher(poseidon);
  const files: FileVector[] = [];
  for (const size of VECTOR_SIZES) {
    const data = deterministicBytes(size, size);
    const tree = await DataTree.build(data, hasher, poseidon);
    files.push({
      size,
      seed: size,
      chunkCount: tree.chunkCount,
      firstLeaf: fromBytes32(tree.levels[0]).toString(),
      treeRoot: tree.treeRoot.toString(),
      dataRoot: tree.dataRoot.toString(),
      challenges: VECTOR_SEEDS.map((seed) => ({
        seed: seed.toString(),
        indices: challengedIndices(seed, tree.chunkCount),
      })),
    });
  }
  return { zeroRoot: zeroHashes(poseidon)[STORAGE.TREE_DEPTH].toString(), files };
}

async function main(): Promise<void> {
  const { ProverPool } = await import("../../agents/src/core/prover-pool.js");
  const { artifactPaths } = await import("../../circuits/circuits.js");
  const poseidon = await circomlibPoseidon();
  const vectors = await fileVectors(poseidon);
  const size = 10_000;
  const data = deterministicBytes(size, size);
  const tree = await DataTree.build(data, new ReferenceHasher(poseidon), poseidon);
  const seed = VECTOR_SEEDS[4];
  const { input } = await poraInput(tree, memoryChunkReader(data), seed);
  const paths = artifactPaths("pora");
  const pool = new ProverPool({ size: 1 });
  try {
    const { calldata } = await pool.prove({ wasmPath: paths.wasm, zkeyPath: paths.zkey, input });
    const proof = {
      size,
      seed: seed.toString(),
      pA: calldata.pA.map(String),
      pB: calldata.pB.map((row) => row.map(String)),
      pC: calldata.pC.map(String),
      pubSignals: calldata.pubSignals.map(String),
    };
    writeFileSync(VECTORS_FILE, `${JSON.stringify({ ...vectors, proof }, null, 2)}\n`);
    console.log(`wrote ${path.relative(process.cwd(), VECTORS_FILE)}`);
  } finally {
    await pool.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
