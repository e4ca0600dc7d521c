/**
 * The Proof of Random Access circuit against the TypeScript reference: a true proof passes (snarkjs
 * and the generated Solidity verifier agree); a wrong chunk, a wrong path, a wrong index, another
 * provider's seed and an index past the end all fail. The provider's address is bound through the
 * seed: the market hashes the caller into it (StorageMarket.challengeSeed, periods.ts challengeSeed).
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import { artifactPaths } from "../../../circuits/circuits.js";
import { STORAGE } from "../../../agents/src/generated/constants.js";
import { DataTree, ReferenceHasher, chunkBytes, packChunk } from "../../../agents/src/sdk/storage/format.js";
import { challengedIndices, memoryChunkReader, poraInput, type PoraInput } from "../../../agents/src/sdk/storage/challenge.js";
import { challengeSeed } from "../../../agents/src/sdk/storage/periods.js";
import { SNARK_FIELD, circomlibPoseidon, type PoseidonFn } from "../../../agents/src/sdk/storage/poseidon.js";
import { deterministicBytes } from "../../helpers/data.js";

const paths = artifactPaths("pora");
const PROVIDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const OTHER_PROVIDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
/** The seed the market would give `provider` for period 0 of deal 1, slot 0, from fixed randomness. */
const seedOf = (provider: string) => challengeSeed(`0x${"ab".repeat(32)}`, 31337n, MARKET, 1n, 0n, 0n, provider);

async function witnessFails(input: PoraInput): Promise<string> {
  try {
    await snarkjs.wtns.calculate(input as unknown as Record<string, unknown>, paths.wasm, { type: "mem" });
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error("the witness was computed: the circuit accepted an input it must reject");
}

async function witnessOk(input: PoraInput): Promise<void> {
  await snarkjs.wtns.calculate(input as unknown as Record<string, unknown>, paths.wasm, { type: "mem" });
}

describe("PoRA circuit", function () {
  this.timeout(300_000);
  let poseidon: PoseidonFn;
  let data: Uint8Array;
  let tree: DataTree;
  let vkey: unknown;

  before(async () => {
    poseidon = await circomlibPoseidon();
    data = deterministicBytes(10 * STORAGE.CHUNK_SIZE + 17, 7);
    tree = await DataTree.build(data, new ReferenceHasher(poseidon), poseidon);
    vkey = JSON.parse(readFileSync(paths.vkey, "utf8"));
  });

  /** Full-width seeds, as the market makes them (period n of the fixed deal), so every index draws on all its bits. */
  const seedFor = (n: bigint) => challengeSeed(`0x${"cd".repeat(32)}`, 31337n, MARKET, 1n, 0n, n, PROVIDER);

  it("accepts a true proof, and snarkjs rejects it for another provider's seed, another seed or root", async () => {
    const seed = seedOf(PROVIDER);
    const { input } = await poraInput(tree, memoryChunkReader(data), seed);
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(input as unknown as Record<string, unknown>, paths.wasm, paths.zkey);
    expect(publicSignals).to.deep.equal([tree.dataRoot.toString(), seed.toString()]);
    expect(await snarkjs.groth16.verify(vkey, publicSignals, proof)).to.equal(true);
    expect(await snarkjs.groth16.verify(vkey, [publicSignals[0], seedOf(OTHER_PROVIDER).toString()], proof)).to.equal(false);
    expect(await snarkjs.groth16.verify(vkey, [publicSignals[0], seedFor(2n).toString()], proof)).to.equal(false);
    expect(await snarkjs.groth16.verify(vkey, [(tree.dataRoot + 1n).toString(), publicSignals[1]], proof)).to.equal(false);
  });

  it("derives the same indices as the TypeScript reference (index 0 and the last index included)", async () => {
    const seen = new Set<number>();
    for (let s = 1n; s <= 40n; s++) {
      const { input, indices } = await poraInput(tree, memoryChunkReader(data), seedFor(s));
      await witnessOk(input);
      indices.forEach((i) => seen.add(i));
    }
    expect(seen.has(0)).to.equal(true);
    expect(seen.has(tree.chunkCount - 1)).to.equal(true);
  });

  it("accepts the field's boundary values as seed (0 and r - 1)", async () => {
    for (const seed of [0n, SNARK_FIELD - 1n]) {
      const { input } = await poraInput(tree, memoryChunkReader(data), seed);
      await witnessOk(input);
    }
  });

  it("accepts a one-chunk file and a file of exactly 2^k chunks", async () => {
    for (const size of [1, 16 * STORAGE.CHUNK_SIZE]) {
      const small = deterministicBytes(size, size);
      const smallTree = await DataTree.build(small, new ReferenceHasher(poseidon), poseidon);
      const { input } = await poraInput(smallTree, memoryChunkReader(small), seedFor(3n));
      await witnessOk(input);
    }
  });

  it("rejects a wrong chunk", async () => {
    const { input } = await poraInput(tree, memoryChunkReader(data), seedFor(1n));
    input.chunks[2][4] = (BigInt(input.chunks[2][4]) ^ 1n).toString();
    expect(await witnessFails(input)).to.match(/Assert Failed/);
  });

  it("rejects a wrong path", async () => {
    const { input } = await poraInput(tree, memoryChunkReader(data), seedFor(1n));
    input.siblings[1][5] = (BigInt(input.siblings[1][5]) + 1n).toString();
    expect(await witnessFails(input)).to.match(/Assert Failed/);
  });

  it("rejects the right chunk and path at another index than the challenged one", async () => {
    const { input, indices } = await poraInput(tree, memoryChunkReader(data), seedFor(1n));
    const other = (indices[0] + 1) % tree.chunkCount;
    input.chunks[0] = packChunk(chunkBytes(data, other)).map(String);
    input.siblings[0] = tree.siblings(other).map(String);
    expect(await witnessFails(input)).to.match(/Assert Failed/);
  });

  it("rejects the chunks of one provider's seed under another provider's seed", async () => {
    const { input, indices } = await poraInput(tree, memoryChunkReader(data), seedOf(PROVIDER));
    const forOther = challengedIndices(seedOf(OTHER_PROVIDER), tree.chunkCount);
    expect(forOther, "the test needs a provider whose indices differ").to.not.deep.equal(indices);
    input.seed = seedOf(OTHER_PROVIDER).toString();
    expect(await witnessFails(input)).to.match(/Assert Failed/);
  });

  it("rejects an index past the end (a chunk count or size the data root does not commit to)", async () => {
    const { input } = await poraInput(tree, memoryChunkReader(data), seedFor(1n));
    // More chunks than the size allows: the padding check fails.
    expect(await witnessFails({ ...input, numChunks: String(tree.chunkCount + 1) })).to.match(/Assert Failed/);
    // A larger size to match: the data root no longer matches.
    expect(await witnessFails({ ...input, numChunks: String(tree.chunkCount + 1), sizeBytes: String(tree.size + STORAGE.CHUNK_SIZE) })).to.match(/Assert Failed/);
    // More chunks than the tree holds.
    expect(await witnessFails({ ...input, numChunks: String(2 ** STORAGE.TREE_DEPTH + 1) })).to.match(/Assert Failed/);
  });
});
