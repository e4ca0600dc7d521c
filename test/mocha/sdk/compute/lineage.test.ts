/**
 * lineage() (agents/src/sdk/compute/lineage.ts) on a real in-process chain: jobs posted through the
 * SDK, claimed, accepted with the software enclave's signature and their result files recorded as
 * storage deals, then walked back from an output root: through producerOf to the job, its model's
 * weights and training data, its input (inline or a root that is itself an output) and its data roots;
 * a model whose weights are a job's output; a cycle of records; an unknown root; a snapshot at an
 * earlier block; the text rendering.
 *
 *   npx hardhat test mocha test/mocha/sdk/compute/lineage.test.ts
 */
import { expect } from "chai";
import { network } from "hardhat";
import { ComputeClient } from "../../../../agents/src/sdk/compute/client.js";
import { inputCommitment } from "../../../../agents/src/sdk/compute/commitment.js";
import { RESULT_FILE_FORMAT, lineage, renderLineage, type DataNode, type InlineInputNode, type JobNode, type LineageGraph, type ModelNode } from "../../../../agents/src/sdk/compute/lineage.js";
import { deployComputeStack, ENCLAVE_MEASUREMENT, type ComputeStack } from "./compute-fixture.js";

const { ethers } = await network.create();

const hex = (v: bigint) => `0x${v.toString(16).padStart(64, "0")}`;
const INPUT = [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12, 0, 0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0];
const WEIGHTS = 0x1111n;
const TRAINING = 0x2222n;
const D1 = 0xd1n;
const D2 = 0xd2n;

describe("compute lineage (in-process chain)", function () {
  this.timeout(300_000);
  let s: ComputeStack;
  let client: ComputeClient;
  let providerSigner: Awaited<ReturnType<typeof ethers.getSigners>>[number];
  let modelId: bigint;

  /** Registers a TEE model (and zk through the mock verifier). */
  async function registerModel(name: string, weightsRoot: bigint, trainingDataRoot: bigint): Promise<bigint> {
    const r = await client.registerModel({
      name,
      verifier: await s.verifier.getAddress(),
      pricePerJob: 10n ** 16n,
      inputSize: 64,
      inputMax: 16,
      outputSize: 10,
      weightsCommitment: 0xabcdefn + weightsRoot,
      weightsRoot,
      weightsSize: 1301n,
      trainingDataRoot,
      teeMeasurement: ENCLAVE_MEASUREMENT,
    });
    return r.modelId;
  }

  /** A TEE job posted by the client, claimed and answered by the provider, its result file stored as `outputRoot`. */
  async function job(options: { model?: bigint; inputRoot?: bigint; dataRoots?: bigint[]; output: bigint; outputRoot?: bigint }): Promise<bigint> {
    const model = options.model ?? modelId;
    const jobId = await client.postJob({ modelId: model, input: INPUT, mode: "tee", inputRoot: options.inputRoot, dataRoots: options.dataRoots, timeoutSec: 600 });
    const market = s.computeMarket.connect(providerSigner);
    await (await market.claimJob(jobId)).wait();
    const j = await market.job(jobId);
    const signature = await s.enclave.signResult(s.domain, { jobId, modelId: model, weightsCommitment: (await s.modelRegistry.model(model)).weightsCommitment, inputCommitment: j.inputCommitment, output: options.output, provider: providerSigner.address });
    await (await market.submitResultTee(jobId, options.output, signature)).wait();
    if (options.outputRoot !== undefined) await recordOutput(jobId, options.outputRoot);
    return jobId;
  }

  async function recordOutput(jobId: bigint, root: bigint): Promise<void> {
    const storage = s.storageMarket.connect(providerSigner);
    const receipt = await (await storage.createDeal(root, 100, 1, 1, 10n ** 15n)).wait();
    const created = receipt!.logs.map((l) => storage.interface.parseLog(l)).find((p) => p?.name === "DealCreated");
    // recordOutput takes an Active deal only: the provider (also a storage provider here) fills its one slot.
    await (await storage.joinDeal(created!.args.dealId as bigint, 0)).wait();
    await (await s.computeMarket.connect(providerSigner).recordOutput(jobId, created!.args.dealId as bigint)).wait();
  }

  const source = () => ({ provider: ethers.provider, computeMarket: client.contracts.computeMarket, modelRegistry: client.contracts.modelRegistry });
  const node = <T>(g: LineageGraph, id: string) => g.nodes.find((n) => n.id === id) as T;
  const edgesInto = (g: LineageGraph, id: string) => g.edges.filter((e) => e.to === id).map((e) => `${e.relation}<-${e.from}`).sort();

  before(async () => {
    const [owner, clientSigner, provider, treasury] = await ethers.getSigners();
    providerSigner = provider;
    s = await deployComputeStack(ethers, { owner, clients: [clientSigner], providers: [provider], treasury });
    await (await s.registry.connect(provider).register(await s.registry.STORAGE_ROLE(), 10n ** 18n, "http://127.0.0.1:1", 1n << 40n)).wait();
    client = s.clientFor(clientSigner, async () => []);
    modelId = await registerModel("digits", WEIGHTS, TRAINING);
  });

  it("walks an output back to its job, model weights and training data, inline input and data roots", async () => {
    const O1 = 0xa1n;
    const jobId = await job({ dataRoots: [D1], output: 7n, outputRoot: O1 });
    const g = await lineage(source(), O1);
    expect(g.root).to.equal(O1);
    expect(g.block).to.equal(await ethers.provider.getBlockNumber());
    expect(g.cycles).to.deep.equal([]);
    expect(g.truncated).to.equal(false);
    const out = node<DataNode>(g, `data:${hex(O1)}`);
    expect(out.producedBy).to.equal(jobId);
    const j = node<JobNode>(g, `job:${jobId}`);
    expect(j).to.deep.include({ modelId, mode: "tee", status: "Accepted", output: 7n, outputRoot: O1, provider: providerSigner.address });
    expect(edgesInto(g, `data:${hex(O1)}`)).to.deep.equal([`produced<-job:${jobId}`]);
    expect(edgesInto(g, `job:${jobId}`)).to.deep.equal([`data<-data:${hex(D1)}`, `input<-input:${jobId}`, `model<-model:${modelId}`].sort());
    expect(edgesInto(g, `model:${modelId}`)).to.deep.equal([`training-data<-data:${hex(TRAINING)}`, `weights<-data:${hex(WEIGHTS)}`]);
    const input = node<InlineInputNode>(g, `input:${jobId}`);
    expect(input.values).to.deep.equal(INPUT);
    expect(input.inputCommitment).to.equal(j.inputCommitment);
    expect(input).to.deep.include({ recomputed: j.inputCommitment, matches: true });
    expect(node<ModelNode>(g, `model:${modelId}`)).to.deep.include({ name: "digits", weightsRoot: WEIGHTS, trainingDataRoot: TRAINING });
    for (const r of [D1, WEIGHTS, TRAINING]) expect(node<DataNode>(g, `data:${hex(r)}`).producedBy).to.equal(undefined);
    // Every edge names the contract state it was read from.
    expect(g.edges.find((e) => e.relation === "produced")?.source).to.equal(`ComputeMarket.producerOf(${hex(O1)})`);
    expect(g.edges.find((e) => e.relation === "data")?.source).to.equal(`ComputeMarket.jobDataRoots(${jobId})[0]`);
    expect(g.edges.find((e) => e.relation === "weights")?.source).to.equal(`ModelRegistry.model(${modelId}).weightsRoot`);
    // Which records are claims nobody checked on chain.
    const claims = Object.fromEntries(g.edges.map((e) => [e.relation, e.claimedBy]));
    expect(claims).to.deep.equal({ produced: "provider", model: undefined, input: undefined, data: "client", weights: "model owner", "training-data": "model owner" });
    expect(g.edges.find((e) => e.relation === "produced")?.check).to.deep.equal({ result: "not checked" });
    const text = renderLineage(g);
    expect(text).to.include(`produced by job ${jobId}: model ${modelId}, tee mode, Accepted, output 7`);
    expect(text).to.include("  [claimed by the provider, content not checked]");
    expect(text).to.include(`training data ${hex(TRAINING)} (source data: not the output of a recorded job)  [model owner's claim]`);
    expect(text).to.include("(commitment recomputed: matches)");
    expect(text).to.not.include("verified on-chain");
  });

  it("checks the output file when it can fetch it: the job's result file, another file, an unavailable one", async () => {
    const O6 = 0xa6n;
    const jobId = await job({ output: 4n, outputRoot: O6 });
    const j = await s.computeMarket.job(jobId);
    const resultFile = {
      format: RESULT_FILE_FORMAT,
      chainId: "31337",
      market: await s.computeMarket.getAddress(),
      jobId: jobId.toString(),
      output: 4,
      inputCommitment: hex(j.inputCommitment),
    };
    const fetched: bigint[] = [];
    const serving = (file: unknown) => async (root: bigint) => {
      fetched.push(root);
      return Buffer.from(typeof file === "string" ? file : JSON.stringify(file));
    };
    const produced = (g: LineageGraph) => g.edges.find((e) => e.relation === "produced" && e.to === `data:${hex(O6)}`);

    const ok = await lineage(source(), O6, { fetchRoot: serving(resultFile) });
    expect(fetched).to.deep.equal([O6]);
    expect(produced(ok)?.check).to.deep.equal({ result: "verified" });
    expect(renderLineage(ok)).to.include("[provider's claim; output file checked: names this job, output and input]");

    const other = await lineage(source(), O6, { fetchRoot: serving({ ...resultFile, jobId: (jobId + 1n).toString(), output: 5 }) });
    expect(produced(other)?.check).to.deep.equal({ result: "failed", reason: `not job ${jobId}'s result file: jobId "${jobId + 1n}", output 5` });
    expect(renderLineage(other)).to.include(`output file CHECK FAILED: not job ${jobId}'s result file`);
    expect(produced(await lineage(source(), O6, { fetchRoot: serving("weights, not json") }))?.check).to.deep.equal({ result: "failed", reason: "the file is not JSON" });
    expect(produced(await lineage(source(), O6, { fetchRoot: serving({ ...resultFile, chainId: "1", format: "x" }) }))?.check).to.deep.equal({
      result: "failed",
      reason: `not job ${jobId}'s result file: format "x", chainId "1"`,
    });

    const down = await lineage(source(), O6, {
      fetchRoot: async () => {
        throw new Error("no registered provider holds it\nsecond line");
      },
    });
    expect(produced(down)?.check).to.deep.equal({ result: "unavailable", reason: "no registered provider holds it" });
    expect(renderLineage(down)).to.include("the output file could not be fetched to check it: no registered provider holds it");
  });

  it("flags an inline input that does not commit to the job's input commitment", async () => {
    // The market does not read the inline bytes: a TEE result signed over the job's commitment is
    // accepted whatever they are. Only recomputing the commitment shows that they are not the input.
    const clientSigner = (await ethers.getSigners())[1];
    const price = (await s.modelRegistry.model(modelId)).pricePerJob;
    const market = s.computeMarket.connect(clientSigner);
    await (await s.token.connect(clientSigner).approve(await market.getAddress(), price)).wait();
    const wrong = (await inputCommitment(INPUT)) + 1n;
    const latest = await ethers.provider.getBlock("latest");
    const posted = await (
      await market.postJob({ modelId, mode: 1, inputCommitment: wrong, input: Uint8Array.from(INPUT), inputRoot: 0n, dataRoots: [], maxFee: price, deadline: BigInt((latest?.timestamp ?? 0) + 600) })
    ).wait();
    const jobId = posted!.logs.map((l) => market.interface.parseLog(l)).find((p) => p?.name === "JobPosted")!.args.jobId as bigint;
    const mine = s.computeMarket.connect(providerSigner);
    await (await mine.claimJob(jobId)).wait();
    const signed = { jobId, modelId, weightsCommitment: (await s.modelRegistry.model(modelId)).weightsCommitment, inputCommitment: wrong, output: 1n, provider: providerSigner.address };
    const signature = await s.enclave.signResult(s.domain, signed);
    await (await mine.submitResultTee(jobId, 1n, signature)).wait();
    const O7 = 0xa7n;
    await recordOutput(jobId, O7);

    const g = await lineage(source(), O7);
    const input = node<InlineInputNode>(g, `input:${jobId}`);
    expect(input).to.deep.include({ inputCommitment: wrong, recomputed: wrong - 1n, matches: false });
    expect(renderLineage(g)).to.include(`← MISMATCH: these values commit to ${hex(wrong - 1n)}, not the job's input commitment`);
  });

  it("follows an input that is itself an output, and a model whose weights are a job's output", async () => {
    const O2 = 0xa2n;
    const O3 = 0xa3n;
    const first = await job({ dataRoots: [D2], output: 1n, outputRoot: O2 });
    const second = await job({ inputRoot: O2, dataRoots: [D1, D2], output: 2n, outputRoot: O3 });
    const derived = await registerModel("fine-tuned", O3, O2);
    const O4 = 0xa4n;
    const third = await job({ model: derived, output: 3n, outputRoot: O4 });

    const g = await lineage(source(), O4);
    expect(edgesInto(g, `job:${third}`)).to.deep.equal([`input<-input:${third}`, `model<-model:${derived}`].sort());
    expect(edgesInto(g, `model:${derived}`)).to.deep.equal([`training-data<-data:${hex(O2)}`, `weights<-data:${hex(O3)}`]);
    expect(node<DataNode>(g, `data:${hex(O3)}`).producedBy).to.equal(second);
    expect(node<DataNode>(g, `data:${hex(O2)}`).producedBy).to.equal(first);
    expect(edgesInto(g, `job:${second}`)).to.deep.equal([`data<-data:${hex(D1)}`, `data<-data:${hex(D2)}`, `input<-data:${hex(O2)}`, `model<-model:${modelId}`].sort());
    expect(edgesInto(g, `job:${first}`)).to.include(`data<-data:${hex(D2)}`);
    // O2 is reached twice (the second job's input and the derived model's training data): one node.
    expect(g.nodes.filter((n) => n.id === `data:${hex(O2)}`)).to.have.length(1);
    const jobs = g.nodes.filter((n) => n.kind === "job").map((n) => (n as JobNode).jobId).sort();
    expect(jobs).to.deep.equal([first, second, third].sort());
    expect(g.cycles).to.deep.equal([]);

    const text = renderLineage(g);
    expect(text).to.match(/^lineage of 0x0{62}a4\nevery record below was read from contract state at block \d+ of chain 31337\n/);
    expect(text).to.include('claims it did not check: "produced by" (the provider\'s), data (the job client\'s), weights and training data (the model owner\'s)');
    expect(text).to.include(`produced by job ${third}: model ${derived}, tee mode, Accepted, output 3`);
    expect(text).to.include(`model ${derived} "fine-tuned"`);
    expect(text).to.match(/weights 0x0{62}a3  \[model owner's claim\]\n/);
    expect(text).to.include(`produced by job ${second}: model ${modelId}, tee mode, Accepted, output 2`);
    expect(text).to.include(`training data ${hex(O2)} (shown above)`);
    expect(text).to.include(`${hex(D2)} (source data: not the output of a recorded job)`);
    expect(text).to.match(/\d+ nodes: 3 job\(s\), \d+ source root\(s\)$/);
  });

  it("reports a cycle of records once and does not loop", async () => {
    // Job A names R as data before any job produced R; job B, fed A's output, then produces R.
    const R = 0xc0ffeen;
    const OA = 0xb1n;
    const a = await job({ dataRoots: [R], output: 4n, outputRoot: OA });
    const b = await job({ inputRoot: OA, output: 5n, outputRoot: R });
    const g = await lineage(source(), R);
    expect(node<DataNode>(g, `data:${hex(R)}`).producedBy).to.equal(b);
    expect(g.cycles.map((e) => `${e.relation}<-${e.from}->${e.to}`)).to.deep.equal([`data<-data:${hex(R)}->job:${a}`]);
    expect(renderLineage(g)).to.include(`data ${hex(R)}  ← CYCLE: this record names a descendant of itself`);
    expect(renderLineage(g)).to.include("1 cycle(s)");
  });

  it("shows an unknown root as source data, and reads the state of an earlier block", async () => {
    const unknown = await lineage(source(), 0x5151n);
    expect(unknown.nodes).to.deep.equal([{ id: `data:${hex(0x5151n)}`, kind: "data", root: 0x5151n, producedBy: undefined }]);
    expect(unknown.edges).to.deep.equal([]);
    expect(renderLineage(unknown)).to.include(`${hex(0x5151n)} (source data: not the output of a recorded job)`);

    const O5 = 0xa5n;
    const jobId = await job({ output: 6n });
    const before = await ethers.provider.getBlockNumber();
    await recordOutput(jobId, O5);
    expect((await lineage(source(), O5)).nodes.find((n) => n.kind === "job")).to.deep.include({ jobId });
    const earlier = await lineage(source(), O5, { blockTag: before });
    expect(earlier.block).to.equal(before);
    expect(earlier.nodes).to.have.length(1);
    expect((earlier.nodes[0] as DataNode).producedBy).to.equal(undefined);
  });

  it("stops at maxNodes and says so, and refuses a zero root", async () => {
    const g = await lineage(source(), 0xa3n, { maxNodes: 3 });
    expect(g.truncated).to.equal(true);
    expect(g.nodes.length).to.be.at.most(3);
    expect(renderLineage(g)).to.include("the walk stopped after");
    let error: unknown;
    await lineage(source(), 0n).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/the root 0 is not a nonzero 256-bit value/);
  });
});
