/**
 * Compute layer benchmarks (`npm run bench -- compute`):
 *   compute.model.accuracy              held-back split accuracy of the digits model: the integer inference
 *                                       run here over the held-back rows, checked against model.json's record
 *   compute.infer.us                    plain TypeScript inference of one digit (the baseline of proving)
 *   compute.prove.ms                    one digits inference proven through the ProverPool (proveInference)
 *   compute.submitResult.gas            zk result with the real DigitsVerifier and a real proof, and
 *   compute.submitResult.tee.gas        TEE result with an enclave signature: receipts on Hardhat's network
 *                                       after the Ignition deployment
 *   compute.e2e.job_latency.s           zk job posted with the SDK until paid, on a Hardhat node at 1 block/s,
 *                                       Redis and real agent processes (the devnet's compute provider)
 *   compute.e2e.job_latency.tee.s       the same for TEE jobs
 * COMPUTE_BENCH_PARTS=accuracy,prove,gas,e2e picks parts (default all).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ContractTransactionReceipt, Wallet } from "ethers";
import { artifactPaths } from "../circuits/circuits.js";
import { ProverPool } from "../agents/src/core/prover-pool.js";
import { silentLogger } from "../agents/src/core/log.js";
import { connectContracts, eventsIn } from "../agents/src/sdk/contracts.js";
import { connect } from "../agents/src/sdk/connect.js";
import { infer, inputBytes, loadModel, type Model } from "../agents/src/sdk/compute/model.js";
import { inputCommitment, weightsCommitment } from "../agents/src/sdk/compute/commitment.js";
import { DIGITS_CIRCUIT, proveInference } from "../agents/src/sdk/compute/prove.js";
import { SoftwareEnclave, computeMarketDomain, devnetMeasurement } from "../agents/src/sdk/compute/tee.js";
import { ComputeClient, connectComputeContracts, type ComputeMode } from "../agents/src/sdk/compute/client.js";
import { loadDataset, stratifiedSplit } from "../agents/src/tools/train-digits.js";
import { DEVNET_ACCOUNTS, beaconAgent, computeProviderAgent, startDevnet } from "../agents/src/devnet/devnet.js";
import { DEVNET_MODEL_PRICE, heldBackDigits, setupDevnetCompute } from "../agents/src/devnet/compute.js";
import { deployDaios } from "../deploy/deploy-daios.js";
import { round, stats, type BenchResult } from "./harness.js";

const say = (line: string) => console.log(`[bench compute] ${line}`);
const TOKEN = 10n ** 18n;

/** Proofs timed after the warm-up proof. */
const PROVE_RUNS = 7;
/** Jobs of each mode settled on the Hardhat network (the first is the model's first job). */
const GAS_JOBS = 6;
/** e2e jobs of each mode after a warm-up job. */
const E2E_RUNS = 5;

function digitsModel(): Model & { meta?: Record<string, unknown> } {
  return loadModel();
}

function constraints(): number {
  const manifest = JSON.parse(readFileSync(path.join(path.dirname(artifactPaths(DIGITS_CIRCUIT).zkey), "manifest.json"), "utf8")) as { constraints: number };
  return manifest.constraints;
}

// ---------------------------------------------------------------------------------------- accuracy + baseline

interface AccuracyMeta {
  dataset?: { sha256?: string };
  split?: { seed?: number; heldBackRows?: number };
  accuracy?: { float?: { heldBack?: number }; quantised?: { heldBack?: number } };
}

/**
 * Runs the integer inference over every held-back row: the accuracy, checked against what training
 * recorded in model.json, and the time of one plain inference (the baseline proving is compared with).
 */
function accuracyBench(model: Model & { meta?: Record<string, unknown> }): { results: BenchResult[]; inferMs: number } {
  const meta = (model.meta ?? {}) as AccuracyMeta;
  const data = loadDataset();
  if (meta.dataset?.sha256 !== undefined && meta.dataset.sha256 !== data.sha256) {
    throw new Error(`model.json was trained on a dataset with sha256 ${meta.dataset.sha256}, but digits.csv has ${data.sha256}: run \`npm run train\``);
  }
  const { heldBack } = stratifiedSplit(data.y);
  const recorded = meta.accuracy?.quantised?.heldBack;
  if (recorded === undefined) throw new Error("model.json records no held-back accuracy (meta.accuracy.quantised.heldBack): run `npm run train`");

  const passMs: number[] = [];
  let correct = -1;
  for (let pass = 0; pass <= 9; pass++) {
    const started = performance.now();
    let right = 0;
    for (const row of heldBack) if (infer(model, data.x[row]).output === data.y[row]) right++;
    const ms = performance.now() - started;
    if (correct >= 0 && right !== correct) throw new Error(`inference is not deterministic: ${right} then ${correct} held-back rows right`);
    correct = right;
    if (pass > 0) passMs.push(ms);
  }
  const accuracy = correct / heldBack.length;
  // model.json keeps six decimals.
  if (Math.abs(accuracy - recorded) > 5e-7) {
    throw new Error(`the integer inference gets ${correct}/${heldBack.length} = ${accuracy} of the held-back split, but model.json records ${recorded}: the committed model and the code disagree`);
  }
  say(`accuracy: ${correct}/${heldBack.length} held-back rows right = ${accuracy.toFixed(6)} (model.json: ${recorded})`);
  const perRow = passMs.map((ms) => ms / heldBack.length);
  const s = stats(perRow);
  return {
    inferMs: s.median,
    results: [
      {
        name: "compute.model.accuracy",
        value: round(accuracy, 6),
        unit: "fraction",
        better: "higher",
        detail: {
          correct,
          rows: heldBack.length,
          recorded_in_model_json: recorded,
          agrees_with_model_json: true,
          float_model_heldBack: meta.accuracy?.float?.heldBack,
          split: "stratified 80/20, the training script's seed",
          split_seed: meta.split?.seed,
          dataset: "UCI optdigits test set (1797 rows, 8x8, pixels 0..16), agents/models/digits/digits.csv",
          model: "integer MLP 64 -> 16 (ReLU) -> 10, argmax; the inference the circuit proves",
        },
      },
      {
        name: "compute.infer.us",
        value: round(s.median * 1000, 2),
        unit: "us",
        better: "lower",
        detail: {
          what: "plain TypeScript integer inference of one digit (agents/src/sdk/compute/model.ts infer), the baseline of compute.prove.ms",
          runs: s.runs,
          min: round(s.min * 1000, 2),
          max: round(s.max * 1000, 2),
          rows_per_run: heldBack.length,
        },
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------- proving

async function proveBench(pool: ProverPool, model: Model, inferMs: number, prover: string): Promise<BenchResult[]> {
  const digits = heldBackDigits(PROVE_RUNS + 1);
  const wallMs: number[] = [];
  const threadMs: number[] = [];
  for (let run = 0; run <= PROVE_RUNS; run++) {
    const started = performance.now();
    const proof = await proveInference(pool, model, digits[run].input, BigInt(run + 1), prover);
    const ms = performance.now() - started;
    if (proof.output !== infer(model, digits[run].input).output) throw new Error(`the proof of run ${run} has class ${proof.output}, the inference another`);
    say(`prove ${run === 0 ? "warm-up" : `run ${run}/${PROVE_RUNS}`}: ${ms.toFixed(0)} ms (in the prover thread ${proof.durationMs} ms)`);
    if (run === 0) continue;
    wallMs.push(ms);
    threadMs.push(proof.durationMs);
  }
  const s = stats(wallMs);
  const t = stats(threadMs);
  return [
    {
      name: "compute.prove.ms",
      value: round(s.median, 0),
      unit: "ms",
      better: "lower",
      target: 2000,
      detail: {
        runs: s.runs,
        min: round(s.min, 0),
        max: round(s.max, 0),
        in_thread_ms_median: round(t.median, 0),
        constraints: constraints(),
        public_inputs: 5,
        plain_inference_ms: round(inferMs, 5),
        proving_over_plain_inference_x: round(s.median / inferMs, 0),
        span: "proveInference: commitments + witness input on the caller's thread, witness + Groth16 proof in the ProverPool's thread (1 thread, snarkjs multi-threaded, as the compute provider runs it), public signals checked",
        inputs: "held-back digits, one per run, distinct job ids",
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------- gas

async function gasBench(pool: ProverPool, model: Model, dir: string): Promise<BenchResult[]> {
  const { network } = await import("hardhat");
  const connection = await network.create();
  const { ethers } = connection;
  try {
    const { deployment } = await deployDaios(connection, "bench", { ephemeral: true, deploymentFile: path.join(dir, "31337.json") });
    const [deployer, prover, client] = await ethers.getSigners();
    const c = connectContracts(deployment, deployer);
    const market = c.computeMarket!;
    const models = c.modelRegistry!;
    const marketAddress = await market.getAddress();
    const computeRole = await c.registry.COMPUTE_ROLE();

    // The digits model as the devnet registers it: DigitsVerifier for zk, an acknowledged enclave for TEE.
    const measurement = devnetMeasurement();
    const enclave = new SoftwareEnclave(undefined, measurement);
    await (await models.acknowledgeEnclave(enclave.address, measurement)).wait();
    await (
      await models.registerModel({
        verifier: deployment.contracts.DigitsVerifier!.address,
        pricePerJob: DEVNET_MODEL_PRICE,
        inputSize: model.inputs,
        inputMax: model.inputMax,
        outputSize: model.outputs,
        weightsCommitment: await weightsCommitment(model),
        // Not read by the transactions measured here (the devnet registers the weights file's storage root).
        weightsRoot: 1n,
        weightsSize: 1301n,
        trainingDataRoot: 0n,
        teeMeasurement: measurement,
        name: "digits-mlp-64-16-10",
      })
    ).wait();
    const modelId = await models.modelCount();
    for (const account of [prover, client]) {
      await (await c.token.mint(account.address, 1_000n * TOKEN)).wait();
      await (await c.token.connect(account).approve(marketAddress, 1_000n * TOKEN)).wait();
      await (await c.token.connect(account).approve(await c.registry.getAddress(), 1_000n * TOKEN)).wait();
    }
    await (await c.registry.connect(prover).register(computeRole, 100n * TOKEN, "https://prover.example", 1n)).wait();
    const domain = computeMarketDomain((await ethers.provider.getNetwork()).chainId, marketAddress);

    const gasOf = (receipt: ContractTransactionReceipt | null, event: string, what: string) => {
      if (!receipt || eventsIn(market, receipt, event).length !== 1) throw new Error(`${what}: no ${event} event`);
      return Number(receipt.gasUsed);
    };
    const digits = heldBackDigits(GAS_JOBS);
    const gas = { zk: { post: [] as number[], claim: [] as number[], result: [] as number[] }, tee: { post: [] as number[], claim: [] as number[], result: [] as number[] } };
    for (const mode of ["zk", "tee"] as const) {
      for (const digit of digits) {
        const commitment = await inputCommitment(digit.input, model);
        const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 3_600n;
        const posted = await (
          await market.connect(client).postJob({ modelId, mode: mode === "zk" ? 0 : 1, inputCommitment: commitment, input: inputBytes(model, digit.input), inputRoot: 0n, dataRoots: [], maxFee: DEVNET_MODEL_PRICE, deadline })
        ).wait();
        const jobId = eventsIn(market, posted!, "JobPosted")[0].args.jobId as bigint;
        gas[mode].post.push(gasOf(posted, "JobPosted", `postJob ${jobId}`));
        gas[mode].claim.push(gasOf(await (await market.connect(prover).claimJob(jobId)).wait(), "JobClaimed", `claimJob ${jobId}`));
        const expected = infer(model, digit.input).output;
        let receipt: ContractTransactionReceipt | null;
        if (mode === "zk") {
          const { calldata, output } = await proveInference(pool, model, digit.input, jobId, prover.address);
          receipt = await (await market.connect(prover).submitResult(jobId, output, calldata.pA, calldata.pB, calldata.pC)).wait();
        } else {
          const signature = await enclave.signResult(domain, { jobId, modelId, weightsCommitment: await weightsCommitment(model), inputCommitment: commitment, output: BigInt(expected), provider: prover.address });
          receipt = await (await market.connect(prover).submitResultTee(jobId, expected, signature)).wait();
        }
        gas[mode].result.push(gasOf(receipt, "JobAccepted", `${mode} result of job ${jobId}`));
        if ((await market.job(jobId)).output !== BigInt(expected)) throw new Error(`job ${jobId} was accepted with another output than ${expected}`);
        say(`gas, ${mode} job ${jobId}: postJob ${gas[mode].post.at(-1)}, claimJob ${gas[mode].claim.at(-1)}, ${mode === "zk" ? "submitResult" : "submitResultTee"} ${gas[mode].result.at(-1)}`);
      }
    }

    // The model's first zk job copies its verifier and weights commitment into the market (postJob) and
    // the provider's first claim locks stake in the registry and opens its account; later claims reuse
    // the idle collateral of the provider's accepted jobs. Steady state = every job after the first.
    const summary = (values: number[]) => {
      const steady = stats(values.slice(1));
      return { steady_median: steady.median, steady_min: steady.min, steady_max: steady.max, first_job: values[0], all: values };
    };
    const result = (mode: "zk" | "tee") => {
      const steady = stats(gas[mode].result.slice(1));
      return { value: steady.median, detail: { ...steady, first_job_gas: gas[mode].result[0], postJob_gas: summary(gas[mode].post), claimJob_gas: summary(gas[mode].claim) } };
    };
    const zk = result("zk");
    const tee = result("tee");
    const setup = {
      whole_transaction: true,
      network: "Hardhat in-process EDR, contracts deployed with the Ignition module (deploy/deploy-daios.ts)",
      input: "inline 64-byte held-back digit, no data roots, fee = price = 0.1 DAIOS, protocol fee 5 %",
      jobs: `${GAS_JOBS} per mode, zk first (jobs 1-${GAS_JOBS}) then TEE (jobs ${GAS_JOBS + 1}-${2 * GAS_JOBS}); the first zk job is the model's first job and the provider's first claim`,
    };
    return [
      {
        name: "compute.submitResult.gas",
        value: zk.value,
        unit: "gas",
        better: "lower",
        target: 300_000,
        detail: { ...zk.detail, verifier: "DigitsVerifier (generated Groth16, 5 public inputs)", proof: "fresh proveInference proof per job", ...setup },
      },
      {
        name: "compute.submitResult.tee.gas",
        value: tee.value,
        unit: "gas",
        better: "lower",
        target: 120_000,
        detail: { ...tee.detail, signature: "EIP-712 ComputeResult signed by an acknowledged software enclave key (65 bytes)", ...setup },
      },
    ];
  } finally {
    await connection.close();
  }
}

// ---------------------------------------------------------------------------------------- end to end

async function e2eBench(dir: string): Promise<BenchResult[]> {
  const started = performance.now();
  const devnet = await startDevnet({ dir: path.join(dir, "devnet"), rpcPort: 0, say });
  try {
    // As test/mocha/e2e/compute.e2e.test.ts: the beacon, two storage providers (the model's weights and
    // the providers' result files are storage deals), the keeper and the devnet compute provider.
    await Promise.all([
      devnet.startAgent(beaconAgent()),
      devnet.startAgent({ name: "provider-a", role: "storage-provider", privateKey: DEVNET_ACCOUNTS.providerA.privateKey }),
      devnet.startAgent({ name: "provider-b", role: "storage-provider", privateKey: DEVNET_ACCOUNTS.providerB.privateKey }),
      devnet.startAgent({ name: "keeper", role: "keeper", privateKey: DEVNET_ACCOUNTS.keeper.privateKey }),
      devnet.startAgent(computeProviderAgent()),
    ]);
    const setup = await setupDevnetCompute(devnet, say);
    say(`stack up and the model registered in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const client = await connect({ rpcUrl: devnet.rpcUrl, privateKey: DEVNET_ACCOUNTS.client.privateKey, deploymentFile: devnet.deploymentFile });
    try {
      const contracts = connectComputeContracts(devnet.deployment, client.signer as Wallet);
      const compute = new ComputeClient({ provider: client.provider, signer: client.signer, contracts });
      const model = digitsModel();
      const digits = heldBackDigits(2 * (E2E_RUNS + 1));
      const series = async (mode: ComputeMode, offset: number) => {
        const totals: number[] = [];
        const postS: number[] = [];
        const postToClaim: number[] = [];
        const claimToSettle: number[] = [];
        for (let run = 0; run <= E2E_RUNS; run++) {
          const digit = digits[offset + run];
          const t0 = performance.now();
          const jobId = await compute.postJob({ modelId: setup.modelId, input: digit.input, mode, timeoutSec: 120 });
          const tPosted = performance.now();
          const result = await compute.waitForResult(jobId);
          const seconds = (performance.now() - t0) / 1000;
          const expected = infer(model, digit.input).output;
          if (result.status !== "Accepted" || result.output !== BigInt(expected)) {
            throw new Error(`${mode} job ${jobId} ended ${result.status} with output ${result.output}, expected Accepted with ${expected} (see ${devnet.logDir}/compute-provider.log)`);
          }
          const job = await compute.status(jobId);
          const [claimed] = await contracts.computeMarket.queryFilter(contracts.computeMarket.filters.JobClaimed(jobId), job.postedAt);
          if (!claimed) throw new Error(`no JobClaimed event of job ${jobId}`);
          say(
            `e2e ${mode} ${run === 0 ? "warm-up" : `run ${run}/${E2E_RUNS}`}: job ${jobId} post -> paid ${seconds.toFixed(2)} s ` +
              `(SDK postJob ${((tPosted - t0) / 1000).toFixed(2)} s; blocks ${job.postedAt} posted, ${claimed.blockNumber} claimed, ${job.settledAt} paid)`,
          );
          if (run === 0) continue;
          totals.push(seconds);
          postS.push((tPosted - t0) / 1000);
          postToClaim.push(claimed.blockNumber - job.postedAt);
          claimToSettle.push(job.settledAt - claimed.blockNumber);
        }
        const s = stats(totals);
        return {
          value: round(s.median, 2),
          detail: {
            runs: s.runs,
            min: round(s.min, 2),
            max: round(s.max, 2),
            all: totals.map((v) => round(v, 2)),
            sdk_postJob_s_median: round(stats(postS).median, 2),
            blocks_post_to_claim_median: stats(postToClaim).median,
            blocks_claim_to_paid_median: stats(claimToSettle).median,
            load_avg_1m: round(os.loadavg()[0], 1),
          },
        };
      };
      const stack = {
        warm_up_jobs: 1,
        span: "SDK ComputeClient.postJob call (input check, commitment, approve of the price, postJob receipt) to waitForResult seeing the job Accepted (polls every 500 ms)",
        chain: "real Hardhat node over JSON-RPC, 1 block/s (interval mining, as the devnet)",
        agents: "Redis, beacon, 2 storage providers, keeper, the devnet compute provider (1 prover thread, warmed up at start; it stores each result file as a storage deal after payment, overlapping the next job); all on this 2-core machine",
        input: "inline held-back digit, one per job, posted one after another",
      };
      const zk = await series("zk", 0);
      const tee = await series("tee", E2E_RUNS + 1);
      return [
        { name: "compute.e2e.job_latency.s", value: zk.value, unit: "s", better: "lower", target: 15, detail: { mode: "zk", ...zk.detail, ...stack } },
        { name: "compute.e2e.job_latency.tee.s", value: tee.value, unit: "s", better: "lower", detail: { mode: "tee (software enclave signature)", ...tee.detail, ...stack } },
      ];
    } finally {
      await client.close();
    }
  } finally {
    await devnet.stop();
  }
}

export async function benchCompute(): Promise<BenchResult[]> {
  const started = performance.now();
  const parts = new Set((process.env.COMPUTE_BENCH_PARTS ?? "accuracy,prove,gas,e2e").split(","));
  const dir = mkdtempSync(path.join(os.tmpdir(), "daios-bench-compute-"));
  const model = digitsModel();
  const results: BenchResult[] = [];
  const pool = new ProverPool({ size: 1, log: silentLogger() });
  try {
    say("held-back accuracy and plain inference");
    const { results: accuracy, inferMs } = accuracyBench(model);
    if (parts.has("accuracy")) results.push(...accuracy);
    if (parts.has("prove")) {
      say(`proving: a warm-up and ${PROVE_RUNS} digits inferences through the ProverPool`);
      results.push(...(await proveBench(pool, model, inferMs, DEVNET_ACCOUNTS.client.address)));
    }
    if (parts.has("gas")) {
      say(`gas: ${GAS_JOBS} zk and ${GAS_JOBS} TEE jobs on the Hardhat network with the Ignition deployment`);
      results.push(...(await gasBench(pool, model, dir)));
    }
    await pool.close();
    if (parts.has("e2e")) {
      say(`end to end: a warm-up and ${E2E_RUNS} jobs per mode on a Hardhat node at 1 block/s with agent processes`);
      results.push(...(await e2eBench(dir)));
    }
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
  say(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return results;
}
