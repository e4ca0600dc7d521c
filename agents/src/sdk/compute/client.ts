/**
 * The compute layer's SDK: what `daios compute …` uses and what an integrator imports.
 *
 *   const { client, close } = await connectCompute({ rpcUrl, privateKey });
 *   const jobId = await client.postJob({ modelId: 1n, input, mode: "zk" });   // escrows the price
 *   const result = await client.waitForResult(jobId, { onProgress: console.log });
 *   // result.status "Accepted": result.output, result.txHash (the transaction that proved it), result.provider
 *
 * postJob checks everything it can before sending anything: the model exists, is active and serves
 * the mode; the input has the model's shape and range (the on-chain inputSize / inputMax, then the
 * model file's own validateInput when a local copy of the model has the on-chain weights commitment);
 * the fee is at least the price (it defaults to the price); the deadline is in the market's window.
 * Bad input throws ComputeInputError (the CLI exits 2 on it) and changes nothing. It then computes the
 * input commitment (Poseidon, agents/src/sdk/compute/commitment.ts) that the provider's proof or
 * enclave signature is bound to, approves the fee and posts the job. Contract errors are decoded
 * wherever ethers leaves them (decodeRevert).
 */
import { JsonRpcProvider, type ContractTransactionReceipt, type ContractTransactionResponse, type Interface, type Log, type Provider, type Signer } from "ethers";
import { DaiosError, errorMessage } from "../../core/errors.js";
import { connectContracts, eventsIn, type DaiosContracts } from "../contracts.js";
import { type Deployment } from "../deployment.js";
import { connectChain } from "../chain.js";
import { decodeRevert, type ContractRevert } from "../da/client.js";
import { ComputeInputError, infer, inputBytes, loadModel, validateInput, type MlpShape, type Model } from "./model.js";
import { inputCommitment, weightsCommitment } from "./commitment.js";
import { SNARK_FIELD } from "../storage/poseidon.js";
import { ComputeMarket__factory, ModelRegistry__factory, type ComputeMarket, type ModelRegistry } from "../../../../types/ethers-contracts/index.js";

export { ComputeInputError };

export const JOB_STATUS = ["None", "Open", "Claimed", "Accepted", "Refunded", "Slashed"] as const;
export type JobStatusName = (typeof JOB_STATUS)[number];
/** ComputeMarket.Mode: 0 zk (a Groth16 proof), 1 tee (an acknowledged enclave's signature). */
export const COMPUTE_MODES = ["zk", "tee"] as const;
export type ComputeMode = (typeof COMPUTE_MODES)[number];
/** The most lineage roots a job may name (ComputeMarket's cap). */
export const MAX_DATA_ROOTS = 8;
/** Longest model name the registry takes, in UTF-8 bytes. */
export const MAX_MODEL_NAME_BYTES = 64;
const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
const ZERO_BYTES32 = `0x${"0".repeat(64)}`;
const UINT256_MAX = (1n << 256n) - 1n;
/** The largest fee cap the market takes. */
export const MAX_FEE = (1n << 128n) - 1n;
/** ModelRegistry.MAX_PRICE. */
export const MAX_PRICE_PER_JOB = (1n << 96n) - 1n;

/** A model as ModelRegistry records it. */
export interface ModelInfo {
  modelId: bigint;
  name: string;
  owner: string;
  /** The Groth16 verifier of zk mode (the zero address: no zk mode). */
  verifier: string;
  pricePerJob: bigint;
  inputSize: number;
  inputMax: number;
  outputSize: number;
  active: boolean;
  weightsCommitment: bigint;
  /** Storage root of the weights file. */
  weightsRoot: bigint;
  weightsSize: bigint;
  /** Storage root of the data the model was trained on (0: not recorded). */
  trainingDataRoot: bigint;
  /** Enclave measurement of TEE mode (zero: no TEE mode). */
  teeMeasurement: string;
  /** The modes the model can be run in. */
  modes: ComputeMode[];
}

/** What registerModel takes (ModelRegistry.ModelSpec). */
export interface ModelSpecInput {
  name: string;
  /** zk mode's verifier; omit (or the zero address) for a TEE-only model. */
  verifier?: string;
  pricePerJob: bigint;
  inputSize: number;
  inputMax: number;
  outputSize: number;
  weightsCommitment: bigint;
  weightsRoot: bigint;
  weightsSize: bigint;
  trainingDataRoot?: bigint;
  /** TEE mode's enclave measurement (bytes32 hex); omit for a zk-only model. */
  teeMeasurement?: string;
}

/** A job as ComputeMarket records it, with its lineage roots and the chain's time. */
export interface JobRecord {
  jobId: bigint;
  modelId: bigint;
  client: string;
  /** The claiming provider (the zero address while Open). */
  provider: string;
  mode: ComputeMode;
  status: JobStatusName;
  /** Unix time after which no result is accepted. */
  deadline: bigint;
  maxFee: bigint;
  /** The model's price when the job was posted. */
  price: bigint;
  collateral: bigint;
  inputCommitment: bigint;
  /** Storage root of the input file (0: the input was given inline). */
  inputRoot: bigint;
  output: bigint;
  /** Storage root of the result file (0 until the provider records it). */
  outputRoot: bigint;
  postedAt: number;
  settledAt: number;
  dataRoots: bigint[];
  /** The latest block's time when this was read. */
  chainTime: bigint;
  /** Open or Claimed after the deadline: anyone can expire it (refund, and slash a claimer). */
  expirable: boolean;
}

/** How a job ended. */
export interface JobResult {
  jobId: bigint;
  status: "Accepted" | "Refunded" | "Slashed";
  /** The accepted output (the model's class), for Accepted jobs. */
  output: bigint | undefined;
  /** The transaction that settled the job: for Accepted jobs the one whose proof or signature was verified. */
  txHash: string;
  /** The provider that claimed the job (the zero address when nobody did). */
  provider: string;
  mode: ComputeMode;
  settledAt: number;
}

/** Progress of posting and waiting. */
export type ComputeEvent =
  | { type: "approved"; spender: string; amount: bigint; txHash: string }
  | { type: "posted"; jobId: bigint; txHash: string; modelId: bigint; mode: ComputeMode; inputCommitment: bigint; maxFee: bigint; price: bigint; deadline: bigint }
  | { type: "claimed"; jobId: bigint; provider: string; collateral: bigint }
  | { type: "settled"; jobId: bigint; status: JobResult["status"]; txHash: string; output: bigint | undefined }
  | { type: "deadline-passed"; jobId: bigint; deadline: bigint; status: JobStatusName };

export interface PostJobRequest {
  modelId: bigint | number;
  /** The model's input: inputSize whole numbers from 0 to inputMax. */
  input: ArrayLike<number>;
  /** Default zk. */
  mode?: ComputeMode;
  /**
   * Most the client will pay, in token base units (default: the model's price). The market escrows and
   * pays exactly the model's price at posting; a cap below it is refused.
   */
  maxFee?: bigint;
  /** Seconds from now until the deadline (default DEFAULT_TIMEOUT_SEC); or give `deadline`. */
  timeoutSec?: number;
  /** Unix time of the deadline. */
  deadline?: bigint | number;
  /** Lineage: storage roots the input was derived from (at most MAX_DATA_ROOTS). */
  dataRoots?: readonly bigint[];
  /** Storage root of the input file, when providers are to fetch the input from storage instead of the job. */
  inputRoot?: bigint;
  onProgress?: (event: ComputeEvent) => void;
}

export interface WaitOptions {
  onProgress?: (event: ComputeEvent) => void;
  /** Give up after this long (default: until the deadline has passed by GRACE_AFTER_DEADLINE_MS). */
  timeoutMs?: number;
  /** Poll interval (default 500 ms). */
  pollMs?: number;
}

/** A job's deadline when neither timeoutSec nor deadline is given. */
export const DEFAULT_TIMEOUT_SEC = 300;
/**
 * Seconds added to a timeout, so that a job asked to run for the market's minimum duration is not
 * refused when its transaction is mined a little later than the client expected (never beyond the
 * market's maximum).
 */
export const DEADLINE_MARGIN_SEC = 3n;
/** How long waitForResult keeps waiting after the deadline for a keeper to settle the job. */
export const GRACE_AFTER_DEADLINE_MS = 30_000;

/** The contracts the client uses. */
export interface ComputeClientContracts {
  token: DaiosContracts["token"];
  registry: DaiosContracts["registry"];
  modelRegistry: ModelRegistry;
  computeMarket: ComputeMarket;
}

export interface ComputeClientOptions {
  provider: Provider;
  contracts: ComputeClientContracts;
  /** Signs transactions; without it the client can only read. */
  signer?: Signer;
  /**
   * Local copies of models, for validateInput and for logits: a model whose weights commitment equals
   * a registered model's is used for it. Default: the digits model (agents/models/digits/model.json)
   * when it is there.
   */
  localModels?: () => Promise<readonly Model[]>;
}

/** The compute contracts of a deployment, or a DaiosError saying the deployment has none. */
export function connectComputeContracts(deployment: Deployment, runner: Signer | Provider): ComputeClientContracts {
  const entries = deployment.contracts as Partial<Record<string, { address: string }>>;
  const models = entries.ModelRegistry?.address;
  const market = entries.ComputeMarket?.address;
  if (!models || !market) {
    throw new DaiosError(`the deployment of chain ${deployment.chainId} (id ${deployment.id}) has no compute contracts (ModelRegistry, ComputeMarket)`, {
      hint: "redeploy with a version that includes the compute layer (npm start does), or point DEPLOYMENT_FILE / --deployment at a deployment that has it",
    });
  }
  const core = connectContracts(deployment, runner);
  return { token: core.token, registry: core.registry, modelRegistry: ModelRegistry__factory.connect(models, runner), computeMarket: ComputeMarket__factory.connect(market, runner) };
}

/**
 * The input shape the registry records for a model. The hidden layer is not on-chain (and does not
 * matter to an input): 0 stands for it.
 */
export function onChainShape(info: Pick<ModelInfo, "inputSize" | "inputMax" | "outputSize">): MlpShape {
  return { inputs: info.inputSize, hidden: 0, outputs: info.outputSize, inputMax: info.inputMax };
}

export class ComputeClient {
  readonly provider: Provider;
  readonly contracts: ComputeClientContracts;
  private readonly signer: Signer | undefined;
  private readonly localModelSource: () => Promise<readonly Model[]>;
  private localModelsByCommitment: Promise<Map<bigint, Model>> | undefined;

  constructor(options: ComputeClientOptions) {
    this.provider = options.provider;
    this.contracts = options.contracts;
    this.signer = options.signer;
    this.localModelSource = options.localModels ?? defaultLocalModels;
  }

  private requireSigner(): Signer {
    if (!this.signer) throw new ComputeInputError("this command sends transactions and needs a key", { hint: "set PRIVATE_KEY or pass --key" });
    return this.signer;
  }

  /** The interfaces of every contract the client calls, for decoding reverts. */
  get interfaces(): Interface[] {
    const { computeMarket, modelRegistry, registry, token } = this.contracts;
    return [computeMarket.interface, modelRegistry.interface, registry.interface, token.interface];
  }

  /** The contract error in `error`, decoded with the interfaces of every contract the client calls. */
  revertOf(error: unknown): ContractRevert | undefined {
    return decodeRevert(error, this.interfaces);
  }

  private txError(what: string, error: unknown, hint?: string): DaiosError {
    const detail = this.revertOf(error)?.text ?? errorMessage(error).split("\n")[0];
    return new DaiosError(`${what} failed: ${detail}`, { hint, cause: error });
  }

  private async send(what: string, tx: () => Promise<ContractTransactionResponse>, hint?: string): Promise<ContractTransactionReceipt> {
    try {
      const receipt = await (await tx()).wait();
      if (!receipt) throw new Error("the transaction was dropped");
      return receipt;
    } catch (error) {
      throw this.txError(what, error, hint);
    }
  }

  // ------------------------------------------------------------------ models

  /** Every registered model, in id order. */
  async models(): Promise<ModelInfo[]> {
    const count = await this.contracts.modelRegistry.modelCount();
    const out: ModelInfo[] = [];
    for (let id = 1n; id <= count; id++) out.push(await this.readModel(id));
    return out;
  }

  /** Model `modelId`; ComputeInputError for an unknown id. */
  async model(modelId: bigint | number): Promise<ModelInfo> {
    const id = BigInt(modelId);
    const count = await this.contracts.modelRegistry.modelCount();
    if (id < 1n || id > count) {
      throw new ComputeInputError(`model ${id} does not exist (${count === 0n ? "no model is registered yet" : `model ids run from 1 to ${count}`})`, {
        hint: "list the models with `daios compute models`",
      });
    }
    return this.readModel(id);
  }

  private async readModel(modelId: bigint): Promise<ModelInfo> {
    const m = await this.contracts.modelRegistry.model(modelId);
    const modes: ComputeMode[] = [];
    if (m.verifier !== ZERO_ADDRESS) modes.push("zk");
    if (m.teeMeasurement !== ZERO_BYTES32) modes.push("tee");
    return {
      modelId,
      name: m.name,
      owner: m.owner,
      verifier: m.verifier,
      pricePerJob: m.pricePerJob,
      inputSize: Number(m.inputSize),
      inputMax: Number(m.inputMax),
      outputSize: Number(m.outputSize),
      active: m.active,
      weightsCommitment: m.weightsCommitment,
      weightsRoot: m.weightsRoot,
      weightsSize: m.weightsSize,
      trainingDataRoot: m.trainingDataRoot,
      teeMeasurement: m.teeMeasurement,
      modes,
    };
  }

  /** Registers a model (the caller becomes its owner); returns its id. */
  async registerModel(spec: ModelSpecInput): Promise<{ modelId: bigint; txHash: string }> {
    const nameBytes = Buffer.byteLength(spec.name, "utf8");
    if (nameBytes === 0 || nameBytes > MAX_MODEL_NAME_BYTES) throw new ComputeInputError(`the model name must be 1 to ${MAX_MODEL_NAME_BYTES} bytes, got ${nameBytes}`);
    for (const [what, value] of [["inputSize", spec.inputSize], ["inputMax", spec.inputMax], ["outputSize", spec.outputSize]] as const) {
      if (!Number.isSafeInteger(value) || value < 1 || value > 0xffffffff) throw new ComputeInputError(`${what} must be a whole number from 1 to ${0xffffffff}, got ${value}`);
    }
    if (spec.weightsCommitment <= 0n || spec.weightsCommitment >= SNARK_FIELD) {
      throw new ComputeInputError(`the weights commitment ${spec.weightsCommitment} is not a nonzero BN254 field element`, { hint: "compute it with weightsCommitment(model)" });
    }
    if (spec.weightsRoot <= 0n || spec.weightsRoot > UINT256_MAX) throw new ComputeInputError("the weights file's storage root must be nonzero", { hint: "store the weights file first (daios storage upload) and give its data root" });
    if (spec.pricePerJob < 0n || spec.pricePerJob > MAX_PRICE_PER_JOB) throw new ComputeInputError(`the price ${spec.pricePerJob} is above the registry's largest, 2^96 - 1`);
    const verifier = spec.verifier ?? ZERO_ADDRESS;
    const teeMeasurement = spec.teeMeasurement ?? ZERO_BYTES32;
    if (!/^0x[0-9a-fA-F]{64}$/.test(teeMeasurement)) throw new ComputeInputError(`the TEE measurement ${teeMeasurement} is not bytes32 hex`);
    if (verifier === ZERO_ADDRESS && /^0x0{64}$/.test(teeMeasurement)) {
      throw new ComputeInputError("a model needs a zk verifier or a TEE measurement (or both)", { hint: "give the verifier contract, or the enclave measurement" });
    }
    this.requireSigner();
    const receipt = await this.send("registerModel", () =>
      this.contracts.modelRegistry.registerModel({
        verifier,
        pricePerJob: spec.pricePerJob,
        inputSize: spec.inputSize,
        inputMax: spec.inputMax,
        outputSize: spec.outputSize,
        weightsCommitment: spec.weightsCommitment,
        weightsRoot: spec.weightsRoot,
        weightsSize: spec.weightsSize,
        trainingDataRoot: spec.trainingDataRoot ?? 0n,
        teeMeasurement,
        name: spec.name,
      }),
    );
    const [registered] = eventsIn(this.contracts.modelRegistry, receipt, "ModelRegistered");
    if (!registered) throw new DaiosError(`registerModel ${receipt.hash} emitted no ModelRegistered event`);
    return { modelId: registered.args[0] as bigint, txHash: receipt.hash };
  }

  /**
   * The local copy of model `info` (same weights commitment), or undefined when none is at hand.
   * Used for the model file's own input checks and for the logits behind an output.
   */
  async localModel(info: Pick<ModelInfo, "weightsCommitment">): Promise<Model | undefined> {
    this.localModelsByCommitment ??= (async () => {
      const byCommitment = new Map<bigint, Model>();
      for (const model of await this.localModelSource().catch(() => [] as Model[])) byCommitment.set(await weightsCommitment(model), model);
      return byCommitment;
    })();
    return (await this.localModelsByCommitment).get(info.weightsCommitment);
  }

  /** The logits and class of `input` under the local copy of the model, or undefined without one. */
  async localInference(info: Pick<ModelInfo, "weightsCommitment">, input: ArrayLike<number>): Promise<{ logits: bigint[]; output: number } | undefined> {
    const model = await this.localModel(info);
    return model ? infer(model, Array.from(input)) : undefined;
  }

  // ------------------------------------------------------------------ jobs

  /**
   * Checks `input` against model `info`: shape and range from the registry, then the local model
   * file's validateInput when one matches. Throws ComputeInputError saying what is wrong.
   */
  async checkInput(info: ModelInfo, input: ArrayLike<number> | readonly unknown[]): Promise<number[]> {
    const values: unknown = Array.from(input as ArrayLike<unknown>);
    const shape = (await this.localModel(info)) ?? onChainShape(info);
    try {
      validateInput(shape, values);
      if (info.inputMax > 255) inputBytes(shape, values);
    } catch (error) {
      if (!(error instanceof ComputeInputError)) throw error;
      throw new ComputeInputError(`model ${info.modelId} (${info.name}): ${error.problem}`, { hint: error.hint, position: error.position });
    }
    return values;
  }

  /** The latest block's time, and the earliest time the next transaction can be mined at. */
  private async chainTimes(): Promise<{ latest: bigint; next: bigint }> {
    const block = await this.provider.getBlock("latest");
    if (!block) throw new DaiosError("the node returned no latest block");
    const latest = BigInt(block.timestamp);
    const wall = BigInt(Math.floor(Date.now() / 1000));
    return { latest, next: latest + 1n > wall ? latest + 1n : wall };
  }

  /**
   * Posts a job and escrows its price; returns the job id. Checks the model, mode, input, fee and
   * deadline first and sends nothing when one is wrong (ComputeInputError).
   */
  async postJob(request: PostJobRequest): Promise<bigint> {
    const emit = request.onProgress ?? (() => undefined);
    const mode: ComputeMode = request.mode ?? "zk";
    if (!COMPUTE_MODES.includes(mode)) throw new ComputeInputError(`mode '${String(mode)}' is not zk or tee`);
    const info = await this.model(request.modelId);
    if (!info.active) throw new ComputeInputError(`model ${info.modelId} (${info.name}) is inactive: its owner took it off the market`, { hint: "pick an active model (`daios compute models`)" });
    if (!info.modes.includes(mode)) {
      throw new ComputeInputError(`model ${info.modelId} (${info.name}) cannot run in ${mode} mode: it ${info.modes.length ? `supports ${info.modes.join(" and ")} only` : "supports no mode"}`, {
        hint: `use --mode ${info.modes[0] ?? "zk"}`,
      });
    }
    const values = await this.checkInput(info, request.input);

    const maxFee = request.maxFee ?? info.pricePerJob;
    if (maxFee > MAX_FEE) throw new ComputeInputError(`the fee cap ${maxFee} is above the market's largest, 2^128 - 1`);
    if (maxFee < info.pricePerJob) {
      throw new ComputeInputError(`the fee offered (${maxFee} token units) is below model ${info.modelId}'s price of ${info.pricePerJob} per job`, {
        hint: "offer at least the price, or leave the fee out to offer exactly the price",
      });
    }

    const { computeMarket } = this.contracts;
    const { minJobDuration: minDuration, maxJobDuration: maxDuration } = await computeMarket.config();
    const times = await this.chainTimes();
    let deadline: bigint;
    if (request.deadline !== undefined) {
      if (request.timeoutSec !== undefined) throw new ComputeInputError("give a deadline or a timeout, not both");
      deadline = BigInt(request.deadline);
      if (deadline <= times.latest) {
        throw new ComputeInputError(`the deadline ${deadline} is in the past: the chain's time is ${times.latest}`, { hint: `give a deadline at least ${minDuration} s ahead, or a timeout` });
      }
      if (deadline < times.next + minDuration || deadline > times.next + maxDuration) {
        throw new ComputeInputError(`the deadline ${deadline} is ${deadline - times.next} s ahead, outside the market's window of ${minDuration} s to ${maxDuration} s`, {
          hint: `give a deadline between ${times.next + minDuration} and ${times.next + maxDuration}`,
        });
      }
    } else {
      const timeout = request.timeoutSec ?? DEFAULT_TIMEOUT_SEC;
      if (!Number.isSafeInteger(timeout) || timeout <= 0) throw new ComputeInputError(`the timeout must be a positive whole number of seconds, got ${timeout}`);
      if (BigInt(timeout) < minDuration || BigInt(timeout) > maxDuration) {
        throw new ComputeInputError(`a timeout of ${timeout} s is outside the market's window of ${minDuration} s to ${maxDuration} s`, {
          hint: `give a timeout from ${minDuration} to ${maxDuration} seconds`,
        });
      }
      deadline = times.next + BigInt(timeout);
    }

    const dataRoots = [...(request.dataRoots ?? [])];
    if (dataRoots.length > MAX_DATA_ROOTS) throw new ComputeInputError(`a job names at most ${MAX_DATA_ROOTS} data roots, got ${dataRoots.length}`);
    for (const root of [...dataRoots, ...(request.inputRoot === undefined ? [] : [request.inputRoot])]) {
      if (root <= 0n || root >= SNARK_FIELD) throw new ComputeInputError(`storage root ${root} is not a nonzero BN254 field element, so no storage deal can have it`, { hint: "give the data root `daios storage upload` printed" });
    }

    const signer = this.requireSigner();
    const account = await signer.getAddress();
    const { token } = this.contracts;
    const price = info.pricePerJob;
    const balance = await token.balanceOf(account);
    if (balance < price) {
      throw new DaiosError(`the job escrows its price, ${price} token units, but ${account} holds ${balance}`, { hint: "get tokens (on the devnet, from the deployer), or pick a cheaper model" });
    }

    const shape = (await this.localModel(info)) ?? onChainShape(info);
    const commitment = await inputCommitment(values, shape);
    const market = await computeMarket.getAddress();
    if (price > 0n && (await token.allowance(account, market)) < price) {
      const approval = await this.send("approving the job's price", () => token.approve(market, price));
      emit({ type: "approved", spender: market, amount: price, txHash: approval.hash });
    }
    if (request.deadline === undefined) {
      // The commitment and the approval took time: the deadline counts from the block postJob lands in.
      const now = await this.chainTimes();
      const timeout = BigInt(request.timeoutSec ?? DEFAULT_TIMEOUT_SEC);
      deadline = now.next + (timeout + DEADLINE_MARGIN_SEC < maxDuration ? timeout + DEADLINE_MARGIN_SEC : maxDuration);
    }
    const inline = request.inputRoot === undefined;
    const receipt = await this.send(`postJob(model ${info.modelId})`, () =>
      computeMarket.postJob({
        modelId: info.modelId,
        mode: COMPUTE_MODES.indexOf(mode),
        inputCommitment: commitment,
        input: inline ? inputBytes(shape, values) : "0x",
        inputRoot: request.inputRoot ?? 0n,
        dataRoots,
        maxFee,
        deadline,
      }),
    );
    const [posted] = eventsIn(computeMarket, receipt, "JobPosted");
    if (!posted) throw new DaiosError(`postJob ${receipt.hash} emitted no JobPosted event`);
    const jobId = posted.args[0] as bigint;
    emit({ type: "posted", jobId, txHash: receipt.hash, modelId: info.modelId, mode, inputCommitment: commitment, maxFee, price: posted.args.price as bigint, deadline });
    return jobId;
  }

  /** Job `jobId` with its lineage roots; ComputeInputError for an unknown id. */
  async status(jobId: bigint | number): Promise<JobRecord> {
    const id = BigInt(jobId);
    const { computeMarket } = this.contracts;
    const count = await computeMarket.jobCount();
    if (id < 1n || id > count) {
      throw new ComputeInputError(`job ${id} does not exist (${count === 0n ? "no job was posted yet" : `job ids run from 1 to ${count}`})`, {
        hint: "check the id printed by `daios compute run`",
      });
    }
    const [j, dataRoots, times] = await Promise.all([computeMarket.job(id), computeMarket.jobDataRoots(id), this.chainTimes()]);
    const status = JOB_STATUS[Number(j.status)];
    return {
      jobId: id,
      modelId: j.modelId,
      client: j.client,
      provider: j.provider,
      mode: COMPUTE_MODES[Number(j.mode)],
      status,
      deadline: BigInt(j.deadline),
      maxFee: j.maxFee,
      price: j.price,
      collateral: j.collateral,
      inputCommitment: j.inputCommitment,
      inputRoot: j.inputRoot,
      output: j.output,
      outputRoot: j.outputRoot,
      postedAt: Number(j.postedAt),
      settledAt: Number(j.settledAt),
      dataRoots: [...dataRoots],
      chainTime: times.latest,
      expirable: (status === "Open" || status === "Claimed") && times.latest >= BigInt(j.deadline),
    };
  }

  /** The inline input of a job, from its JobPosted event (undefined when it was given by storage root). */
  async jobInput(jobId: bigint | number): Promise<Uint8Array | undefined> {
    const job = await this.status(jobId);
    const posted = await this.jobEvents(job.jobId, job.postedAt, job.postedAt, "JobPosted");
    const input = posted[0]?.args.input as string | undefined;
    if (input === undefined) throw new DaiosError(`no JobPosted event of job ${job.jobId} in block ${job.postedAt}`);
    return input === "0x" ? undefined : Buffer.from(input.slice(2), "hex");
  }

  /** The market's events named `name` about job `jobId` in blocks from..to. */
  private async jobEvents(jobId: bigint, fromBlock: number, toBlock: number, name?: string) {
    const { computeMarket } = this.contracts;
    const logs: Log[] = await this.provider.getLogs({ address: await computeMarket.getAddress(), fromBlock, toBlock });
    const out = [];
    for (const log of logs) {
      const parsed = computeMarket.interface.parseLog(log);
      if (!parsed || (name !== undefined && parsed.name !== name)) continue;
      const index = parsed.fragment.inputs.findIndex((input) => input.name === "jobId");
      if (index >= 0 && parsed.args[index] === jobId) out.push({ name: parsed.name, args: parsed.args, txHash: log.transactionHash, block: log.blockNumber });
    }
    return out;
  }

  /**
   * Waits until job `jobId` is settled (Accepted, Refunded or Slashed) and returns how, with the
   * transaction that settled it. Reports the claim, and the deadline passing, through onProgress.
   * Throws when `timeoutMs` runs out first, saying how to get the fee back.
   */
  async waitForResult(jobId: bigint | number, options: WaitOptions = {}): Promise<JobResult> {
    const emit = options.onProgress ?? (() => undefined);
    const pollMs = options.pollMs ?? 500;
    const started = Date.now();
    let job = await this.status(jobId);
    const giveUpAt = options.timeoutMs !== undefined ? started + options.timeoutMs : undefined;
    let claimed = false;
    let deadlineReported = false;
    let pastDeadlineSince: number | undefined;
    for (;;) {
      if (!claimed && job.status !== "Open" && job.provider !== ZERO_ADDRESS) {
        claimed = true;
        emit({ type: "claimed", jobId: job.jobId, provider: job.provider, collateral: job.collateral });
      }
      if (job.status === "Accepted" || job.status === "Refunded" || job.status === "Slashed") {
        // By name: the same block may hold other events of the job after it (OutputRecorded, say).
        const settlingEvent = job.status === "Accepted" ? "JobAccepted" : "JobExpired";
        const settledEvents = await this.jobEvents(job.jobId, job.settledAt, job.settledAt);
        const txHash = (settledEvents.find((e) => e.name === settlingEvent) ?? settledEvents.find((e) => e.name === "JobCancelled"))?.txHash;
        if (txHash === undefined) throw new DaiosError(`job ${job.jobId} is ${job.status} but block ${job.settledAt} holds no event of it`);
        const result: JobResult = {
          jobId: job.jobId,
          status: job.status,
          output: job.status === "Accepted" ? job.output : undefined,
          txHash,
          provider: job.provider,
          mode: job.mode,
          settledAt: job.settledAt,
        };
        emit({ type: "settled", jobId: job.jobId, status: job.status, txHash, output: result.output });
        return result;
      }
      if (job.expirable) {
        if (!deadlineReported) {
          deadlineReported = true;
          emit({ type: "deadline-passed", jobId: job.jobId, deadline: job.deadline, status: job.status });
        }
        pastDeadlineSince ??= Date.now();
      }
      const now = Date.now();
      const outOfTime = giveUpAt !== undefined ? now >= giveUpAt : pastDeadlineSince !== undefined && now - pastDeadlineSince >= GRACE_AFTER_DEADLINE_MS;
      if (outOfTime) {
        throw new DaiosError(
          job.expirable
            ? `job ${job.jobId} was not proven by its deadline (${job.deadline}; ${job.status === "Claimed" ? `claimed by ${job.provider}` : "nobody claimed it"}) and no keeper has settled it yet`
            : `job ${job.jobId} is still ${job.status} after ${Math.round((now - started) / 1000)} s (deadline ${job.deadline}, chain time ${job.chainTime})`,
          {
            hint: job.expirable
              ? `expire it to get the fee back${job.status === "Claimed" ? " and slash the provider" : ""}: daios compute expire ${job.jobId}`
              : `wait longer (daios compute status ${job.jobId}), or after the deadline: daios compute expire ${job.jobId}`,
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      job = await this.status(job.jobId);
    }
  }

  /** Cancels an Open job you posted: its price is credited back (withdraw it). */
  async cancel(jobId: bigint | number): Promise<{ jobId: bigint; refund: bigint; txHash: string }> {
    const job = await this.status(jobId);
    const account = await this.requireSigner().getAddress();
    if (job.client.toLowerCase() !== account.toLowerCase()) throw new ComputeInputError(`job ${job.jobId} was posted by ${job.client}, not ${account}: only its client can cancel it`);
    if (job.status !== "Open") {
      throw new ComputeInputError(`job ${job.jobId} is ${job.status}: only an Open job can be cancelled`, {
        hint: job.status === "Claimed" ? `a provider is working on it; if it misses the deadline: daios compute expire ${job.jobId}` : undefined,
      });
    }
    const receipt = await this.send(`cancelJob(${job.jobId})`, () => this.contracts.computeMarket.cancelJob(job.jobId));
    return { jobId: job.jobId, refund: job.price, txHash: receipt.hash };
  }

  /**
   * Settles a job past its deadline without a result: the client gets the price back, and when a
   * provider had claimed it, its collateral is slashed (part to the caller, the rest to the client).
   */
  async expire(jobId: bigint | number): Promise<{ jobId: bigint; status: "Refunded" | "Slashed"; txHash: string }> {
    const job = await this.status(jobId);
    if (job.status !== "Open" && job.status !== "Claimed") throw new ComputeInputError(`job ${job.jobId} is ${job.status} already: there is nothing to expire`);
    if (!job.expirable) {
      throw new ComputeInputError(`job ${job.jobId}'s deadline ${job.deadline} has not passed (the chain's time is ${job.chainTime})`, {
        hint: `expire it after ${job.deadline} if it is still unsettled`,
      });
    }
    this.requireSigner();
    const receipt = await this.send(`expire(${job.jobId})`, () => this.contracts.computeMarket.expire(job.jobId));
    const after = await this.contracts.computeMarket.job(job.jobId);
    return { jobId: job.jobId, status: JOB_STATUS[Number(after.status)] as "Refunded" | "Slashed", txHash: receipt.hash };
  }

  /** Withdraws the caller's compute-market credits (refunds, earnings, slash shares). */
  async withdraw(): Promise<{ amount: bigint; txHash: string }> {
    const account = await this.requireSigner().getAddress();
    const credit = await this.contracts.computeMarket.credits(account);
    if (credit === 0n) throw new ComputeInputError(`${account} has nothing to withdraw from the compute market`);
    const receipt = await this.send("withdraw()", () => this.contracts.computeMarket.withdraw());
    return { amount: credit, txHash: receipt.hash };
  }

  /** Credits of `account` (default: the signer's) waiting in the compute market. */
  async credits(account?: string): Promise<bigint> {
    return this.contracts.computeMarket.credits(account ?? (await this.requireSigner().getAddress()));
  }
}

/** The local models a client matches against registered ones by default: the digits model, when present. */
async function defaultLocalModels(): Promise<readonly Model[]> {
  try {
    return [await loadModel()];
  } catch {
    return [];
  }
}

export interface ConnectComputeOptions {
  rpcUrl: string;
  /** Hex private key; without it the client is read-only. */
  privateKey?: string;
  deploymentFile?: string;
}

/** A ComputeClient on a chain: provider, deployment and signer from an RPC URL and a key. */
export async function connectCompute(
  options: ConnectComputeOptions,
): Promise<{ client: ComputeClient; provider: JsonRpcProvider; chainId: bigint; deployment: Deployment; close: () => void }> {
  const { provider, chainId, deployment, signer, close } = await connectChain(options);
  try {
    const client = new ComputeClient({ provider, signer, contracts: connectComputeContracts(deployment, signer ?? provider) });
    return { client, provider, chainId, deployment, close };
  } catch (error) {
    close();
    throw error;
  }
}
