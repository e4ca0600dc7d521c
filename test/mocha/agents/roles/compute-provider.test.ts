/**
 * The compute-provider's checks before it claims a job, on the shipped digits model: its configuration;
 * the weights file fetched by root, checked against the registered size and commitment and cached on
 * disk; the job's input (inline or by root) checked against the model and the job's commitment; the
 * result file is the same bytes every time. No chain needed: the storage download is a local copy.
 */
import { expect } from "chai";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../../../agents/src/core/config.js";
import { ConfigError } from "../../../../agents/src/core/errors.js";
import { circomlibPoseidon, type PoseidonFn } from "../../../../agents/src/sdk/storage/poseidon.js";
import { DIGITS_WEIGHTS_FILE, decodeWeights, encodeWeights, infer, type Model } from "../../../../agents/src/sdk/compute/model.js";
import { inputCommitmentWith, weightsCommitmentWith } from "../../../../agents/src/sdk/compute/commitment.js";
import { fitsCircuit } from "../../../../agents/src/sdk/compute/prove.js";
import { checkComputeProviderConfig, computeProviderSchema, servesModel } from "../../../../agents/src/roles/compute-provider/config.js";
import { WeightsMismatchError, WeightsStore, type RegisteredWeights } from "../../../../agents/src/roles/compute-provider/weights.js";
import { InputLoader, InputRefusedError } from "../../../../agents/src/roles/compute-provider/inputs.js";
import { encodeResultFile, resultFile, RESULT_FORMAT } from "../../../../agents/src/roles/compute-provider/result-file.js";
import { expectRejects } from "../../../helpers/expect.js";

const KEY = `0x${"11".repeat(32)}`;
const OTHER_KEY = `0x${"22".repeat(32)}`;
const ROOT = 0x1234n;
const INPUT_ROOT = 0x5678n;
/** A digit from the dataset (row 0 of digits.csv without its label). */
const DIGIT = [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12, 0, 0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0];

describe("compute-provider", function () {
  this.timeout(60_000);
  let poseidon: PoseidonFn;
  let dir: string;
  let bytes: Buffer;
  let model: Model;
  let registered: RegisteredWeights;

  before(async () => {
    poseidon = await circomlibPoseidon();
    bytes = await readFile(DIGITS_WEIGHTS_FILE);
    model = decodeWeights(bytes);
    registered = { modelId: 1n, weightsRoot: ROOT, weightsSize: BigInt(bytes.length), weightsCommitment: weightsCommitmentWith(poseidon, model) };
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "daios-compute-provider-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe("configuration", () => {
    const load = (env: Record<string, string>) => loadConfig({ env: { PRIVATE_KEY: KEY, ...env }, role: computeProviderSchema });

    it("defaults: every model, no enclave, zk only", () => {
      const config = load({});
      expect(config.role.models).to.deep.equal({ kind: "all" });
      expect(config.role.teeKey).to.equal(undefined);
      expect(config.role.stake).to.equal("100");
      expect(servesModel(config.role.models, 7n)).to.equal(true);
    });

    it("COMPUTE_MODELS takes ids and serves only those", () => {
      const config = load({ COMPUTE_MODELS: "3, 1,3" });
      expect(config.role.models).to.deep.equal({ kind: "ids", ids: [3n, 1n] });
      expect(servesModel(config.role.models, 1n)).to.equal(true);
      expect(servesModel(config.role.models, 2n)).to.equal(false);
    });

    it("names every bad value, and never prints the enclave key", () => {
      let error: unknown;
      try {
        load({ COMPUTE_MODELS: "1,x", COMPUTE_TEE_KEY: "0x12", COMPUTE_STAKE: "-5", COMPUTE_MIN_TIME_LEFT_SEC: "0" });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).to.match(/COMPUTE_MODELS="1,x" has "x", which is not a model id/);
      expect(message).to.match(/COMPUTE_TEE_KEY=<redacted, 4 characters>/);
      expect(message).to.match(/COMPUTE_STAKE="-5" is not valid/);
      expect(message).to.match(/COMPUTE_MIN_TIME_LEFT_SEC="0" is out of range/);
    });

    it("refuses an enclave key equal to the account key", () => {
      expect(() => checkComputeProviderConfig(load({ COMPUTE_TEE_KEY: KEY }))).to.throw(ConfigError, /COMPUTE_TEE_KEY is the account's PRIVATE_KEY/);
      expect(() => checkComputeProviderConfig(load({ COMPUTE_TEE_KEY: OTHER_KEY }))).to.not.throw();
    });
  });

  describe("weights", () => {
    const store = (fetchFrom: string | ((root: bigint, out: string) => Promise<void>), fetched: bigint[] = []) =>
      new WeightsStore({
        dir,
        poseidon,
        fetch: async (root, out) => {
          fetched.push(root);
          if (typeof fetchFrom === "string") await copyFile(fetchFrom, out);
          else await fetchFrom(root, out);
        },
      });

    it("fetches once, checks the commitment, and serves later loads from memory and from disk", async () => {
      const fetched: bigint[] = [];
      const first = store(DIGITS_WEIGHTS_FILE, fetched);
      const loaded = await first.load(registered);
      expect(encodeWeights(loaded)).to.deep.equal(new Uint8Array(bytes));
      await first.load(registered);
      expect(fetched).to.deep.equal([ROOT]);
      // A new process: the copy on disk is used (and checked again), nothing fetched.
      const again = store(DIGITS_WEIGHTS_FILE, fetched);
      expect(infer(await again.load(registered), DIGIT)).to.deep.equal(infer(model, DIGIT));
      expect(fetched).to.deep.equal([ROOT]);
    });

    it("refuses weights whose commitment is not the registered one, and remembers it", async () => {
      const fetched: bigint[] = [];
      const s = store(DIGITS_WEIGHTS_FILE, fetched);
      const wrong = { ...registered, weightsCommitment: registered.weightsCommitment + 1n };
      await expectRejects(s.load(wrong), /has weights commitment \d+, but the registry records \d+/);
      await expectRejects(s.load(wrong), /but the registry records/);
      expect(fetched).to.have.length(1);
      const error = await s.load(wrong).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(WeightsMismatchError);
    });

    it("refuses a file of the wrong size or not a weights file", async () => {
      await expectRejects(store(DIGITS_WEIGHTS_FILE).load({ ...registered, weightsSize: registered.weightsSize + 1n }), /has 1301 bytes, but the registry records 1302/);
      const junk = path.join(dir, "junk.bin");
      await writeFile(junk, Buffer.alloc(bytes.length, 7));
      await expectRejects(store(junk).load(registered), /is not a valid weights file/);
    });

    it("fetches again over a damaged cached copy", async () => {
      const fetched: bigint[] = [];
      const s = store(DIGITS_WEIGHTS_FILE, fetched);
      const damaged = Buffer.from(bytes);
      damaged[100] ^= 1;
      await writeFile(s.pathOf(ROOT), damaged);
      await s.load(registered);
      expect(fetched).to.deep.equal([ROOT]);
      expect(await readFile(s.pathOf(ROOT))).to.deep.equal(bytes);
    });

    it("a failed fetch is a transient error (retried), not a refusal", async () => {
      const s = store(async () => {
        throw new Error("no registered provider holds it");
      });
      const error = await s.load(registered).catch((e: unknown) => e);
      expect(error).to.not.be.instanceOf(WeightsMismatchError);
      expect((error as Error).message).to.match(/cannot fetch the weights of model 1 .*no registered provider holds it/);
      // Not remembered: the next load tries again.
      await expectRejects(s.load(registered), /cannot fetch/);
    });
  });

  describe("inputs", () => {
    const loader = (file?: string) =>
      new InputLoader({
        dir,
        poseidon,
        fetch: async (_root, out) => {
          if (!file) throw new Error("nothing stored");
          await copyFile(file, out);
        },
      });
    const hex = (values: number[]) => `0x${Buffer.from(values).toString("hex")}`;

    it("takes an inline input whose commitment is the job's", async () => {
      const commitment = inputCommitmentWith(poseidon, DIGIT, model);
      const input = await loader().load(model, { jobId: 1n, input: hex(DIGIT), inputRoot: 0n, inputCommitment: commitment });
      expect(input).to.deep.equal(DIGIT);
    });

    it("refuses an inline input that does not match the commitment, or does not fit the model", async () => {
      const commitment = inputCommitmentWith(poseidon, DIGIT, model);
      const changed = [...DIGIT];
      changed[10] = 12;
      const error = await loader().load(model, { jobId: 4n, input: hex(changed), inputRoot: 0n, inputCommitment: commitment }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(InputRefusedError);
      expect((error as Error).message).to.match(/job 4: the input given inline has commitment \d+, but the job commits to \d+; .* not claimed/);
      await expectRejects(loader().load(model, { jobId: 5n, input: hex(DIGIT.slice(1)), inputRoot: 0n, inputCommitment: commitment }), /job 5: the inline input does not fit the model: The input has 63 values/);
      const high = [...DIGIT];
      high[0] = 17;
      await expectRejects(loader().load(model, { jobId: 6n, input: hex(high), inputRoot: 0n, inputCommitment: commitment }), /out of range/);
    });

    it("fetches an input file by root (any format daios compute run reads), checks it and caches it", async () => {
      const file = path.join(dir, "digit.csv");
      await writeFile(file, `${DIGIT.join(",")}\n`);
      const commitment = inputCommitmentWith(poseidon, DIGIT, model);
      const l = loader(file);
      expect(await l.load(model, { jobId: 2n, input: "0x", inputRoot: INPUT_ROOT, inputCommitment: commitment })).to.deep.equal(DIGIT);
      await rm(file);
      // Cached: the second load does not fetch.
      expect(await l.load(model, { jobId: 3n, input: "0x", inputRoot: INPUT_ROOT, inputCommitment: commitment })).to.deep.equal(DIGIT);
    });

    it("refuses an input file that is not an input of the model", async () => {
      const file = path.join(dir, "bad.json");
      await writeFile(file, "[1, 2, 3]");
      await expectRejects(
        loader(file).load(model, { jobId: 7n, input: "0x", inputRoot: INPUT_ROOT, inputCommitment: 1n }),
        /job 7: the input file 0x0+5678 is not an input of the model: The input has 3 values/,
      );
    });
  });

  describe("zk shape", () => {
    it("takes a zk job only for a model of exactly the circuit's shape (hidden size included)", () => {
      expect(fitsCircuit(model)).to.equal(true);
      // 64→8→10: same inputs, outputs and input range as the registered digits model, another hidden size.
      const narrow: Model = { ...model, hidden: 8, w1: model.w1.slice(0, 8), b1: model.b1.slice(0, 8), w2: model.w2.map((row) => row.slice(0, 8)) };
      const decoded = decodeWeights(encodeWeights(narrow));
      expect(decoded.hidden).to.equal(8);
      expect(fitsCircuit(decoded)).to.equal(false);
      expect(fitsCircuit({ ...model, inputMax: 15 })).to.equal(false);
    });
  });

  describe("result file", () => {
    it("is the same bytes for the same job, and carries the job, model, output and logits", () => {
      const { logits, output } = infer(model, DIGIT);
      const facts = {
        chainId: 31337n,
        market: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        jobId: 9n,
        modelId: 1n,
        modelName: "digits",
        weightsRoot: ROOT,
        weightsCommitment: registered.weightsCommitment,
        mode: "zk" as const,
        provider: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
        inputCommitment: 5n,
        inputRoot: 0n,
        dataRoots: [7n],
        output,
        logits,
      };
      const a = encodeResultFile(resultFile(facts));
      expect(a.equals(encodeResultFile(resultFile({ ...facts })))).to.equal(true);
      const parsed = JSON.parse(a.toString("utf8")) as ReturnType<typeof resultFile>;
      expect(parsed.format).to.equal(RESULT_FORMAT);
      expect(parsed.jobId).to.equal("9");
      expect(parsed.model.id).to.equal("1");
      expect(parsed.output).to.equal(output);
      expect(parsed.logits).to.deep.equal(logits.map(String));
      expect(parsed.inputRoot).to.equal(null);
      expect(parsed.market).to.equal("0x5FbDB2315678afecb367f032d93F642f64180aa3");
      expect(a.equals(encodeResultFile(resultFile({ ...facts, jobId: 10n })))).to.equal(false);
    });
  });
});
