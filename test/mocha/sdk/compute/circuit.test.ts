/**
 * The digits circuit against the TypeScript reference (agents/src/sdk/compute):
 * - circuits/lib/mlp.circom's forward pass, compiled with its packed elements and logits as outputs,
 *   gives bit for bit the logits of `infer` and the elements of `packWeights`/`packInput`, on
 *   held-back rows, boundary inputs and models at the ends of every range;
 * - the committed digits circuit accepts the witness `inferenceWitnessInput` builds (its public
 *   signals are the TS commitments, the output, the job and the prover) and rejects another output, a
 *   wrong commitment, and limbs out of range even when the packed element is unchanged.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import * as snarkjs from "snarkjs";
import { ROOT, artifactPaths } from "../../../../circuits/circuits.js";
import { circomlibPoseidon, type PoseidonFn } from "../../../../agents/src/sdk/storage/poseidon.js";
import { DIGITS_SHAPE, infer, loadModel, modelParameters, type Model } from "../../../../agents/src/sdk/compute/model.js";
import { inputTag, packInput, packWeights } from "../../../../agents/src/sdk/compute/commitment.js";
import { inferenceWitnessInput, type InferenceWitnessInput } from "../../../../agents/src/sdk/compute/prove.js";
import { VECTORS_FILE, VECTOR_PROVER, type ComputeVectors } from "../../../vectors/compute-vectors.js";

const paths = artifactPaths("digits");
const LOGIT_SHIFT = 1n << 44n; // MlpForward's logits are shifted by 2^(41 + log2(16) - 1)

interface WitnessCalculator {
  calculateWitness(input: Record<string, unknown>, sanityCheck: boolean): Promise<bigint[]>;
}

/** Where a failed witness stopped: the failing template, then the templates that contain it. */
const FAILS_IN = {
  /** A limb's range check inside PackLimbs (weights, biases, input values below 32). */
  limbRange: /^Error: Assert Failed\. Error in template Num2Bits_\d+ line: \d+\nError in template PackLimbs_/,
  /** The input's upper bound (inMax - x >= 0) in MlpForward. */
  inputMax: /^Error: Assert Failed\. Error in template Num2Bits_\d+ line: \d+\nError in template MlpForward_/,
  /** A margin of ArgmaxIs (or its "exactly one class" check). */
  argmax: /^Error: Assert Failed\. Error in template (Num2Bits_\d+ line: \d+\nError in template )?ArgmaxIs_/,
  /** A commitment check (===) in the main template. */
  commitment: /^Error: Assert Failed\. Error in template MlpInferenceProof_\d+ line: \d+\n$/,
};

/** Computes the witness, expecting the circuit to refuse it; returns snarkjs's message (with the template trace). */
async function witnessFails(input: InferenceWitnessInput | Record<string, unknown>): Promise<string> {
  // circom's witness calculator also prints the trace: keep it out of the test output.
  const saved = console.error;
  console.error = () => {};
  try {
    await snarkjs.wtns.calculate(input as Record<string, unknown>, paths.wasm, { type: "mem" });
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    console.error = saved;
  }
  throw new Error("the witness was computed: the circuit accepted an input it must reject");
}

async function witnessOk(input: InferenceWitnessInput): Promise<void> {
  await snarkjs.wtns.calculate(input as unknown as Record<string, unknown>, paths.wasm, { type: "mem" });
}

/** Every weight `w`, biases b1 and b2. */
function constantModel(w: number, b1: number, b2: number, w2 = w): Model {
  const { inputs, hidden, outputs } = DIGITS_SHAPE;
  return {
    ...DIGITS_SHAPE,
    w1: Array.from({ length: hidden }, () => new Array<number>(inputs).fill(w)),
    b1: new Array<number>(hidden).fill(b1),
    w2: Array.from({ length: outputs }, () => new Array<number>(hidden).fill(w2)),
    b2: new Array<number>(outputs).fill(b2),
  };
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const ALL_16 = new Array<number>(64).fill(16);
const ALL_0 = new Array<number>(64).fill(0);

/** Models at the ends of the ranges, where the ReLU and logit bit widths are tightest. */
const EXTREMES: { name: string; model: Model; input: number[] }[] = [
  { name: "largest pre-activation and logit", model: constantModel(127, INT32_MAX, INT32_MAX), input: ALL_16 },
  { name: "smallest pre-activation", model: constantModel(-128, INT32_MIN, INT32_MIN), input: ALL_16 },
  { name: "largest h, smallest logit", model: constantModel(127, INT32_MAX, INT32_MIN, -128), input: ALL_16 },
  { name: "zero input, biases only", model: constantModel(-128, INT32_MAX, INT32_MIN, -128), input: ALL_0 },
];

describe("compute: digits circuit vs the TypeScript reference", function () {
  this.timeout(300_000);
  let poseidon: PoseidonFn;
  let model: Model;
  let vectors: ComputeVectors;

  before(async () => {
    poseidon = await circomlibPoseidon();
    model = modelParameters(loadModel());
    vectors = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as ComputeVectors;
  });

  after(async () => {
    // snarkjs started its curve threads in this process: end them.
    const curve = (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128;
    if (curve) await curve.terminate();
  });

  describe("MlpForward (circuits/lib/mlp.circom) with its internals as outputs", () => {
    let dir: string;
    let calculator: WitnessCalculator;

    before(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), "daios-mlp-"));
      const source = path.join(dir, "mlp_forward.circom");
      writeFileSync(
        source,
        `pragma circom 2.1.9;\ninclude "mlp.circom";\n` +
          `component main = MlpForward(${DIGITS_SHAPE.inputs}, ${DIGITS_SHAPE.hidden}, ${DIGITS_SHAPE.outputs}, ${DIGITS_SHAPE.inputMax});\n`,
      );
      execFileSync(process.execPath, [path.join(ROOT, "node_modules/circom2/cli.js"), source, "--wasm", "--O2", "-l", path.join(ROOT, "circuits/lib"), "-o", dir], { stdio: "pipe" });
    });

    before(async () => {
      const build = createRequire(import.meta.url)(path.join(dir, "mlp_forward_js", "witness_calculator.js")) as (code: Buffer) => Promise<WitnessCalculator>;
      calculator = await build(readFileSync(path.join(dir, "mlp_forward_js", "mlp_forward.wasm")));
    });

    after(() => rmSync(dir, { recursive: true, force: true }));

    /** The circuit's outputs: [inputElements(2), weightElements(43), logits(10) unshifted]. */
    async function forward(m: Model, x: number[]): Promise<{ inputElements: bigint[]; weightElements: bigint[]; logits: bigint[] }> {
      const { witness } = await inferenceWitnessInput(m, x, 1n, 1n);
      const w = await calculator.calculateWitness({ x: witness.x, w1: witness.w1, b1: witness.b1, w2: witness.w2, b2: witness.b2 }, true);
      return { inputElements: w.slice(1, 3), weightElements: w.slice(3, 46), logits: w.slice(46, 56).map((v) => v - LOGIT_SHIFT) };
    }

    it("gives the logits and packed elements of the TS reference on every vector input", async () => {
      const weightElements = packWeights(model);
      for (const v of vectors.inputs) {
        const out = await forward(model, v.input);
        expect(out.logits, v.name).to.deep.equal(infer(model, v.input).logits);
        expect(out.logits.map(String), v.name).to.deep.equal(v.logits);
        expect(out.inputElements, v.name).to.deep.equal(packInput(v.input));
        expect(out.weightElements).to.deep.equal(weightElements);
      }
    });

    it("agrees at the ends of every range (weights ±, biases int32 min/max, inputs 0 and 16)", async () => {
      for (const { name, model: m, input } of EXTREMES) {
        const out = await forward(m, input);
        expect(out.logits, name).to.deep.equal(infer(m, input).logits);
        expect(out.weightElements, name).to.deep.equal(packWeights(m));
      }
    });
  });

  describe("digits.circom (committed artifacts)", () => {
    it("accepts the TS witness; its public signals are the commitments, output, job and prover", async () => {
      for (const v of vectors.inputs) {
        const { witness, output } = await inferenceWitnessInput(model, v.input, 7n, VECTOR_PROVER);
        expect(witness.weightsCommitment).to.equal(vectors.model.weightsCommitment);
        expect(witness.inputCommitment).to.equal(v.inputCommitment);
        expect(output).to.equal(v.output);
        expect(witness.prover).to.equal(BigInt(VECTOR_PROVER).toString());
        await witnessOk(witness);
      }
    });

    it("accepts boundary models and a job id / prover at the field's edge", async () => {
      for (const { model: m, input } of EXTREMES) {
        await witnessOk((await inferenceWitnessInput(m, input, 0n, 0n)).witness);
      }
      const r = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
      await witnessOk((await inferenceWitnessInput(model, ALL_0, r - 1n, (1n << 160n) - 1n)).witness);
    });

    it("rejects every other output class, and 10", async () => {
      const { witness, output } = await inferenceWitnessInput(model, vectors.inputs[0].input, 1n, VECTOR_PROVER);
      for (let k = 0; k <= 10; k++) {
        if (k === output) continue;
        expect(await witnessFails({ ...witness, outputClass: String(k) }), `class ${k}`).to.match(FAILS_IN.argmax);
      }
    });

    it("takes the lowest index of a tie and rejects a higher one", async () => {
      const tie = constantModel(0, 0, 5);
      tie.b2[3] = 9;
      tie.b2[7] = 9;
      const { witness, output } = await inferenceWitnessInput(tie, ALL_16, 1n, 1n);
      expect(output).to.equal(3);
      await witnessOk(witness);
      expect(await witnessFails({ ...witness, outputClass: "7" })).to.match(FAILS_IN.argmax);
    });

    it("rejects another weights commitment or input commitment", async () => {
      const { witness } = await inferenceWitnessInput(model, vectors.inputs[0].input, 1n, VECTOR_PROVER);
      expect(await witnessFails({ ...witness, weightsCommitment: (BigInt(witness.weightsCommitment) + 1n).toString() })).to.match(FAILS_IN.commitment);
      expect(await witnessFails({ ...witness, inputCommitment: vectors.inputs[1].inputCommitment })).to.match(FAILS_IN.commitment);
      // another model's weights under this model's commitment
      const other = (await inferenceWitnessInput(constantModel(1, 0, 0), vectors.inputs[0].input, 1n, VECTOR_PROVER)).witness;
      expect(await witnessFails({ ...other, weightsCommitment: witness.weightsCommitment })).to.match(FAILS_IN.commitment);
    });

    it("rejects a weight limb out of range even when the packed element (and so the commitment) is unchanged", async () => {
      const { witness } = await inferenceWitnessInput(model, vectors.inputs[0].input, 1n, VECTOR_PROVER);
      // limb 0 + 256 and limb 1 - 1 pack to the same element
      const w1 = witness.w1.map((row) => [...row]);
      expect(BigInt(w1[0][1])).to.be.greaterThan(0n);
      w1[0][0] = (BigInt(w1[0][0]) + 256n).toString();
      w1[0][1] = (BigInt(w1[0][1]) - 1n).toString();
      expect(await witnessFails({ ...witness, w1 })).to.match(FAILS_IN.limbRange);
      // a negative limb (w < -128)
      const w2 = witness.w2.map((row) => [...row]);
      w2[9][15] = (BigInt(w2[9][15]) - 256n).toString();
      expect(await witnessFails({ ...witness, w2 })).to.match(FAILS_IN.limbRange);
    });

    it("rejects a bias limb out of range with the same packed element", async () => {
      const { witness } = await inferenceWitnessInput(model, vectors.inputs[0].input, 1n, VECTOR_PROVER);
      const b1 = [...witness.b1];
      b1[0] = (BigInt(b1[0]) + (1n << 32n)).toString();
      b1[1] = (BigInt(b1[1]) - 1n).toString();
      expect(await witnessFails({ ...witness, b1 })).to.match(FAILS_IN.limbRange);
    });

    it("rejects input values above 16, even under their own correct commitment", async () => {
      const { witness } = await inferenceWitnessInput(model, ALL_0, 1n, VECTOR_PROVER);
      const commit = (x: bigint[]) => {
        const e0 = x.slice(0, 50).reduce((acc, v, t) => acc + (v << BigInt(5 * t)), 0n);
        const e1 = x.slice(50).reduce((acc, v, t) => acc + (v << BigInt(5 * t)), 0n);
        return poseidon([inputTag(DIGITS_SHAPE), e0, e1]).toString();
      };
      for (const [index, value] of [[0, 17n], [63, 31n]] as const) {
        const x = ALL_0.map(BigInt);
        x[index] = value;
        const input = { ...witness, x: x.map(String), inputCommitment: commit(x) };
        for (let k = 0; k < 10; k++) expect(await witnessFails({ ...input, outputClass: String(k) }), `x[${index}] = ${value}, class ${k}`).to.match(FAILS_IN.inputMax);
      }
      // 32 in limb 0 and -1 in limb 1: the same element as x = [0, 1, 0, …] but limbs out of range
      const x = ALL_0.map(String);
      x[0] = "32";
      x[1] = (-1n).toString();
      const same = await inferenceWitnessInput(model, [0, 1, ...ALL_0.slice(2)], 1n, VECTOR_PROVER);
      expect(await witnessFails({ ...same.witness, x })).to.match(FAILS_IN.limbRange);
    });
  });
});
