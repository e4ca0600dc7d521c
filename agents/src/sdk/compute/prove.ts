/**
 * zk mode of the compute market: the Groth16 proof that `output = model(input)` for a job, made with
 * circuits/digits.circom in the prover pool and checked by DigitsVerifier on chain.
 *
 *   const pool = new ProverPool({ size: 1 });
 *   const { output, calldata } = await proveInference(pool, model, input, jobId, providerAddress);
 *   await market.submitResult(jobId, output, calldata.pA, calldata.pB, calldata.pC);
 *
 * Public inputs, in the verifier's order: [weightsCommitment, inputCommitment, output, jobId, prover]
 * (prover = the provider's address as uint160, the msg.sender of submitResult). The witness carries
 * the input and the model as the commitment limbs of commitment.ts (w + 128, b + 2^31).
 */
import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import { getAddress } from "ethers";
import { artifactPaths } from "../../../../circuits/circuits.js";
import type { Groth16Calldata, Groth16Proof, ProverPool, PublicSignals } from "../../core/prover-pool.js";
import { SNARK_FIELD, circomlibPoseidon } from "../storage/poseidon.js";
import { BIAS_OFFSET, WEIGHT_OFFSET, inputCommitmentWith, weightsCommitmentWith } from "./commitment.js";
import { ComputeInputError, DIGITS_SHAPE, checkModel, infer, sameShape, validateInput, type Model } from "./model.js";

/** The circuit that proves digits-model inferences (CIRCUITS entry, artifacts, DigitsVerifier). */
export const DIGITS_CIRCUIT = "digits";

/** The witness input of circuits/digits.circom (decimal strings). */
export interface InferenceWitnessInput {
  weightsCommitment: string;
  inputCommitment: string;
  outputClass: string;
  jobId: string;
  prover: string;
  x: string[];
  /** W1 + 128, [16][64]. */
  w1: string[][];
  /** b1 + 2^31. */
  b1: string[];
  /** W2 + 128, [10][16]. */
  w2: string[][];
  /** b2 + 2^31. */
  b2: string[];
}

export interface InferenceProof {
  /** The predicted class (public input 2). */
  output: number;
  logits: bigint[];
  weightsCommitment: bigint;
  inputCommitment: bigint;
  /** What DigitsVerifier.verifyProof / ComputeMarket.submitResult take. */
  calldata: Groth16Calldata;
  proof: Groth16Proof;
  publicSignals: PublicSignals;
  /** Witness + proof time inside the prover thread. */
  durationMs: number;
}

/** A job id or prover address as a public input (a uint256 / uint160 below the field modulus). */
function publicScalar(value: bigint | number, what: string, hint: string): bigint {
  const n = BigInt(value);
  if (n < 0n || n >= SNARK_FIELD) throw new ComputeInputError(`${what} ${n} is outside the SNARK field (0 to r - 1, r = ${SNARK_FIELD})`, { hint });
  return n;
}

/** The provider's address as the circuit's `prover` (uint160); accepts a checksummed or lower-case hex address or a number. */
export function proverScalar(prover: string | bigint): bigint {
  if (typeof prover === "bigint") {
    if (prover < 0n || prover >= 1n << 160n) throw new ComputeInputError(`Prover ${prover} is not an address (uint160)`, { hint: "Pass the provider's address" });
    return prover;
  }
  try {
    return BigInt(getAddress(prover));
  } catch (cause) {
    throw new ComputeInputError(`Prover ${JSON.stringify(prover)} is not an address`, { hint: "Pass the provider's 0x-prefixed 20-byte address", cause });
  }
}

/** Whether the digits circuit can prove this model's inferences: exactly its shape (inputs, hidden, outputs, input range). */
export function fitsCircuit(model: Model): boolean {
  return sameShape(model, DIGITS_SHAPE);
}

function checkCircuitShape(model: Model): void {
  checkModel(model);
  if (!fitsCircuit(model)) {
    throw new ComputeInputError(
      `The model's shape ${model.inputs}→${model.hidden}→${model.outputs} (inputs 0..${model.inputMax}) is not the circuit's ` +
        `${DIGITS_SHAPE.inputs}→${DIGITS_SHAPE.hidden}→${DIGITS_SHAPE.outputs} (inputs 0..${DIGITS_SHAPE.inputMax})`,
      { hint: "Only models of the digits circuit's shape can be proven in zk mode; use TEE mode for others" },
    );
  }
}

/**
 * The circuit's witness input for one job, with the inference and both commitments. Validates the
 * model's shape, the input, the job id and the prover address first.
 */
export async function inferenceWitnessInput(
  model: Model,
  input: readonly number[],
  jobId: bigint | number,
  prover: string | bigint,
): Promise<{ witness: InferenceWitnessInput; output: number; logits: bigint[]; weightsCommitment: bigint; inputCommitment: bigint }> {
  checkCircuitShape(model);
  const x = [...input];
  validateInput(model, x);
  const job = publicScalar(jobId, "Job id", "Pass the ComputeMarket job id");
  const proverValue = proverScalar(prover);
  const poseidon = await circomlibPoseidon();
  const weightsCommitment = weightsCommitmentWith(poseidon, model);
  const inputCommitment = inputCommitmentWith(poseidon, x, model);
  const { logits, output } = infer(model, x);
  const weight = (w: number) => (BigInt(w) + WEIGHT_OFFSET).toString();
  const bias = (b: number) => (BigInt(b) + BIAS_OFFSET).toString();
  const witness: InferenceWitnessInput = {
    weightsCommitment: weightsCommitment.toString(),
    inputCommitment: inputCommitment.toString(),
    outputClass: output.toString(),
    jobId: job.toString(),
    prover: proverValue.toString(),
    x: x.map(String),
    w1: model.w1.map((row) => row.map(weight)),
    b1: model.b1.map(bias),
    w2: model.w2.map((row) => row.map(weight)),
    b2: model.b2.map(bias),
  };
  return { witness, output, logits, weightsCommitment, inputCommitment };
}

/** The public signals a valid proof of this job has, as the verifier orders them. */
export function inferencePublicSignals(weightsCommitment: bigint, inputCommitment: bigint, output: number | bigint, jobId: bigint | number, prover: string | bigint): bigint[] {
  return [weightsCommitment, inputCommitment, BigInt(output), BigInt(jobId), proverScalar(prover)];
}

/**
 * Runs the model on `input` and proves it for job `jobId` and provider `prover` in the prover pool.
 * The proof is checked against the public signals it should have before it is returned.
 */
export async function proveInference(
  pool: ProverPool,
  model: Model,
  input: readonly number[],
  jobId: bigint | number,
  prover: string | bigint,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<InferenceProof> {
  const { witness, output, logits, weightsCommitment, inputCommitment } = await inferenceWitnessInput(model, input, jobId, prover);
  const paths = artifactPaths(DIGITS_CIRCUIT);
  const result = await pool.prove({
    wasmPath: paths.wasm,
    zkeyPath: paths.zkey,
    input: witness,
    circuit: DIGITS_CIRCUIT,
    signal: options.signal,
    timeoutMs: options.timeoutMs,
  });
  const expected = inferencePublicSignals(weightsCommitment, inputCommitment, output, BigInt(witness.jobId), BigInt(witness.prover));
  if (result.calldata.pubSignals.length !== expected.length || result.calldata.pubSignals.some((s, i) => s !== expected[i])) {
    throw new Error(`The digits circuit returned public signals [${result.publicSignals.join(", ")}], expected [${expected.join(", ")}]: its artifacts do not match this code`);
  }
  return { output, logits, weightsCommitment, inputCommitment, calldata: result.calldata, proof: result.proof, publicSignals: result.publicSignals, durationMs: result.durationMs };
}

let cachedVkey: unknown;

/** The digits circuit's verification key (circuits/artifacts/digits/verification_key.json). */
export function inferenceVerificationKey(): unknown {
  cachedVkey ??= JSON.parse(readFileSync(artifactPaths(DIGITS_CIRCUIT).vkey, "utf8"));
  return cachedVkey;
}

/**
 * Checks a proof off chain (snarkjs, the committed verification key) for the given public values:
 * true exactly when DigitsVerifier.verifyProof would accept it with them.
 */
export async function verifyInferenceProof(
  proof: Groth16Proof,
  expected: { weightsCommitment: bigint; inputCommitment: bigint; output: number | bigint; jobId: bigint | number; prover: string | bigint },
): Promise<boolean> {
  const signals = inferencePublicSignals(expected.weightsCommitment, expected.inputCommitment, expected.output, expected.jobId, expected.prover);
  if (signals.some((s) => s < 0n || s >= SNARK_FIELD)) return false;
  return snarkjs.groth16.verify(inferenceVerificationKey(), signals.map(String), proof);
}
