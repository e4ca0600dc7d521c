/**
 * Proof of Random Access: which chunks a period challenges, and the circuit input that opens them.
 * Mirrors circuits/pora.circom; test/mocha/circuits/pora.test.ts checks the two agree.
 */
import { STORAGE } from "../../generated/constants.js";
import { chunkBytes, packChunk, type DataTree } from "./format.js";

const { CHALLENGES_PER_PROOF, CHALLENGE_INDEX_BITS } = STORAGE;
const INDEX_MASK = (1n << BigInt(CHALLENGE_INDEX_BITS)) - 1n;

/**
 * The chunk indices challenged by `seed` in a file of `numChunks` chunks. The seed already binds the
 * provider (StorageMarket.challengeSeed hashes its address in), so it is all the circuit needs.
 */
export function challengedIndices(seed: bigint, numChunks: number): number[] {
  const indices: number[] = [];
  for (let j = 0; j < CHALLENGES_PER_PROOF; j++) {
    const value = (seed >> BigInt(j * CHALLENGE_INDEX_BITS)) & INDEX_MASK;
    indices.push(Number(value % BigInt(numChunks)));
  }
  return indices;
}

export interface PoraInput {
  dataRoot: string;
  seed: string;
  treeRoot: string;
  sizeBytes: string;
  numChunks: string;
  chunks: string[][];
  siblings: string[][];
}

/** Chunk reader: the provider reads challenged chunks from disk, tests from memory. */
export type ChunkReader = (index: number) => Uint8Array | Promise<Uint8Array>;

export function memoryChunkReader(data: Uint8Array): ChunkReader {
  return (index) => chunkBytes(data, index);
}

/** Builds the witness input of the PoRA circuit for one period's challenge. */
export async function poraInput(
  tree: DataTree,
  readChunk: ChunkReader,
  seed: bigint,
): Promise<{ input: PoraInput; indices: number[] }> {
  const indices = challengedIndices(seed, tree.chunkCount);
  const chunks: string[][] = [];
  const siblings: string[][] = [];
  for (const index of indices) {
    chunks.push(packChunk(await readChunk(index)).map(String));
    siblings.push(tree.siblings(index).map(String));
  }
  return {
    indices,
    input: {
      dataRoot: tree.dataRoot.toString(),
      seed: seed.toString(),
      treeRoot: tree.treeRoot.toString(),
      sizeBytes: String(tree.size),
      numChunks: String(tree.chunkCount),
      chunks,
      siblings,
    },
  };
}
