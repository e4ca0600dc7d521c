/**
 * The compute layer on the devnet: the digits model made servable, and the demo of `npm start`.
 *
 * setupDevnetCompute stores the dataset (agents/models/digits/digits.csv) and the weights file
 * (digits.weights) through storage deals, registers the model in the ModelRegistry with both modes
 * (zk: the deployment's DigitsVerifier; TEE: the devnet software enclave's measurement) and the
 * dataset's root as its training data, and acknowledges the devnet enclave key (the registry owner is
 * the deployer). computeDemo then posts a zk job and a TEE job for held-back digits, waits for the
 * compute provider's results, and prints the lineage of each output as read from the chain.
 *
 * THE DEVNET ENCLAVE IS SOFTWARE (agents/src/sdk/compute/tee.ts): its key is derived from a published
 * string below and its measurement is a hash of the inference code, so TEE results on the devnet show
 * the contract path (acknowledge, sign, recover), not hardware trust.
 */
import { readFileSync } from "node:fs";
import { Wallet, formatUnits, parseUnits } from "ethers";
import { DaiosError } from "../core/errors.js";
import { connect } from "../sdk/connect.js";
import { ComputeClient, connectComputeContracts, type ComputeMode, type JobResult } from "../sdk/compute/client.js";
import { lineage, renderLineage } from "../sdk/compute/lineage.js";
import { DIGITS_DATASET_FILE, DIGITS_WEIGHTS_FILE, decodeWeights, infer, loadModel } from "../sdk/compute/model.js";
import { weightsCommitment } from "../sdk/compute/commitment.js";
import { SoftwareEnclave, devnetMeasurement } from "../sdk/compute/tee.js";
import { loadDataset, stratifiedSplit } from "../tools/train-digits.js";
import { DEVNET_ACCOUNTS, devnetEnclaveKey, type Devnet } from "./devnet.js";

/** The devnet model's price per job: 0.1 DAIOS (a provider's result deal costs 0.001 DAIOS a period). */
export const DEVNET_MODEL_PRICE = parseUnits("0.1", 18);
/** Storage periods the dataset and weights are kept for on the devnet (a period is 30 blocks). */
const MODEL_STORAGE_PERIODS = 2000;

export interface DevnetModel {
  modelId: bigint;
  name: string;
  weightsRoot: bigint;
  weightsDeal: bigint;
  datasetRoot: bigint;
  datasetDeal: bigint;
  /** The acknowledged devnet enclave key's address. */
  enclave: string;
  measurement: string;
}

const hex = (root: bigint) => `0x${root.toString(16).padStart(64, "0")}`;

/**
 * Stores the digits dataset and weights, registers the model (zk + TEE) and acknowledges the devnet
 * enclave, from the deployer's account. Storage providers must be running.
 */
export async function setupDevnetCompute(devnet: Devnet, say: (line: string) => void = () => undefined): Promise<DevnetModel> {
  const deployer = new Wallet(DEVNET_ACCOUNTS.deployer.privateKey, devnet.provider);
  const verifier = (devnet.deployment.contracts as Partial<Record<string, { address: string }>>).DigitsVerifier?.address;
  if (!verifier) throw new DaiosError("the devnet deployment has no DigitsVerifier", { hint: "rebuild and restart the devnet (npm start)" });
  // The deployer pays for the storage deals of the model it owns.
  await (await devnet.contracts.token.connect(deployer).mint(deployer.address, parseUnits("100", 18))).wait();

  const owner = await connect({ rpcUrl: devnet.rpcUrl, privateKey: DEVNET_ACCOUNTS.deployer.privateKey, deploymentFile: devnet.deploymentFile });
  try {
    const stored = [];
    for (const [what, file] of [["dataset", DIGITS_DATASET_FILE], ["weights", DIGITS_WEIGHTS_FILE]] as const) {
      const deal = await owner.storage.upload(file, { replicas: 2, periods: MODEL_STORAGE_PERIODS });
      say(`compute: stored the digits ${what} (${deal.size} bytes) as deal ${deal.dealId}, root ${hex(deal.dataRoot)}`);
      stored.push(deal);
    }
    const [dataset, weightsDeal] = stored;
    const bytes = readFileSync(DIGITS_WEIGHTS_FILE);
    const model = decodeWeights(bytes);
    const file = loadModel();
    const name = "name" in file ? file.name : "digits";
    const measurement = devnetMeasurement();
    const compute = new ComputeClient({ provider: devnet.provider, signer: owner.signer, contracts: connectComputeContracts(devnet.deployment, owner.signer as Wallet) });
    const { modelId, txHash } = await compute.registerModel({
      name,
      verifier,
      pricePerJob: DEVNET_MODEL_PRICE,
      inputSize: model.inputs,
      inputMax: model.inputMax,
      outputSize: model.outputs,
      weightsCommitment: await weightsCommitment(model),
      weightsRoot: weightsDeal.dataRoot,
      weightsSize: BigInt(bytes.length),
      trainingDataRoot: dataset.dataRoot,
      teeMeasurement: measurement,
    });
    say(`compute: registered model ${modelId} (${name}) with a zk verifier (DigitsVerifier ${verifier}) and TEE measurement ${measurement} (tx ${txHash})`);
    const enclave = new SoftwareEnclave(devnetEnclaveKey(), measurement);
    await (await compute.contracts.modelRegistry.acknowledgeEnclave(enclave.address, measurement)).wait();
    say(`compute: acknowledged the devnet enclave key ${enclave.address} (a software signer: see README, "TEE mode")`);
    return { modelId, name, weightsRoot: weightsDeal.dataRoot, weightsDeal: weightsDeal.dealId, datasetRoot: dataset.dataRoot, datasetDeal: dataset.dealId, enclave: enclave.address, measurement };
  } finally {
    await owner.close();
  }
}

/** Held-back digits of the dataset (rows the model was not trained on) with their labels. */
export function heldBackDigits(count: number): { row: number; label: number; input: number[] }[] {
  const data = loadDataset();
  const { heldBack } = stratifiedSplit(data.y);
  return heldBack.slice(0, count).map((row) => ({ row, label: data.y[row], input: data.x[row] }));
}

/** Draws an 8×8 digit with shades for the terminal. */
export function drawDigit(input: readonly number[]): string[] {
  const shades = " .:-=+*#%@";
  const lines: string[] = [];
  for (let r = 0; r < 8; r++) lines.push(input.slice(r * 8, r * 8 + 8).map((v) => shades[Math.min(9, Math.round((v / 16) * 9))].repeat(2)).join(""));
  return lines;
}

export interface DemoJob {
  mode: ComputeMode;
  jobId: bigint;
  result: JobResult;
  latencySec: number;
  outputRoot: bigint;
}

/**
 * Posts a zk job and a TEE job from the client account for held-back digits (naming the dataset's root
 * as their inputs' lineage), waits for each to be proven and paid, then for its result file to be
 * recorded, and prints the lineage of the output.
 */
export async function computeDemo(devnet: Devnet, setup: DevnetModel, say: (line: string) => void): Promise<DemoJob[]> {
  const client = await connect({ rpcUrl: devnet.rpcUrl, privateKey: DEVNET_ACCOUNTS.client.privateKey, deploymentFile: devnet.deploymentFile });
  const compute = new ComputeClient({ provider: client.provider, signer: client.signer, contracts: connectComputeContracts(devnet.deployment, client.signer as Wallet) });
  const done: DemoJob[] = [];
  try {
    const digits = heldBackDigits(2);
    const model = loadModel();
    const heldBack = "meta" in model ? (model.meta as { accuracy?: { quantised?: { heldBack?: number } } }).accuracy?.quantised?.heldBack : undefined;
    const accuracy = heldBack === undefined ? "most" : `${(heldBack * 100).toFixed(2)} %`;
    for (const [i, mode] of (["zk", "tee"] as const).entries()) {
      const digit = digits[i];
      const expected = infer(model, digit.input);
      say(`compute demo: ${mode} job for held-back row ${digit.row} of the dataset (a handwritten ${digit.label}):`);
      for (const line of drawDigit(digit.input)) say(`compute demo:     ${line}`);
      const started = Date.now();
      const jobId = await compute.postJob({ modelId: setup.modelId, input: digit.input, mode, timeoutSec: 120, dataRoots: [setup.datasetRoot] });
      say(`compute demo:   posted job ${jobId}, ${formatUnits(DEVNET_MODEL_PRICE, 18)} DAIOS in escrow`);
      const result = await compute.waitForResult(jobId, {
        onProgress: (event) => {
          if (event.type === "claimed") say(`compute demo:   claimed by ${event.provider} (collateral ${formatUnits(event.collateral, 18)} DAIOS)`);
        },
      });
      const latencySec = (Date.now() - started) / 1000;
      if (result.status !== "Accepted") throw new DaiosError(`demo job ${jobId} ended ${result.status}, not Accepted`, { hint: `see ${devnet.logDir}/compute-provider.log` });
      say(
        `compute demo:   ${mode === "zk" ? "Groth16 proof verified by DigitsVerifier" : "enclave signature verified"} and paid in tx ${result.txHash}, ${latencySec.toFixed(1)} s after posting: ` +
          `class ${result.output}, ${result.output === BigInt(digit.label) ? "right" : `wrong: the label is ${digit.label} (the model gets ${accuracy} of the held-back split right)`}; ` +
          `local inference agrees, logits ${expected.logits.join(", ")}`,
      );
      if (result.output !== BigInt(expected.output)) throw new DaiosError(`job ${jobId} was accepted with class ${result.output}, but the model gives ${expected.output}`);
      const until = Date.now() + 120_000;
      let outputRoot = 0n;
      while (outputRoot === 0n) {
        outputRoot = (await compute.status(jobId)).outputRoot;
        if (outputRoot !== 0n) break;
        if (Date.now() > until) throw new DaiosError(`job ${jobId}'s result file was not recorded within 2 minutes`, { hint: `see ${devnet.logDir}/compute-provider.log` });
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      say(`compute demo:   result file stored by the provider and recorded as the output, root ${hex(outputRoot)}; its lineage:`);
      const graph = await lineage({ provider: client.provider, computeMarket: compute.contracts.computeMarket, modelRegistry: compute.contracts.modelRegistry }, outputRoot);
      for (const line of renderLineage(graph).split("\n")) say(`compute demo:     ${line}`);
      done.push({ mode, jobId, result, latencySec, outputRoot });
    }
    say(`compute demo: passed (post → paid: ${done.map((d) => `${d.mode} ${d.latencySec.toFixed(1)} s`).join(", ")})`);
    return done;
  } finally {
    await client.close();
  }
}

