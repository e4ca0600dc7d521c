/**
 * The digits model and its files: training reproduces the committed model.json and digits.weights,
 * the two agree with each other and with their recorded hashes, commitment and accuracy; the weights
 * encoding round-trips and rejects malformed files; input files are parsed in every documented layout
 * and bad inputs are rejected with a message that says what is wrong; the compute vectors are fresh.
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { circomlibPoseidon, type PoseidonFn } from "../../../../agents/src/sdk/storage/poseidon.js";
import {
  ComputeInputError,
  DIGITS_DATASET_FILE,
  DIGITS_MODEL_FILE,
  DIGITS_SHAPE,
  DIGITS_WEIGHTS_FILE,
  ModelFormatError,
  decodeWeights,
  encodeWeights,
  infer,
  inputBytes,
  inputFromBytes,
  loadModel,
  modelParameters,
  parseInputFile,
  validateInput,
  type Model,
  type ModelFile,
} from "../../../../agents/src/sdk/compute/model.js";
import {
  inputCommitment,
  inputCommitmentWith,
  packInput,
  packWeights,
  weightsCommitment,
  weightsCommitmentWith,
} from "../../../../agents/src/sdk/compute/commitment.js";
import { integerAccuracy, loadDataset, stratifiedSplit, trainDigits } from "../../../../agents/src/tools/train-digits.js";
import { VECTORS_FILE, computeVectors } from "../../../vectors/compute-vectors.js";

const STALE = "the committed model is stale: run `npm run train` and commit agents/models/digits";

/** Runs `fn`, expects a ComputeInputError whose message matches every pattern, returns it. */
function inputError(fn: () => unknown, ...patterns: RegExp[]): ComputeInputError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, "expected a ComputeInputError").to.be.instanceOf(ComputeInputError);
  for (const pattern of patterns) expect((error as Error).message).to.match(pattern);
  return error as ComputeInputError;
}

function formatError(fn: () => unknown, pattern: RegExp): void {
  expect(fn).to.throw(ModelFormatError, pattern);
}

/** A model of the digits shape with every weight `w` and every bias `b`. */
function constantModel(w: number, b1: number, b2: number): Model {
  const { inputs, hidden, outputs } = DIGITS_SHAPE;
  return {
    ...DIGITS_SHAPE,
    w1: Array.from({ length: hidden }, () => new Array<number>(inputs).fill(w)),
    b1: new Array<number>(hidden).fill(b1),
    w2: Array.from({ length: outputs }, () => new Array<number>(hidden).fill(w)),
    b2: new Array<number>(outputs).fill(b2),
  };
}

describe("compute: the digits model", function () {
  this.timeout(120_000);
  let file: ModelFile;
  let model: Model;
  let poseidon: PoseidonFn;
  const sample = () => loadDataset().x[0];

  before(async () => {
    file = loadModel() as ModelFile;
    model = modelParameters(file);
    poseidon = await circomlibPoseidon();
  });

  describe("files", () => {
    it("training reproduces model.json and digits.weights byte for byte", async () => {
      const { json, weights } = await trainDigits();
      expect(json, STALE).to.equal(readFileSync(DIGITS_MODEL_FILE, "utf8"));
      expect(Buffer.from(weights).equals(readFileSync(DIGITS_WEIGHTS_FILE)), STALE).to.equal(true);
    });

    it("digits.weights decodes to model.json's numbers and is their canonical encoding", () => {
      const bytes = readFileSync(DIGITS_WEIGHTS_FILE);
      expect(decodeWeights(bytes)).to.deep.equal(model);
      expect(Buffer.from(encodeWeights(model)).equals(bytes)).to.equal(true);
      expect(bytes.length).to.equal(1301);
      expect(loadModel(DIGITS_WEIGHTS_FILE)).to.deep.equal(model);
    });

    it("records the dataset's and the weights file's hashes and the weights commitment", async () => {
      const meta = file.meta as { dataset: { sha256: string; rows: number }; weightsSha256: string; weightsCommitment: string };
      expect(meta.dataset.sha256).to.equal(createHash("sha256").update(readFileSync(DIGITS_DATASET_FILE)).digest("hex"));
      expect(meta.dataset.rows).to.equal(1797);
      expect(meta.weightsSha256).to.equal(createHash("sha256").update(readFileSync(DIGITS_WEIGHTS_FILE)).digest("hex"));
      expect(meta.weightsCommitment).to.equal((await weightsCommitment(model)).toString());
    });

    it("reaches the recorded held-back accuracy (at least 94 %) with the integer inference", () => {
      const data = loadDataset();
      const { train, heldBack } = stratifiedSplit(data.y);
      expect(train.length + heldBack.length).to.equal(1797);
      expect(new Set([...train, ...heldBack]).size, "the splits do not overlap").to.equal(1797);
      const accuracy = integerAccuracy(model, data, heldBack);
      const meta = file.meta as { accuracy: { quantised: { heldBack: number } } };
      // Hardhat's chai matchers turn the arguments of closeTo/least into bigints, so fractions are
      // compared here as plain numbers.
      const recorded = meta.accuracy.quantised.heldBack;
      expect(Math.abs(accuracy - recorded) < 1e-6, `accuracy ${accuracy}, recorded ${recorded}`).to.equal(true);
      expect(accuracy >= 0.94, `accuracy ${accuracy} is below 94 %`).to.equal(true);
    });

    it("is stratified: every class is held back in proportion", () => {
      const data = loadDataset();
      const { heldBack } = stratifiedSplit(data.y);
      for (let label = 0; label < 10; label++) {
        const all = data.y.filter((y) => y === label).length;
        const held = heldBack.filter((row) => data.y[row] === label).length;
        expect(held).to.equal(Math.round(all * 0.2));
      }
    });
  });

  describe("weights encoding", () => {
    it("round-trips the extreme values of every field", () => {
      for (const m of [constantModel(-128, -(2 ** 31), 2 ** 31 - 1), constantModel(127, 2 ** 31 - 1, -(2 ** 31)), constantModel(0, 0, 0)]) {
        expect(decodeWeights(encodeWeights(m))).to.deep.equal(m);
      }
    });

    it("rejects a file that is not exactly one canonical encoding", () => {
      const bytes = Buffer.from(readFileSync(DIGITS_WEIGHTS_FILE));
      formatError(() => decodeWeights(Buffer.from("not a weights file")), /does not start with "DMLP"/);
      formatError(() => decodeWeights(bytes.subarray(0, bytes.length - 1)), /1300 bytes.*needs exactly 1301/);
      formatError(() => decodeWeights(Buffer.concat([bytes, Buffer.of(0)])), /1302 bytes.*needs exactly 1301/);
      const version = Buffer.from(bytes);
      version[4] = 2;
      formatError(() => decodeWeights(version), /version 2 is not supported/);
    });

    it("rejects a model with a weight or bias out of range", () => {
      const m = constantModel(1, 0, 0);
      m.w2[3][4] = 128;
      formatError(() => encodeWeights(m), /w2\[3\]\[4\] is 128, not an int8/);
      const n = constantModel(1, 0, 0);
      n.b1[2] = 2 ** 31;
      formatError(() => encodeWeights(n), /b1\[2\] is 2147483648, not an int32/);
      const o = constantModel(1, 0, 0);
      o.w1[0][0] = 0.5;
      formatError(() => encodeWeights(o), /w1\[0\]\[0\] is 0.5/);
    });
  });

  describe("inference", () => {
    it("matches the vectors' logits for held-back rows", () => {
      const vectors = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as { inputs: { input: number[]; logits: string[]; output: number }[] };
      for (const v of vectors.inputs) {
        const { logits, output } = infer(model, v.input);
        expect(logits.map(String)).to.deep.equal(v.logits);
        expect(output).to.equal(v.output);
      }
    });

    it("breaks a tie by the lowest index", () => {
      const m = constantModel(0, 0, 5);
      expect(infer(m, sample()).output).to.equal(0);
      m.b2[3] = 9;
      m.b2[7] = 9;
      expect(infer(m, sample())).to.deep.equal({ logits: [5n, 5n, 5n, 9n, 5n, 5n, 5n, 9n, 5n, 5n], output: 3 });
    });

    it("computes the extreme logits exactly (beyond 2^32)", () => {
      const big = constantModel(127, 2 ** 31 - 1, 2 ** 31 - 1);
      const h = 2n ** 31n - 1n + 64n * 127n * 16n;
      expect(infer(big, new Array<number>(64).fill(16)).logits[0]).to.equal(2n ** 31n - 1n + 16n * 127n * h);
      const negative = constantModel(127, 2 ** 31 - 1, -(2 ** 31));
      negative.w2 = negative.w2.map((row) => row.map(() => -128));
      expect(infer(negative, new Array<number>(64).fill(16)).logits[9]).to.equal(-(2n ** 31n) - 16n * 128n * h);
    });
  });

  describe("input files", () => {
    const x = Array.from({ length: 64 }, (_, i) => i % 17);

    it("reads a JSON array, a JSON 8×8 array, a CSV line and 8 lines of 8", () => {
      expect(parseInputFile(JSON.stringify(x))).to.deep.equal(x);
      const rows = Array.from({ length: 8 }, (_, r) => x.slice(r * 8, r * 8 + 8));
      expect(parseInputFile(JSON.stringify(rows))).to.deep.equal(x);
      expect(parseInputFile(`${x.join(",")}\n`)).to.deep.equal(x);
      expect(parseInputFile(rows.map((r) => r.join(" ")).join("\n"))).to.deep.equal(x);
      expect(parseInputFile(new TextEncoder().encode(rows.map((r) => r.join(", ")).join("\r\n")))).to.deep.equal(x);
    });

    it("says what is wrong with a bad file", () => {
      inputError(() => parseInputFile(""), /input file is empty/);
      inputError(() => parseInputFile(Uint8Array.of(0xff, 0xfe, 0x00)), /not UTF-8 text/);
      inputError(() => parseInputFile("[1, 2,"), /not valid JSON/);
      inputError(() => parseInputFile(`${[...x, 3].join(",")}`), /65 values; the model takes 64/, /label as its last value/);
      inputError(() => parseInputFile(x.slice(0, 63).join(",")), /63 values; the model takes 64/);
      inputError(() => parseInputFile(Array.from({ length: 7 }, () => "0 0 0 0 0 0 0 0").join("\n")), /7 lines/, /8 lines of 8/);
      const bad = [...x];
      bad[12] = 17;
      const e = inputError(() => parseInputFile(bad.join(",")), /Input value 12 \(row 2, column 5\) is 17, out of range/, /from 0 to 16/);
      expect(e.position).to.equal(12);
      inputError(() => parseInputFile(x.join(",").replace(/^0,1,/, "0,1.5,")), /Input value 1 .* is "1.5", not a whole number/);
      inputError(() => parseInputFile(x.join(",").replace(/^0,/, "-1,")), /Input value 0 .* is -1, out of range/);
      inputError(() => parseInputFile(JSON.stringify(x.map((v, i) => (i === 5 ? "5" : v)))), /Input value 5 .* is the text "5", not a whole number/);
    });

    it("validates in-memory inputs too", () => {
      inputError(() => validateInput(DIGITS_SHAPE, "0,1,2"), /must be a list of 64 whole numbers, not the text/);
      inputError(() => validateInput(DIGITS_SHAPE, { length: 64 }), /not an object/);
      inputError(() => validateInput(DIGITS_SHAPE, x.map((v, i) => (i === 63 ? 2.5 : v))), /Input value 63 \(row 8, column 8\) is 2.5, not a whole number/);
      inputError(() => validateInput(DIGITS_SHAPE, x.map((v, i) => (i === 0 ? Number.NaN : v))), /is NaN, not a whole number/);
      inputError(() => infer(model, x.slice(1)), /63 values/);
    });

    it("converts to and from the inline job input (one byte per value)", () => {
      expect(inputFromBytes(DIGITS_SHAPE, inputBytes(DIGITS_SHAPE, x))).to.deep.equal(x);
      inputError(() => inputFromBytes(DIGITS_SHAPE, new Uint8Array(64).fill(200)), /is 200, out of range/);
    });
  });

  describe("commitments", () => {
    it("pack weights as w + 128 in 8-bit limbs, 31 per element, then biases as b + 2^31, 7 per element", () => {
      const low = packWeights(constantModel(-128, -(2 ** 31), -(2 ** 31)));
      expect(low).to.have.length(43);
      expect(low.every((e) => e === 0n)).to.equal(true);
      const high = packWeights(constantModel(127, 2 ** 31 - 1, 2 ** 31 - 1));
      expect(high[0]).to.equal(2n ** 248n - 1n);
      expect(high[38]).to.equal(2n ** (8n * BigInt(1184 - 38 * 31)) - 1n); // the last weight element holds 6 limbs
      expect(high[39]).to.equal(2n ** 224n - 1n);
      expect(high[42]).to.equal(2n ** (32n * 5n) - 1n); // 26 biases = 3 full elements + 5
      const one = constantModel(0, 0, 0);
      one.w1[0][1] = 1; // limb 1 of element 0
      one.b2[9] = -1; // the last limb of the last element: 2^31 - 1
      const packed = packWeights(one);
      expect(packed[0] - packWeights(constantModel(0, 0, 0))[0]).to.equal(1n << 8n);
      expect(packed[42]).to.equal([0, 1, 2, 3].reduce((acc, t) => acc + (2n ** 31n << (32n * BigInt(t))), 0n) + ((2n ** 31n - 1n) << 128n));
    });

    it("pack an input in 5-bit limbs, 50 per element", () => {
      const x = new Array<number>(64).fill(0);
      x[0] = 16;
      x[49] = 1;
      x[50] = 3;
      x[63] = 16;
      expect(packInput(x)).to.deep.equal([16n + (1n << 245n), 3n + (16n << 65n)]);
    });

    it("agree between the async and the synchronous API and with the vectors", async () => {
      const vectors = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as { model: { weightsCommitment: string }; inputs: { input: number[]; inputCommitment: string }[] };
      expect((await weightsCommitment(model)).toString()).to.equal(vectors.model.weightsCommitment);
      expect(weightsCommitmentWith(poseidon, model).toString()).to.equal(vectors.model.weightsCommitment);
      const [first] = vectors.inputs;
      expect((await inputCommitment(first.input)).toString()).to.equal(first.inputCommitment);
      expect(inputCommitmentWith(poseidon, first.input).toString()).to.equal(first.inputCommitment);
    });

    it("change with any weight, bias or input value", () => {
      const base = weightsCommitmentWith(poseidon, model);
      const changed = modelParameters(structuredClone(model));
      changed.w2[9][15] += changed.w2[9][15] === 127 ? -1 : 1;
      expect(weightsCommitmentWith(poseidon, changed)).to.not.equal(base);
      const bias = structuredClone(model);
      bias.b1[0] += 1;
      expect(weightsCommitmentWith(poseidon, bias)).to.not.equal(base);
      const x = sample();
      const y = [...x];
      y[63] = y[63] === 16 ? 15 : y[63] + 1;
      expect(inputCommitmentWith(poseidon, x)).to.not.equal(inputCommitmentWith(poseidon, y));
    });

    it("reject an input the model cannot take", async () => {
      const x = sample();
      inputError(() => inputCommitmentWith(poseidon, x.slice(0, 10)), /10 values; the model takes 64/);
      inputError(() => inputCommitmentWith(poseidon, x.map((v, i) => (i === 3 ? 31 : v))), /Input value 3 .* is 31, out of range/);
      let rejected: unknown;
      await inputCommitment([...x, 0]).catch((e: unknown) => (rejected = e));
      expect(rejected).to.be.instanceOf(ComputeInputError);
    });
  });

  describe("vectors", () => {
    it("test/vectors/compute.json matches the TypeScript reference", async () => {
      const committed = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as Record<string, unknown>;
      const fresh = await computeVectors(poseidon);
      expect({ model: committed.model, inputs: committed.inputs }, "run `npx tsx test/vectors/compute-vectors.ts`").to.deep.equal(JSON.parse(JSON.stringify(fresh)));
    });
  });
});
