/**
 * Proving an inference in the prover pool: the proof verifies off chain with the committed key for
 * exactly its public inputs (and not for another job, provider, output, model or input, nor when a
 * proof point changes); the proof in test/vectors/compute.json verifies too; bad requests are refused
 * before any proving with a message that says what is wrong.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import { ProverPool, type Groth16Proof } from "../../../../agents/src/core/prover-pool.js";
import { SNARK_FIELD } from "../../../../agents/src/sdk/storage/poseidon.js";
import { ComputeInputError, infer, loadModel, modelParameters, type Model } from "../../../../agents/src/sdk/compute/model.js";
import { inputCommitment, weightsCommitment } from "../../../../agents/src/sdk/compute/commitment.js";
import {
  inferenceVerificationKey,
  proveInference,
  proverScalar,
  verifyInferenceProof,
  type InferenceProof,
} from "../../../../agents/src/sdk/compute/prove.js";
import { expectRejects } from "../../../helpers/expect.js";
import { VECTORS_FILE, VECTOR_PROVER, type ComputeVectors } from "../../../vectors/compute-vectors.js";

const PROVIDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const OTHER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

describe("compute: proving an inference", function () {
  this.timeout(300_000);
  let pool: ProverPool;
  let model: Model;
  let vectors: ComputeVectors;
  let input: number[];
  let result: InferenceProof;
  const jobId = 42n;

  before(async () => {
    pool = new ProverPool({ size: 1 });
    model = modelParameters(loadModel());
    vectors = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as ComputeVectors;
    input = vectors.inputs[2].input;
    result = await proveInference(pool, model, input, jobId, PROVIDER);
  });

  after(async () => {
    await pool.close();
    const curve = (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128;
    if (curve) await curve.terminate();
  });

  const expected = () => ({
    weightsCommitment: result.weightsCommitment,
    inputCommitment: result.inputCommitment,
    output: result.output,
    jobId,
    prover: PROVIDER,
  });

  it("returns the inference and the calldata with the public inputs in the verifier's order", async () => {
    const { logits, output } = infer(model, input);
    expect(result.output).to.equal(output);
    expect(result.logits).to.deep.equal(logits);
    expect(result.weightsCommitment).to.equal(await weightsCommitment(model));
    expect(result.inputCommitment).to.equal(await inputCommitment(input));
    expect(result.calldata.pubSignals).to.deep.equal([result.weightsCommitment, result.inputCommitment, BigInt(output), jobId, BigInt(PROVIDER)]);
    expect(result.publicSignals).to.deep.equal(result.calldata.pubSignals.map(String));
  });

  it("verifies off chain for its own public inputs only", async () => {
    expect(await verifyInferenceProof(result.proof, expected())).to.equal(true);
    expect(await verifyInferenceProof(result.proof, { ...expected(), jobId: jobId + 1n }), "another job").to.equal(false);
    expect(await verifyInferenceProof(result.proof, { ...expected(), prover: OTHER }), "another provider").to.equal(false);
    expect(await verifyInferenceProof(result.proof, { ...expected(), output: (result.output + 1) % 10 }), "another output").to.equal(false);
    expect(await verifyInferenceProof(result.proof, { ...expected(), weightsCommitment: result.weightsCommitment + 1n }), "another model").to.equal(false);
    expect(await verifyInferenceProof(result.proof, { ...expected(), inputCommitment: BigInt(vectors.inputs[0].inputCommitment) }), "another input").to.equal(false);
    expect(await verifyInferenceProof(result.proof, { ...expected(), jobId: jobId + SNARK_FIELD }), "an alias above the field").to.equal(false);
  });

  it("fails to verify when a proof point is changed", async () => {
    const swapped: Groth16Proof = { ...result.proof, pi_a: result.proof.pi_c, pi_c: result.proof.pi_a };
    expect(await verifyInferenceProof(swapped, expected())).to.equal(false);
    const other = await proveInference(pool, model, input, jobId, OTHER);
    const mixed: Groth16Proof = { ...result.proof, pi_c: other.proof.pi_c };
    expect(await verifyInferenceProof(mixed, expected())).to.equal(false);
    expect(await verifyInferenceProof(other.proof, { ...expected(), prover: OTHER })).to.equal(true);
  });

  it("the vector proof (job 1, the vector prover) verifies with the committed key", async () => {
    const p = (vectors as ComputeVectors & { proof: { pA: string[]; pB: string[][]; pC: string[]; pubSignals: string[]; jobId: string; prover: string; input: number } }).proof;
    const proof: Groth16Proof = {
      pi_a: [...p.pA, "1"],
      // calldata has each G2 coordinate pair as (imaginary, real); snarkjs as (real, imaginary)
      pi_b: [[p.pB[0][1], p.pB[0][0]], [p.pB[1][1], p.pB[1][0]], ["1", "0"]],
      pi_c: [...p.pC, "1"],
      protocol: "groth16",
      curve: "bn128",
    };
    expect(await snarkjs.groth16.verify(inferenceVerificationKey(), p.pubSignals, proof)).to.equal(true);
    const v = vectors.inputs[p.input];
    expect(p.pubSignals).to.deep.equal([vectors.model.weightsCommitment, v.inputCommitment, String(v.output), "1", BigInt(VECTOR_PROVER).toString()]);
    const fields = { weightsCommitment: BigInt(vectors.model.weightsCommitment), inputCommitment: BigInt(v.inputCommitment), output: v.output, jobId: 1n, prover: p.prover };
    expect(await verifyInferenceProof(proof, fields)).to.equal(true);
    expect(await verifyInferenceProof(proof, { ...fields, jobId: 2n })).to.equal(false);
  });

  describe("refuses a bad request before proving", () => {
    it("an input the model cannot take", async () => {
      const bad = [...input];
      bad[10] = 17;
      const error = await expectRejects(proveInference(pool, model, bad, jobId, PROVIDER), /Input value 10 \(row 2, column 3\) is 17, out of range/);
      expect(error).to.be.instanceOf(ComputeInputError);
      await expectRejects(proveInference(pool, model, input.slice(1), jobId, PROVIDER), /63 values; the model takes 64/);
    });

    it("a model of another shape", async () => {
      const small: Model = { ...model, hidden: 8, w1: model.w1.slice(0, 8), b1: model.b1.slice(0, 8), w2: model.w2.map((row) => row.slice(0, 8)) };
      await expectRejects(proveInference(pool, small, input, jobId, PROVIDER), /shape 64→8→10 .* is not the circuit's 64→16→10.*use TEE mode/);
    });

    it("a prover that is not an address, a job id outside the field", async () => {
      await expectRejects(proveInference(pool, model, input, jobId, "0x1234"), /Prover "0x1234" is not an address/);
      await expectRejects(proveInference(pool, model, input, jobId, 1n << 160n), /is not an address \(uint160\)/);
      await expectRejects(proveInference(pool, model, input, SNARK_FIELD, PROVIDER), /Job id \d+ is outside the SNARK field/);
      await expectRejects(proveInference(pool, model, input, -1n, PROVIDER), /Job id -1 is outside the SNARK field/);
      expect(proverScalar(PROVIDER.toLowerCase())).to.equal(BigInt(PROVIDER));
    });
  });
});
