/**
 * compute-provider role: runs inference jobs of the ComputeMarket and proves them.
 *
 * It registers under the COMPUTE role with a stake (claims lock part of it as collateral), watches
 * JobPosted through the chain watcher and queues every job it could serve in BullMQ (job id = the
 * event's id, so a job seen twice is handled once). For each job:
 *
 *   1. check before claiming: the model is one it serves and the job's mode one it can answer (zk: the
 *      model's verifier is the digits circuit's verifier; TEE: COMPUTE_TEE_KEY is set and acknowledged
 *      for the model); the weights file fetched from storage by its root (verified, cached on disk)
 *      decodes to a model whose commitment is the registered one; the input (inline, or fetched by its
 *      root) fits the model and has the job's input commitment; a zk job's model has exactly the
 *      circuit's shape; enough time is left before the deadline (checked first). Anything wrong: the job is not claimed, and the log says why.
 *   2. claim (the transaction sender reads the job first, so a retried job never claims twice);
 *   3. infer, then prove in the prover pool (zk) or sign with the enclave key (TEE), and submit;
 *   4. store the result file (JSON: job, model, output, logits) as a storage deal of its own and
 *      record it on the job (recordOutput), which gives the output its on-chain lineage;
 *   5. withdraw credits once they reach WITHDRAW_THRESHOLD.
 * Every step reads the chain first, so any step can be run again. A restart resumes from the chain
 * watcher's cursor; a job claimed but not yet submitted (the process died) is finished if its deadline
 * still allows, from the list of claimed jobs kept in Redis (swept every 30 s, so a job whose retries ran
 * out is tried again too); a job that failed for good is dropped from it.
 *
 * Configuration: see ./config.ts.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { MaxUint256, ZeroAddress, keccak256, parseUnits } from "ethers";
import type { Job } from "bullmq";
import { loadConfig } from "../../core/config.js";
import { ChainWatcher, type ChainEvent } from "../../core/chain-watcher.js";
import { addOrRetry, createQueue, createWorker, closeAll, isUnrecoverable, UnrecoverableError } from "../../core/queues.js";
import { ProverPool } from "../../core/prover-pool.js";
import { proofMetrics } from "../../core/metrics.js";
import { TxRevertedError } from "../../core/tx-sender.js";
import { DaiosError, errorMessage } from "../../core/errors.js";
import { eventsIn } from "../../sdk/contracts.js";
import { StorageClient } from "../../sdk/storage/client.js";
import { createTreeHasher } from "../../sdk/storage/native-hasher.js";
import { JOB_STATUS, connectComputeContracts, type JobStatusName } from "../../sdk/compute/client.js";
import { DIGITS_SHAPE, infer, type Model } from "../../sdk/compute/model.js";
import { fitsCircuit, proveInference } from "../../sdk/compute/prove.js";
import { SoftwareEnclave, computeMarketDomain } from "../../sdk/compute/tee.js";
import { startRuntime, type RoleRuntime } from "../runtime.js";
import { checkComputeProviderConfig, computeProviderSchema, servesModel } from "./config.js";
import { computeProviderMetrics } from "./metrics.js";
import { WeightsMismatchError, WeightsStore, rootHex } from "./weights.js";
import { InputLoader, InputRefusedError } from "./inputs.js";
import { ResultStore } from "./result-store.js";
import { encodeResultFile, resultFile } from "./result-file.js";

type Runtime = RoleRuntime<typeof computeProviderSchema>;

/** A job as queued: the JobPosted fields the chain does not store (the inline input) and when it was seen. */
export interface ComputeJobData {
  jobId: string;
  /** 0x-hex inline input ("0x" when the input is a storage file). */
  input: string;
  /** Date.now() when the provider first saw the job (for the latency metric). */
  seenAt: number;
}

const MODES = ["zk", "tee"] as const;
/** How often the claimed-but-unfinished jobs kept in Redis are looked at again. */
const CLAIMED_SWEEP_MS = 30_000;
type ModeName = (typeof MODES)[number];

/** The job is not one this provider takes; `reason` labels the metric. Nothing was sent. */
class JobRefusedError extends UnrecoverableError {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "JobRefusedError";
  }
}

export async function runComputeProvider(): Promise<Runtime> {
  // Checked before anything connects: the enclave key must not be the account key.
  checkComputeProviderConfig(loadConfig({ role: computeProviderSchema }));
  const rt = await startRuntime("compute-provider", computeProviderSchema);
  try {
    await startComputeProvider(rt);
  } catch (error) {
    await rt.shutdown(`start-up failed: ${errorMessage(error)}`);
    throw error;
  }
  return rt;
}

async function startComputeProvider(rt: Runtime): Promise<void> {
  const { log, tx, provider, chainId } = rt;
  const settings = rt.config.role;
  const me = tx.address;
  const { modelRegistry, computeMarket: market, registry, token } = connectComputeContracts(rt.deployment, provider);
  const marketAddress = market.target as string;
  const entries = rt.deployment.contracts as Partial<Record<string, { address: string; block: number }>>;
  const metrics = computeProviderMetrics(rt.metrics);
  const enclave = settings.teeKey === undefined ? undefined : new SoftwareEnclave(settings.teeKey);
  const domain = computeMarketDomain(chainId, marketAddress);

  const { hasher, poseidon } = await createTreeHasher({ warn: (message) => log.warn(message) });
  rt.onShutdown(() => hasher.close());
  const storage = new StorageClient({ contracts: rt.contracts, hasher, poseidon });
  const fetchFile = async (root: bigint, out: string) => {
    await storage.download(root, out);
  };
  const weights = new WeightsStore({
    dir: path.join(settings.dataDir, "weights"),
    fetch: fetchFile,
    poseidon,
    onLoaded: (source, w) => {
      metrics.weightsLoaded.inc({ source });
      log.info({ modelId: w.modelId.toString(), weightsRoot: rootHex(w.weightsRoot), source }, "model weights loaded and checked against the registered commitment");
    },
  });
  const inputs = new InputLoader({ dir: path.join(settings.dataDir, "inputs"), fetch: fetchFile, poseidon });
  const results = new ResultStore({ contracts: rt.contracts, storage, tx, log, replicas: settings.resultReplicas, periods: settings.resultPeriods });
  const pool = new ProverPool({ size: settings.proverThreads, log, metrics: proofMetrics(rt.metrics) });
  rt.onShutdown(() => pool.close());
  // A prover thread's first proof also starts the thread and loads the curve and the circuit: do that
  // now, with a model of zeros, so that the first job is proven as fast as the next ones.
  const warmUp = async () => {
    const zeros = (n: number) => new Array<number>(n).fill(0);
    const blank: Model = { ...DIGITS_SHAPE, w1: zeros(DIGITS_SHAPE.hidden).map(() => zeros(DIGITS_SHAPE.inputs)), b1: zeros(DIGITS_SHAPE.hidden), w2: zeros(DIGITS_SHAPE.outputs).map(() => zeros(DIGITS_SHAPE.hidden)), b2: zeros(DIGITS_SHAPE.outputs) };
    const started = Date.now();
    await proveInference(pool, blank, zeros(DIGITS_SHAPE.inputs), 1n, me);
    log.info({ ms: Date.now() - started }, "prover warmed up");
  };
  void warmUp().catch((error: unknown) => log.warn({ err: error }, "prover warm-up failed; the first proof will start the prover"));

  // --- registration under the COMPUTE role
  const role = await registry.COMPUTE_ROLE();
  if (!(await registry.roleEnabled(role))) {
    throw new DaiosError(`the COMPUTE role is not enabled in the ProviderRegistry at ${registry.target as string}`, {
      hint: "the registry's owner enables it with setMinStake(COMPUTE_ROLE, minimum); check the deployment",
    });
  }
  const approve = async (spender: string, amount: bigint) => {
    if ((await token.allowance(me, spender)) >= amount) return;
    await tx.send({
      label: `approve:${spender}`,
      isDone: async () => (await token.allowance(me, spender)) >= amount,
      build: () => ({ to: token.target as string, data: token.interface.encodeFunctionData("approve", [spender, MaxUint256]) }),
    });
  };
  const endpoint = `daios-compute://${me.toLowerCase()}`;
  if (!(await registry.getProvider(me, role)).registered) {
    const stake = parseUnits(settings.stake, 18);
    const minimum = await registry.minStake(role);
    if (stake < minimum) throw new DaiosError(`COMPUTE_STAKE=${settings.stake} is below the COMPUTE role's minimum stake of ${minimum} token units`, { hint: "raise COMPUTE_STAKE" });
    const balance = await token.balanceOf(me);
    if (balance < stake) {
      throw new DaiosError(`provider ${me} holds ${balance} token units but registering needs a stake of ${stake}`, {
        hint: "fund the provider's address (on the devnet the deployer mints DAIOS) or lower COMPUTE_STAKE",
      });
    }
    await approve(registry.target as string, stake);
    await tx.send({
      label: "register:compute",
      iface: registry.interface,
      isDone: async () => (await registry.getProvider(me, role)).registered,
      build: () => ({ to: registry.target as string, data: registry.interface.encodeFunctionData("register", [role, stake, endpoint, BigInt(settings.concurrency)]) }),
    });
    log.info({ stake: stake.toString() }, "registered as a compute provider");
  }
  if (enclave) {
    const [measurement, acknowledgedAt, revokedAt] = await modelRegistry.enclave(enclave.address);
    const state = acknowledgedAt === 0n ? "not acknowledged yet" : revokedAt !== 0n ? "revoked" : "acknowledged";
    log.info({ enclave: enclave.address, measurement: enclave.measurement, registered: measurement, state }, "TEE mode: software enclave key");
  }

  // --- what can be served
  /** Code hashes of verifiers known to be the digits circuit's (the deployment's DigitsVerifier). */
  const circuitVerifier = entries.DigitsVerifier?.address;
  const circuitCode = circuitVerifier ? keccak256(await provider.getCode(circuitVerifier)) : undefined;
  const verifierChecks = new Map<string, Promise<boolean>>();
  const isCircuitVerifier = (verifier: string): Promise<boolean> => {
    if (circuitCode === undefined) return Promise.resolve(true);
    let check = verifierChecks.get(verifier);
    if (!check) {
      check = provider.getCode(verifier).then((code) => code !== "0x" && keccak256(code) === circuitCode);
      verifierChecks.set(verifier, check);
      check.catch(() => verifierChecks.delete(verifier));
    }
    return check;
  };
  if (circuitCode === undefined) log.warn("the deployment names no DigitsVerifier: zk jobs are taken without checking the model's verifier first");

  interface Prepared {
    jobId: bigint;
    modelId: bigint;
    modelName: string;
    mode: ModeName;
    model: Model;
    input: number[];
    weightsRoot: bigint;
    weightsCommitment: bigint;
  }

  /** Everything a job needs, checked against the chain (JobRefusedError when it cannot be served). */
  const prepare = async (jobId: bigint, data: ComputeJobData, j: Awaited<ReturnType<typeof market.job>>): Promise<Prepared> => {
    const modelId = j.modelId;
    const mode = MODES[Number(j.mode)];
    if (!servesModel(settings.models, modelId)) throw new JobRefusedError("model", `job ${jobId} is for model ${modelId}, which COMPUTE_MODELS leaves out`);
    const info = await modelRegistry.model(modelId);
    if (mode === "zk") {
      if (info.verifier === ZeroAddress) throw new JobRefusedError("mode", `job ${jobId} is zk but model ${modelId} has no verifier`);
      if (!(await isCircuitVerifier(info.verifier))) {
        throw new JobRefusedError("verifier", `job ${jobId}: model ${modelId}'s verifier ${info.verifier} is not the digits circuit's verifier, so no proof made here would be accepted`);
      }
    } else {
      if (!enclave) throw new JobRefusedError("mode", `job ${jobId} is a TEE job and this provider has no enclave key (COMPUTE_TEE_KEY)`);
      // The market checks the key against the job's measurement snapshot (taken at posting), not the model's current one.
      const key = await modelRegistry.enclave(enclave.address);
      if (key.acknowledgedAt === 0n || key.revokedAt !== 0n || key.measurement !== j.teeMeasurement) {
        throw new JobRefusedError("enclave", `job ${jobId}: the enclave key ${enclave.address} is not acknowledged (or revoked, or for another measurement than the job's ${j.teeMeasurement}) for model ${modelId}`);
      }
    }
    let model: Model;
    try {
      model = await weights.load({ modelId, weightsRoot: info.weightsRoot, weightsSize: info.weightsSize, weightsCommitment: info.weightsCommitment });
    } catch (error) {
      if (error instanceof WeightsMismatchError) throw new JobRefusedError("weights", `job ${jobId}: ${error.message}`);
      throw error;
    }
    if (model.inputs !== Number(info.inputSize) || model.inputMax !== Number(info.inputMax) || model.outputs !== Number(info.outputSize)) {
      throw new JobRefusedError("weights", `job ${jobId}: model ${modelId}'s weights file has shape ${model.inputs}→${model.outputs} (inputs 0..${model.inputMax}), not the registered ${info.inputSize}→${info.outputSize} (0..${info.inputMax})`);
    }
    // The verifier is the circuit's, but the circuit proves only its own shape (hidden size included).
    if (mode === "zk" && !fitsCircuit(model)) {
      throw new JobRefusedError(
        "shape",
        `job ${jobId}: model ${modelId} is ${model.inputs}→${model.hidden}→${model.outputs} (inputs 0..${model.inputMax}), not the digits circuit's ${DIGITS_SHAPE.inputs}→${DIGITS_SHAPE.hidden}→${DIGITS_SHAPE.outputs} (0..${DIGITS_SHAPE.inputMax}), so it cannot be proven`,
      );
    }
    let input: number[];
    try {
      input = await inputs.load(model, { jobId, input: data.input, inputRoot: j.inputRoot, inputCommitment: j.inputCommitment });
    } catch (error) {
      if (error instanceof InputRefusedError) throw new JobRefusedError("input", error.message);
      throw error;
    }
    return { jobId, modelId, modelName: info.name, mode, model, input, weightsRoot: info.weightsRoot, weightsCommitment: info.weightsCommitment };
  };

  const chainTime = async (): Promise<bigint> => BigInt((await provider.getBlock("latest"))?.timestamp ?? 0);
  const statusOf = (j: { status: bigint }): JobStatusName => JOB_STATUS[Number(j.status)];

  // Jobs claimed and not yet finished, kept so that a restart finishes them.
  const claimedKey = `${rt.namespace}:compute-provider:${me.toLowerCase()}:claimed`;
  const remember = (data: ComputeJobData) => rt.redis.hset(claimedKey, data.jobId, JSON.stringify(data));
  const forget = (jobId: bigint) => rt.redis.hdel(claimedKey, jobId.toString());

  const withdraw = async () => {
    const credit = await market.credits(me);
    if (credit === 0n || credit < parseUnits(settings.withdrawThreshold, 18)) return;
    const result = await tx.send({
      label: "withdraw:compute",
      iface: market.interface,
      isDone: async () => (await market.credits(me)) === 0n,
      build: () => ({ to: marketAddress, data: market.interface.encodeFunctionData("withdraw") }),
    });
    if (!result.skipped) log.info({ amount: credit.toString(), txHash: result.txHash }, "compute credits withdrawn");
  };

  /** The whole pipeline for one job; every stage reads the chain first, so it can run again. */
  const serve = async (data: ComputeJobData): Promise<Record<string, unknown>> => {
    const jobId = BigInt(data.jobId);
    const jlog = log.child({ computeJob: data.jobId });
    let j = await market.job(jobId);
    let prepared: Prepared | undefined;

    if (statusOf(j) === "Open") {
      try {
        // Time first: fetching the weights or the input is wasted on a job that cannot be finished.
        const left = j.deadline - (await chainTime());
        if (left < BigInt(settings.minTimeLeftSec)) {
          throw new JobRefusedError("time", `job ${jobId} has ${left} s left before its deadline, less than COMPUTE_MIN_TIME_LEFT_SEC=${settings.minTimeLeftSec}`);
        }
        prepared = await prepare(jobId, data, j);
      } catch (error) {
        if (error instanceof JobRefusedError) {
          await forget(jobId); // kept only if a claim was sent before (a resumed job)
          metrics.skipped.inc({ reason: error.reason });
          jlog.warn({ reason: error.reason }, `not claiming: ${error.message}`);
          return { skipped: error.reason };
        }
        throw error;
      }
      await remember(data);
      try {
        const result = await tx.send({
          label: `claimJob:${jobId}`,
          iface: market.interface,
          isDone: async () => statusOf(await market.job(jobId)) !== "Open",
          build: () => ({ to: marketAddress, data: market.interface.encodeFunctionData("claimJob", [jobId]) }),
        });
        j = await market.job(jobId);
        if (j.provider === me && !result.skipped) {
          metrics.jobs.inc({ outcome: "claimed", mode: prepared.mode });
          jlog.info({ modelId: j.modelId.toString(), mode: prepared.mode, collateral: j.collateral.toString(), deadline: j.deadline.toString(), txHash: result.txHash }, "claimed a job");
        }
      } catch (error) {
        if (error instanceof TxRevertedError && (error.errorName === "ComputeJobNotOpen" || error.errorName === "ComputeDeadlinePassed")) {
          await forget(jobId);
          metrics.skipped.inc({ reason: "taken" });
          jlog.info({ err: error.message }, "the job could not be claimed");
          return { skipped: error.errorName };
        }
        throw error;
      }
    }

    if (j.provider !== me) {
      await forget(jobId);
      if (statusOf(j) !== "Open") metrics.skipped.inc({ reason: "taken" });
      return { skipped: `job is ${statusOf(j)}${j.provider !== ZeroAddress ? ` (provider ${j.provider})` : ""}` };
    }

    if (statusOf(j) === "Claimed") {
      if ((await chainTime()) > j.deadline) {
        await forget(jobId);
        metrics.jobs.inc({ outcome: "failed", mode: MODES[Number(j.mode)] });
        jlog.error({ deadline: j.deadline.toString() }, "the job's deadline passed before its result was submitted: it will be expired and this provider's collateral slashed");
        return { skipped: "deadline passed" };
      }
      prepared ??= await prepare(jobId, data, j).catch((error: unknown) => {
        // Claimed already: a refusal now (say the enclave was revoked) still costs the collateral.
        throw error instanceof JobRefusedError ? new UnrecoverableError(`claimed job ${jobId} can no longer be served: ${error.message}`) : error;
      });
      let output: number;
      let call: string;
      const started = Date.now();
      if (prepared.mode === "zk") {
        const proof = await proveInference(pool, prepared.model, prepared.input, jobId, me);
        output = proof.output;
        metrics.proveMs.observe(Date.now() - started);
        metrics.jobs.inc({ outcome: "proved", mode: "zk" });
        jlog.info({ output, proveMs: Date.now() - started, circuitMs: proof.durationMs }, "inference proved");
        call = market.interface.encodeFunctionData("submitResult", [jobId, output, proof.calldata.pA, proof.calldata.pB, proof.calldata.pC]);
      } else {
        output = infer(prepared.model, prepared.input).output;
        const signature = await (enclave as SoftwareEnclave).signResult(domain, { jobId, modelId: prepared.modelId, weightsCommitment: prepared.weightsCommitment, inputCommitment: j.inputCommitment, output: BigInt(output), provider: me });
        metrics.jobs.inc({ outcome: "signed", mode: "tee" });
        jlog.info({ output, enclave: (enclave as SoftwareEnclave).address }, "inference signed by the enclave key");
        call = market.interface.encodeFunctionData("submitResultTee", [jobId, output, signature]);
      }
      let result;
      try {
        result = await tx.send({
          label: `submitResult:${jobId}`,
          iface: market.interface,
          isDone: async () => statusOf(await market.job(jobId)) !== "Claimed",
          build: () => ({ to: marketAddress, data: call }),
        });
      } catch (error) {
        metrics.jobs.inc({ outcome: "failed", mode: prepared.mode });
        throw error;
      }
      j = await market.job(jobId);
      if (statusOf(j) !== "Accepted") {
        await forget(jobId);
        metrics.jobs.inc({ outcome: "failed", mode: prepared.mode });
        jlog.error({ status: statusOf(j) }, "the job was settled without this provider's result");
        return { skipped: statusOf(j) };
      }
      if (!result.skipped) {
        const [accepted] = eventsIn(market, result.receipt, "JobAccepted");
        const seconds = (Date.now() - data.seenAt) / 1000;
        metrics.jobs.inc({ outcome: "accepted", mode: prepared.mode });
        metrics.jobLatency.observe({ mode: prepared.mode }, seconds);
        jlog.info({ output, pay: accepted?.args.pay?.toString(), gasUsed: result.gasUsed.toString(), txHash: result.txHash, secondsSinceSeen: seconds }, "result accepted");
      }
    }

    if (statusOf(j) !== "Accepted") {
      await forget(jobId);
      return { skipped: `job is ${statusOf(j)}` };
    }
    if (j.outputRoot === 0n) {
      prepared ??= await prepare(jobId, data, j);
      const { logits, output } = infer(prepared.model, prepared.input);
      if (BigInt(output) !== j.output) throw new UnrecoverableError(`job ${jobId}: the accepted output is ${j.output} but the model gives ${output} here`);
      const file = resultFile({
        chainId,
        market: marketAddress,
        jobId,
        modelId: prepared.modelId,
        modelName: prepared.modelName,
        weightsRoot: prepared.weightsRoot,
        weightsCommitment: prepared.weightsCommitment,
        mode: prepared.mode,
        provider: me,
        inputCommitment: j.inputCommitment,
        inputRoot: j.inputRoot,
        dataRoots: await market.jobDataRoots(jobId),
        output,
        logits,
      });
      const dir = path.join(settings.dataDir, "results");
      await mkdir(dir, { recursive: true });
      const out = path.join(dir, `${chainId}-${marketAddress.toLowerCase()}-${jobId}.json`);
      await writeFile(out, encodeResultFile(file));
      const stored = await results.store(out, Number(j.settledAt));
      const recorded = await tx.send({
        label: `recordOutput:${jobId}`,
        iface: market.interface,
        isDone: async () => (await market.job(jobId)).outputRoot !== 0n,
        build: () => ({ to: marketAddress, data: market.interface.encodeFunctionData("recordOutput", [jobId, stored.dealId]) }),
      });
      metrics.jobs.inc({ outcome: "recorded", mode: prepared.mode });
      jlog.info({ dealId: stored.dealId.toString(), outputRoot: rootHex(stored.dataRoot), txHash: recorded.skipped ? undefined : recorded.txHash }, "result file stored and recorded as the job's output");
    }
    await forget(jobId);
    await withdraw();
    return { status: "Accepted", output: j.output.toString() };
  };

  // One pipeline per job at a time in this process (a resumed job and its stalled original may meet).
  const running = new Map<string, Promise<Record<string, unknown>>>();
  const serveOnce = (data: ComputeJobData) => {
    const previous = running.get(data.jobId) ?? Promise.resolve({});
    const next = previous.catch(() => ({})).then(() =>
      serve(data).catch(async (error: unknown) => {
        // Failed for good: nothing more to do for it, so the sweep below must not pick it up again.
        if (isUnrecoverable(error)) await forget(BigInt(data.jobId));
        throw error;
      }),
    );
    running.set(data.jobId, next);
    void next.finally(() => {
      if (running.get(data.jobId) === next) running.delete(data.jobId);
    }).catch(() => undefined);
    return next;
  };

  const queueName = `compute-jobs-${me.toLowerCase()}`;
  const queue = createQueue<ComputeJobData>(queueName, rt.redis, { queue: { prefix: rt.queuePrefix } });
  createWorker<ComputeJobData>(queueName, async (job: Job<ComputeJobData>) => serveOnce(job.data), {
    connection: rt.redis,
    concurrency: settings.concurrency,
    log,
    // A job whose process died is noticed within about 20 s (its lock lapses, the next check moves it back).
    worker: { prefix: rt.queuePrefix, lockDuration: 10_000, stalledInterval: 5_000 },
  });
  rt.onShutdown(() => closeAll());

  // Claimed jobs not finished: left by an earlier run, or whose retries ran out (a node or storage
  // outage). Swept at start and every CLAIMED_SWEEP_MS: each is run again while its deadline allows
  // (serve() forgets it once the deadline passed or it failed for good).
  const sweepClaimed = async () => {
    for (const [jobId, text] of Object.entries(await rt.redis.hgetall(claimedKey))) {
      if (running.has(jobId)) continue;
      const data = JSON.parse(text) as ComputeJobData;
      if (await addOrRetry(queue, "resume", data, `${chainId}-resume-${jobId}`)) log.info({ computeJob: jobId }, "resuming a claimed job not finished yet");
    }
  };
  await sweepClaimed();
  rt.every(CLAIMED_SWEEP_MS, "compute-provider claimed-jobs sweep", sweepClaimed);

  const computeEntry = entries.ComputeMarket;
  const watcher = new ChainWatcher({
    name: `compute-provider-${me.toLowerCase()}`,
    provider,
    cursors: rt.cursors,
    contracts: [{ address: marketAddress, abi: market.interface, events: ["JobPosted"] }],
    startBlock: computeEntry?.block ?? rt.deployment.startBlock,
    handler: async (event: ChainEvent) => {
      const jobId = event.args.jobId as bigint;
      const modelId = event.args.modelId as bigint;
      const mode = MODES[Number(event.args.mode)];
      if (!servesModel(settings.models, modelId)) {
        metrics.skipped.inc({ reason: "model" });
        log.debug({ computeJob: jobId.toString(), modelId: modelId.toString() }, "job for a model this provider does not serve");
        return;
      }
      if (mode === "tee" && !enclave) {
        metrics.skipped.inc({ reason: "mode" });
        log.info({ computeJob: jobId.toString() }, "TEE job skipped: no enclave key (COMPUTE_TEE_KEY)");
        return;
      }
      const data: ComputeJobData = { jobId: jobId.toString(), input: event.args.input as string, seenAt: Date.now() };
      await queue.add("serve", data, { jobId: event.id });
    },
    confirmations: rt.confirmations,
    maxBlockRange: rt.config.maxBlockRange,
    pollIntervalMs: rt.config.pollIntervalMs,
    log,
  });
  await watcher.start();
  rt.onShutdown(() => watcher.stop());

  log.info(
    { models: settings.models.kind === "all" ? "all" : settings.models.ids.map(String), tee: enclave?.address ?? null, dataDir: settings.dataDir, proverThreads: settings.proverThreads, queue: queueName },
    "compute provider ready",
  );
}
