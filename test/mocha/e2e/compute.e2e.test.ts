/**
 * The compute layer end to end on a real Hardhat node, a real Redis and real agent processes, set up
 * the way `npm start` does it (the digits dataset and weights stored through storage deals, the model
 * registered with zk and TEE modes, the devnet enclave acknowledged): a zk job posted from the CLI is
 * proven, paid and its result file recorded; the output's lineage shows the input, the weights and
 * the training data; a TEE job whose input is a storage file is fetched by root and signed; a job
 * whose input does not match its commitment is never claimed and the keeper refunds it; a provider
 * killed (SIGKILL) after claiming finishes the job once restarted, and one that stays dead is slashed
 * by the keeper while the client is refunded.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Wallet } from "ethers";
import { PROJECT_ROOT } from "../../../agents/src/core/config.js";
import { DEVNET_ACCOUNTS, beaconAgent, computeProviderAgent, startDevnet, type Devnet } from "../../../agents/src/devnet/devnet.js";
import { heldBackDigits, setupDevnetCompute, type DevnetModel } from "../../../agents/src/devnet/compute.js";
import { connect, type Connection } from "../../../agents/src/sdk/connect.js";
import { ComputeClient, JOB_STATUS, connectComputeContracts, type ComputeClientContracts } from "../../../agents/src/sdk/compute/client.js";
import { hex32, lineage } from "../../../agents/src/sdk/compute/lineage.js";
import { inputCommitment } from "../../../agents/src/sdk/compute/commitment.js";
import { infer, inputBytes, loadModel, type Model } from "../../../agents/src/sdk/compute/model.js";
import { eventsIn } from "../../../agents/src/sdk/contracts.js";
import { until } from "../../helpers/wait.js";

const run = promisify(execFile);
const address = (key: string) => new Wallet(key).address;
const PROVIDER = address(DEVNET_ACCOUNTS.computeProvider.privateKey);
const KEEPER = address(DEVNET_ACCOUNTS.keeper.privateKey);
const CLIENT = address(DEVNET_ACCOUNTS.client.privateKey);

describe("compute end to end (real node, Redis, agents)", function () {
  this.timeout(600_000);
  let dir: string;
  let devnet: Devnet;
  let setup: DevnetModel;
  let client: Connection;
  let compute: ComputeClient;
  let contracts: ComputeClientContracts;
  let model: Model;
  const digits = heldBackDigits(6);
  /** The zk job posted from the CLI and its recorded output root. */
  let cliJob: bigint | undefined;
  let cliOutputRoot: bigint | undefined;

  const status = async (jobId: bigint) => JOB_STATUS[Number((await contracts.computeMarket.job(jobId)).status)];
  const providerLog = () => readFileSync(path.join(devnet.logDir, "compute-provider.log"), "utf8");
  /** The chain's latest block time and the market's shortest job duration. */
  const minDuration = async () => Number((await contracts.computeMarket.config()).minJobDuration);
  /** Kills the compute provider (SIGKILL) as soon as it has claimed `jobId`; returns the status seen right after. */
  const killAfterClaim = async (jobId: bigint) => {
    await until(`job ${jobId} to be claimed`, 60_000, async () => ((await status(jobId)) === "Claimed" ? true : undefined), 25);
    devnet.agents.get("compute-provider")?.process.kill();
    return status(jobId);
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "daios-compute-e2e-"));
    devnet = await startDevnet({ dir: path.join(dir, "devnet"), rpcPort: 0 });
    await Promise.all([
      devnet.startAgent(beaconAgent()),
      devnet.startAgent({ name: "provider-a", role: "storage-provider", privateKey: DEVNET_ACCOUNTS.providerA.privateKey }),
      devnet.startAgent({ name: "provider-b", role: "storage-provider", privateKey: DEVNET_ACCOUNTS.providerB.privateKey }),
      devnet.startAgent({ name: "keeper", role: "keeper", privateKey: DEVNET_ACCOUNTS.keeper.privateKey }),
      devnet.startAgent(computeProviderAgent()),
    ]);
    setup = await setupDevnetCompute(devnet);
    client = await connect({ rpcUrl: devnet.rpcUrl, privateKey: DEVNET_ACCOUNTS.client.privateKey, deploymentFile: devnet.deploymentFile });
    contracts = connectComputeContracts(devnet.deployment, client.signer as Wallet);
    compute = new ComputeClient({ provider: client.provider, signer: client.signer, contracts });
    model = loadModel();
  });

  after(async () => {
    await client?.close();
    await devnet?.stop();
    // DAIOS_KEEP_TEST_DIRS=1 keeps the agents' logs and data for a look after the run.
    if (dir && !process.env.DAIOS_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) =>
    run(process.execPath, [path.join(PROJECT_ROOT, "agents/bin/daios.js"), "--rpc", devnet.rpcUrl, "--key", DEVNET_ACCOUNTS.client.privateKey, "--deployment", devnet.deploymentFile, ...args]).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it("a zk job posted from the CLI is proven, paid, and its result file stored and recorded", async () => {
    const digit = digits[0];
    const file = path.join(dir, "digit.csv");
    writeFileSync(file, `${digit.input.join(",")}\n`);
    const providerCredit = await contracts.computeMarket.credits(PROVIDER);
    const started = Date.now();
    const result = await cli("--json", "compute", "run", "--model", setup.modelId.toString(), "--input", file, "--mode", "zk", "--timeout", "120", "--data-root", hex32(setup.datasetRoot));
    const seconds = (Date.now() - started) / 1000;
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    const printed = JSON.parse(result.stdout.slice(result.stdout.indexOf("{"))) as { jobId: string; status: string; output: string; txHash: string; provider: string; logits: string[] };
    const expected = infer(model, digit.input);
    expect(printed.status).to.equal("Accepted");
    expect(printed.provider).to.equal(PROVIDER);
    expect(BigInt(printed.output)).to.equal(BigInt(expected.output));
    expect(printed.logits.map(String)).to.deep.equal(expected.logits.map(String));
    cliJob = BigInt(printed.jobId);
    console.log(`      CLI post → paid (including the CLI's start-up): ${seconds.toFixed(1)} s`);

    // The transaction the CLI printed verified the proof and paid the provider.
    const receipt = await client.provider.getTransactionReceipt(printed.txHash);
    const [accepted] = eventsIn(contracts.computeMarket, receipt as NonNullable<typeof receipt>, "JobAccepted");
    expect(accepted.args.jobId).to.equal(cliJob);
    expect(accepted.args.provider).to.equal(PROVIDER);
    expect(accepted.args.enclave).to.equal("0x0000000000000000000000000000000000000000");
    const job = await contracts.computeMarket.job(cliJob);
    expect(accepted.args.pay + accepted.args.protocolFee).to.equal(job.price);
    expect(accepted.args.pay > 0n).to.equal(true);
    expect(await contracts.computeMarket.jobDataRoots(cliJob)).to.deep.equal([setup.datasetRoot]);

    // The provider stores the result file as its own deal and records it as the job's output.
    cliOutputRoot = await until("the result file to be recorded", 90_000, async () => {
      const root = (await contracts.computeMarket.job(cliJob as bigint)).outputRoot;
      return root !== 0n ? root : undefined;
    });
    expect(await contracts.computeMarket.producerOf(cliOutputRoot)).to.equal(cliJob);
    const out = path.join(dir, "result.json");
    await client.storage.download(cliOutputRoot, out);
    const stored = JSON.parse(readFileSync(out, "utf8")) as { jobId: string; output: number; logits: string[]; model: { id: string; weightsRoot: string }; provider: string; mode: string };
    expect(stored.jobId).to.equal(cliJob.toString());
    expect(stored.output).to.equal(expected.output);
    expect(stored.logits).to.deep.equal(expected.logits.map(String));
    expect(stored.model.id).to.equal(setup.modelId.toString());
    expect(stored.model.weightsRoot).to.equal(hex32(setup.weightsRoot));
    expect(stored.provider).to.equal(PROVIDER);
    expect(stored.mode).to.equal("zk");

    // Its pay was credited, and withdrawn once over the provider's threshold.
    const withdrawn = await until("the provider to withdraw its pay", 30_000, async () => {
      const events = await contracts.computeMarket.queryFilter(contracts.computeMarket.filters.Withdrawn(PROVIDER), receipt?.blockNumber);
      return events.length > 0 ? events : undefined;
    });
    const paidOut = withdrawn.reduce((sum, e) => sum + e.args.amount, 0n) + (await contracts.computeMarket.credits(PROVIDER)) - providerCredit;
    expect(paidOut).to.equal(accepted.args.pay);
  });

  it("the output's lineage shows the job, its input and data roots, the model's weights and training data (CLI, read on-chain)", async () => {
    expect(cliOutputRoot !== undefined, "the CLI job recorded its output").to.equal(true);
    const root = cliOutputRoot as bigint;
    const fetchRoot = async (r: bigint) => {
      const out = path.join(dir, `lineage-${hex32(r)}`);
      await client.storage.download(r, out);
      return readFileSync(out);
    };
    const graph = await lineage({ provider: client.provider, computeMarket: contracts.computeMarket, modelRegistry: contracts.modelRegistry }, root, { fetchRoot });
    const edge = (relation: string) => graph.edges.filter((e) => e.relation === relation);
    expect(edge("produced").map((e) => e.from)).to.deep.equal([`job:${cliJob}`]);
    // The provider's result file, fetched from storage, names this job, its output and its input.
    expect(edge("produced").map((e) => e.check)).to.deep.equal([{ result: "verified" }]);
    expect(edge("model").map((e) => e.from)).to.deep.equal([`model:${setup.modelId}`]);
    expect(edge("weights").map((e) => e.from)).to.deep.equal([`data:${hex32(setup.weightsRoot)}`]);
    expect(edge("training-data").map((e) => e.from)).to.deep.equal([`data:${hex32(setup.datasetRoot)}`]);
    expect(edge("data").map((e) => e.from)).to.deep.equal([`data:${hex32(setup.datasetRoot)}`]);
    const input = graph.nodes.find((n) => n.kind === "inline-input");
    expect(input && "values" in input ? input.values : undefined).to.deep.equal(digits[0].input);

    const printed = await cli("lineage", hex32(root));
    expect(printed.code, printed.stderr).to.equal(0);
    expect(printed.stdout)
      .to.contain(hex32(root))
      .and.to.contain(hex32(setup.weightsRoot))
      .and.to.contain(hex32(setup.datasetRoot))
      .and.to.match(new RegExp(`job ${cliJob}`))
      .and.to.contain("[provider's claim; output file checked: names this job, output and input]")
      .and.to.contain("(commitment recomputed: matches)");
  });

  it("a TEE job whose input is a storage file: fetched by root, checked, signed by the acknowledged enclave and paid", async () => {
    const digit = digits[1];
    const file = path.join(dir, "digit-1.json");
    writeFileSync(file, JSON.stringify(digit.input));
    const stored = await client.storage.upload(file, { replicas: 1, periods: 20 });
    const started = Date.now();
    const jobId = await compute.postJob({ modelId: setup.modelId, input: digit.input, mode: "tee", timeoutSec: 120, inputRoot: stored.dataRoot, dataRoots: [setup.datasetRoot] });
    const result = await compute.waitForResult(jobId);
    console.log(`      SDK post → paid (TEE, input fetched from storage): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(result.status).to.equal("Accepted");
    expect(result.output).to.equal(BigInt(infer(model, digit.input).output));
    const receipt = await client.provider.getTransactionReceipt(result.txHash);
    const [accepted] = eventsIn(contracts.computeMarket, receipt as NonNullable<typeof receipt>, "JobAccepted");
    expect(accepted.args.enclave).to.equal(setup.enclave);
    expect((await contracts.computeMarket.job(jobId)).inputRoot).to.equal(stored.dataRoot);
    const outputRoot = await until("the TEE job's result file to be recorded", 90_000, async () => {
      const root = (await contracts.computeMarket.job(jobId)).outputRoot;
      return root !== 0n ? root : undefined;
    });
    const graph = await lineage({ provider: client.provider, computeMarket: contracts.computeMarket, modelRegistry: contracts.modelRegistry }, outputRoot);
    expect(graph.edges.filter((e) => e.relation === "input").map((e) => e.from)).to.deep.equal([`data:${hex32(stored.dataRoot)}`]);
  });

  it("a job whose input does not match its commitment is never claimed; the keeper refunds it after the deadline", async () => {
    const digit = digits[2];
    const commitment = await inputCommitment(digit.input, model);
    const { computeMarket, token } = contracts;
    const price = (await contracts.modelRegistry.model(setup.modelId)).pricePerJob;
    await (await token.approve(await computeMarket.getAddress(), price)).wait();
    const latest = await client.provider.getBlock("latest");
    // Room for the provider to see and refuse it on a loaded machine before the keeper expires it.
    const deadline = BigInt((latest?.timestamp ?? 0) + (await minDuration()) + 15);
    const credit = await computeMarket.credits(CLIENT);
    // The commitment of another input: the job is valid on-chain, but no result for it could be proven.
    const posted = await (
      await computeMarket.postJob({ modelId: setup.modelId, mode: 0, inputCommitment: commitment + 1n, input: inputBytes(model, digit.input), inputRoot: 0n, dataRoots: [], maxFee: price, deadline })
    ).wait();
    const jobId = eventsIn(computeMarket, posted as NonNullable<typeof posted>, "JobPosted")[0].args.jobId as bigint;
    await until("the provider to refuse the job", 60_000, async () => (providerLog().includes(`job ${jobId}: the input given inline has commitment`) ? true : undefined));
    expect(await status(jobId)).to.equal("Open");
    const expired = await until("the keeper to expire the job", 90_000, async () => {
      const events = await computeMarket.queryFilter(computeMarket.filters.JobExpired(jobId));
      return events[0];
    });
    expect(JOB_STATUS[Number(expired.args.status)]).to.equal("Refunded");
    expect(expired.args.reporter).to.equal(KEEPER);
    expect(expired.args.slashed).to.equal(0n);
    expect(expired.args.refund).to.equal(price);
    expect((await computeMarket.job(jobId)).provider).to.equal("0x0000000000000000000000000000000000000000");
    expect((await computeMarket.credits(CLIENT)) - credit).to.equal(price);
  });

  it("a provider killed (SIGKILL) after claiming finishes the job when it restarts before the deadline", async () => {
    const digit = digits[3];
    const jobId = await compute.postJob({ modelId: setup.modelId, input: digit.input, mode: "zk", timeoutSec: 120 });
    expect(await killAfterClaim(jobId), "killed before it could submit").to.equal("Claimed");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await status(jobId), "nothing was submitted by the dead provider").to.equal("Claimed");
    await devnet.startAgent(computeProviderAgent());
    const result = await compute.waitForResult(jobId);
    expect(result.status).to.equal("Accepted");
    expect(result.provider).to.equal(PROVIDER);
    expect(result.output).to.equal(BigInt(infer(model, digit.input).output));
    expect(providerLog()).to.contain("resuming a claimed job not finished yet");
  });

  // Last: the provider stays dead.
  it("a provider killed after claiming is slashed: the keeper expires the job, the client is refunded with part of the collateral", async () => {
    const digit = digits[4];
    const { computeMarket, registry } = contracts;
    const role = await registry.COMPUTE_ROLE();
    const credit = await computeMarket.credits(CLIENT);
    const jobId = await compute.postJob({ modelId: setup.modelId, input: digit.input, mode: "zk", timeoutSec: Math.max(await minDuration(), 25) });
    const stakeBefore = (await registry.getProvider(PROVIDER, role)).stake;
    expect(await killAfterClaim(jobId), "killed before it could submit").to.equal("Claimed");
    const job = await computeMarket.job(jobId);
    expect(job.provider).to.equal(PROVIDER);
    expect(job.collateral > 0n).to.equal(true);

    const result = await compute.waitForResult(jobId);
    expect(result.status).to.equal("Slashed");
    const [expired] = await computeMarket.queryFilter(computeMarket.filters.JobExpired(jobId));
    expect(expired.args.reporter).to.equal(KEEPER);
    expect(expired.args.slashed).to.equal(job.collateral);
    expect(expired.args.refund).to.equal(job.price + job.collateral - expired.args.reporterShare);
    expect((await registry.getProvider(PROVIDER, role)).stake).to.equal(stakeBefore - job.collateral);
    expect((await computeMarket.credits(CLIENT)) - credit).to.equal(expired.args.refund);
  });
});
