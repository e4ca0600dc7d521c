/**
 * Compute test vectors from the TypeScript reference (agents/src/sdk/compute): the digits model's
 * commitment and packed elements, inputs from the held-back split and at the range boundaries with
 * their packing, commitment, logits and output, and one real proof (job 1, VECTOR_PROVER). Circuit,
 * SDK and contract tests read test/vectors/compute.json; test/mocha/sdk/compute/model.test.ts fails
 * when it is stale.
 *
 *   npx tsx test/vectors/compute-vectors.ts     rewrite compute.json (a new proof is made each time)
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { inputTag, inputCommitmentWith, packInput, packWeights, weightsCommitmentWith, weightsTag } from "../../agents/src/sdk/compute/commitment.js";
import { DIGITS_SHAPE, encodeWeights, infer, loadModel, modelParameters } from "../../agents/src/sdk/compute/model.js";
import { circomlibPoseidon, type PoseidonFn } from "../../agents/src/sdk/storage/poseidon.js";
import { loadDataset, stratifiedSplit } from "../../agents/src/tools/train-digits.js";

export const VECTORS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), "compute.json");
/** Hardhat's account #1, as in the storage vectors. */
export const VECTOR_PROVER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
export const VECTOR_JOB_ID = 1n;
/** Positions in the held-back split of the inputs in the vectors. */
export const HELD_BACK_PICKS = [0, 1, 2, 3, 4, 5, 100, 358];

export interface InputVector {
  /** "held-back row N" or what the boundary input is. */
  name: string;
  /** The dataset row (-1 for a synthetic input) and its label (-1 when none). */
  row: number;
  label: number;
  input: number[];
  inputElements: string[];
  inputCommitment: string;
  logits: string[];
  output: number;
}

export interface ComputeVectors {
  model: {
    name: string;
    weightsSha256: string;
    weightsTag: string;
    inputTag: string;
    weightElements: string[];
    weightsCommitment: string;
  };
  inputs: InputVector[];
}

/** Everything in the vectors except the proof (which is randomised per run). */
export async function computeVectors(poseidon: PoseidonFn): Promise<ComputeVectors> {
  const file = loadModel();
  const model = modelParameters(file);
  const data = loadDataset();
  const { heldBack } = stratifiedSplit(data.y);
  const cases: { name: string; row: number; label: number; input: number[] }[] = HELD_BACK_PICKS.map((at) => ({
    name: `held-back row ${heldBack[at]}`,
    row: heldBack[at],
    label: data.y[heldBack[at]],
    input: data.x[heldBack[at]],
  }));
  cases.push({ name: "all zero", row: -1, label: -1, input: new Array<number>(DIGITS_SHAPE.inputs).fill(0) });
  cases.push({ name: "all 16", row: -1, label: -1, input: new Array<number>(DIGITS_SHAPE.inputs).fill(DIGITS_SHAPE.inputMax) });
  cases.push({ name: "0..16 ramp", row: -1, label: -1, input: Array.from({ length: DIGITS_SHAPE.inputs }, (_, i) => i % (DIGITS_SHAPE.inputMax + 1)) });
  return {
    model: {
      name: "name" in file ? String(file.name) : "",
      weightsSha256: createHash("sha256").update(encodeWeights(model)).digest("hex"),
      weightsTag: weightsTag(model).toString(),
      inputTag: inputTag(model).toString(),
      weightElements: packWeights(model).map(String),
      weightsCommitment: weightsCommitmentWith(poseidon, model).toString(),
    },
    inputs: cases.map((c) => {
      const { logits, output } = infer(model, c.input);
      return {
        ...c,
        inputElements: packInput(c.input, model).map(String),
        inputCommitment: inputCommitmentWith(poseidon, c.input, model).toString(),
        logits: logits.map(String),
        output,
      };
    }),
  };
}

async function main(): Promise<void> {
  const { ProverPool } = await import("../../agents/src/core/prover-pool.js");
  const { proveInference } = await import("../../agents/src/sdk/compute/prove.js");
  const vectors = await computeVectors(await circomlibPoseidon());
  const pool = new ProverPool({ size: 1 });
  try {
    const first = vectors.inputs[0];
    const { calldata } = await proveInference(pool, loadModel(), first.input, VECTOR_JOB_ID, VECTOR_PROVER);
    const proof = {
      input: 0,
      jobId: VECTOR_JOB_ID.toString(),
      prover: VECTOR_PROVER,
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
  process.exit(0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
