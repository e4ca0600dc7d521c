/**
 * `daios compute …` and `daios lineage` as a user runs them (the real binary in a child process)
 * against a real Hardhat node: models listed; a TEE-mode job run from an input file, answered by a
 * provider (here in the test process: it claims, infers with the model file, signs with the
 * acknowledged software enclave, submits and records its result file as a storage deal), printing the
 * output class, the logits and the proving transaction; the job's status and its output's lineage;
 * a job nobody answers, expired by a keeper, exiting 1; cancel and withdraw; and bad input refused
 * with exit code 2 and a message saying what was wrong, sending nothing. zk mode with a live
 * compute-provider is the end-to-end test's (test/mocha/e2e/compute.e2e.test.ts).
 *
 *   npx hardhat test mocha test/mocha/cli/compute.test.ts
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { JsonRpcProvider, Wallet, parseUnits } from "ethers";
import {
  ComputeMarket__factory,
  DaiosToken__factory,
  MockInferenceVerifier__factory,
  MockPoRAVerifier__factory,
  ModelRegistry__factory,
  ProviderRegistry__factory,
  RandomnessBeacon__factory,
  StorageMarket__factory,
  type ComputeMarket,
  type StorageMarket,
} from "../../../types/ethers-contracts/index.js";
import { PROJECT_ROOT } from "../../../agents/src/core/config.js";
import { hardhatAccount, startHardhatNode, type HardhatNode } from "../../../agents/src/devnet/hardhat-node.js";
import { g2ToSolidity, publicKeyG2 } from "../../../agents/src/sdk/bls/index.js";
import { weightsCommitment } from "../../../agents/src/sdk/compute/commitment.js";
import { infer, loadModel } from "../../../agents/src/sdk/compute/model.js";
import { SoftwareEnclave, computeMarketDomain } from "../../../agents/src/sdk/compute/tee.js";
import { writeDeployment, type Deployment } from "../../../agents/src/sdk/deployment.js";

const run = promisify(execFile);
const hex = (v: bigint) => `0x${v.toString(16).padStart(64, "0")}`;

// Two rows of the shipped dataset (the label dropped).
const SEVEN = [0, 0, 7, 15, 13, 1, 0, 0, 0, 8, 13, 6, 15, 4, 0, 0, 0, 2, 1, 13, 13, 0, 0, 0, 0, 0, 2, 15, 11, 1, 0, 0, 0, 0, 0, 1, 12, 12, 1, 0, 0, 0, 0, 0, 1, 10, 8, 0, 0, 0, 8, 4, 5, 14, 9, 0, 0, 0, 7, 13, 13, 9, 0, 0];
const FOUR = [0, 0, 0, 1, 11, 0, 0, 0, 0, 0, 0, 7, 8, 0, 0, 0, 0, 0, 1, 13, 6, 2, 2, 0, 0, 0, 7, 15, 0, 9, 8, 0, 0, 5, 16, 10, 0, 16, 6, 0, 0, 4, 15, 16, 13, 16, 1, 0, 0, 0, 0, 3, 15, 10, 0, 0, 0, 0, 0, 2, 16, 4, 0, 0];
const WEIGHTS_ROOT = 0x3eed5n;
const TRAINING_ROOT = 0x7a1an;
const PRICE = parseUnits("0.01", 18);
/** The result file root the test's provider records for job `jobId`. */
const outputRoot = (jobId: bigint) => 0xe0000n + jobId;

describe("daios compute (CLI against a real node)", function () {
  this.timeout(600_000);
  let dir: string;
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let deploymentFile: string;
  let market: ComputeMarket;
  let storage: StorageMarket;
  let enclave: SoftwareEnclave;
  let providerWallet: Wallet;
  const client = hardhatAccount(3);
  const keeper = hardhatAccount(4);
  const model = loadModel();

  /** The test's compute provider: answers TEE jobs while `answering`; records who answered what. */
  const responder = { answering: true, stop: false, submitted: new Map<bigint, string>(), done: Promise.resolve() };

  const cli = (...args: string[]) =>
    run(process.execPath, [path.join(PROJECT_ROOT, "agents/bin/daios.js"), "--rpc", node.url, "--key", client.privateKey, "--deployment", deploymentFile, ...args], { maxBuffer: 16 * 1024 * 1024 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  async function respond(): Promise<void> {
    const mine = market.connect(providerWallet);
    const domain = computeMarketDomain(node.chainId, await market.getAddress());
    let seen = await market.jobCount();
    while (!responder.stop) {
      const count = await market.jobCount();
      for (let jobId = seen + 1n; jobId <= count && responder.answering; jobId++, seen++) {
        const j = await market.job(jobId);
        const [posted] = await market.queryFilter(market.filters.JobPosted(jobId), Number(j.postedAt), Number(j.postedAt));
        const input = [...Buffer.from(posted.args.input.slice(2), "hex")];
        const { output } = infer(model, input);
        await (await mine.claimJob(jobId)).wait();
        const signature = await enclave.signResult(domain, { jobId, modelId: j.modelId, weightsCommitment: await weightsCommitment(model), inputCommitment: j.inputCommitment, output: BigInt(output), provider: providerWallet.address });
        const receipt = await (await mine.submitResultTee(jobId, output, signature)).wait();
        responder.submitted.set(jobId, receipt!.hash);
        const deal = await (await storage.connect(providerWallet).createDeal(outputRoot(jobId), 200, 1, 1, 10n ** 15n)).wait();
        const created = deal!.logs.map((l) => storage.interface.parseLog(l)).find((p) => p?.name === "DealCreated");
        // recordOutput takes an Active deal only: the provider (also a storage provider here) fills its one slot.
        await (await storage.connect(providerWallet).joinDeal(created!.args.dealId as bigint, 0)).wait();
        await (await mine.recordOutput(jobId, created!.args.dealId as bigint)).wait();
      }
      if (!responder.answering) seen = count;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "daios-compute-cli-"));
    node = await startHardhatNode({ logFile: path.join(dir, "hardhat-node.log") });
    provider = new JsonRpcProvider(node.url, Number(node.chainId), { staticNetwork: true, cacheTimeout: -1, pollingInterval: 100 });
    const owner = new Wallet(hardhatAccount(0).privateKey, provider);
    providerWallet = new Wallet(hardhatAccount(2).privateKey, provider);
    const deployed = async <T extends { waitForDeployment(): Promise<unknown>; getAddress(): Promise<string>; deploymentTransaction(): { wait(): Promise<unknown> } | null }>(c: Promise<T>) => {
      const contract = await c;
      await contract.waitForDeployment();
      const receipt = (await contract.deploymentTransaction()?.wait()) as { blockNumber: number };
      return { contract, address: await contract.getAddress(), block: receipt.blockNumber };
    };
    const send = async (tx: Promise<{ wait(): Promise<unknown> }>) => (await tx).wait();
    const token = await deployed(new DaiosToken__factory(owner).deploy(owner.address));
    const registry = await deployed(new ProviderRegistry__factory(owner).deploy(token.address, owner.address, 3600));
    const beacon = await deployed(new RandomnessBeacon__factory(owner).deploy(g2ToSolidity(publicKeyG2(12345n)), BigInt(Math.floor(Date.now() / 1000)), 3n));
    const pora = await deployed(new MockPoRAVerifier__factory(owner).deploy());
    const storageMarket = await deployed(new StorageMarket__factory(owner).deploy(token.address, registry.address, pora.address, beacon.address, owner.address, 10n));
    const models = await deployed(new ModelRegistry__factory(owner).deploy(owner.address));
    const verifier = await deployed(new MockInferenceVerifier__factory(owner).deploy());
    const config = { protocolFeeBps: 500n, collateralBps: 20_000n, minCollateral: 10n ** 17n, reporterBps: 2_000n, minJobDuration: 10n, maxJobDuration: 7n * 24n * 3600n };
    const computeMarket = await deployed(new ComputeMarket__factory(owner).deploy(token.address, registry.address, models.address, storageMarket.address, owner.address, config));
    market = computeMarket.contract;
    storage = storageMarket.contract;
    const role = await registry.contract.COMPUTE_ROLE();
    await send(registry.contract.setMinStake(role, parseUnits("1", 18)));
    await send(registry.contract.setLayer(computeMarket.address, role, true));
    for (const who of [client, keeper, { address: providerWallet.address }]) await send(token.contract.mint(who.address, parseUnits("1000", 18)));
    await send(token.contract.connect(providerWallet).approve(registry.address, parseUnits("1000", 18)));
    await send(token.contract.connect(providerWallet).approve(storageMarket.address, parseUnits("1000", 18)));
    await send(registry.contract.connect(providerWallet).register(role, parseUnits("100", 18), "http://127.0.0.1:1", 1n));
    const storageRole = await registry.contract.STORAGE_ROLE();
    await send(registry.contract.setMinStake(storageRole, parseUnits("1", 18)));
    await send(registry.contract.connect(providerWallet).register(storageRole, parseUnits("100", 18), "http://127.0.0.1:1", 1n << 40n));
    enclave = new SoftwareEnclave(`0x${randomBytes(32).toString("hex")}`, `0x${"3e".repeat(32)}`);
    await send(models.contract.acknowledgeEnclave(enclave.address, enclave.measurement));
    await send(
      models.contract.registerModel({
        verifier: verifier.address,
        pricePerJob: PRICE,
        inputSize: 64,
        inputMax: 16,
        outputSize: 10,
        weightsCommitment: await weightsCommitment(model),
        weightsRoot: WEIGHTS_ROOT,
        weightsSize: 1301n,
        trainingDataRoot: TRAINING_ROOT,
        teeMeasurement: enclave.measurement,
        name: "digits-mlp",
      }),
    );

    const entry = (d: { address: string; block: number }) => ({ address: d.address, block: d.block });
    const deployment: Deployment = {
      id: randomBytes(6).toString("hex"),
      chainId: Number(node.chainId),
      network: "hardhat",
      deployedAt: new Date().toISOString(),
      startBlock: token.block,
      contracts: {
        DaiosToken: entry(token),
        ProviderRegistry: entry(registry),
        RandomnessBeacon: entry(beacon),
        PoRAVerifier: entry(pora),
        StorageMarket: entry(storageMarket),
        ...{ ModelRegistry: entry(models), ComputeMarket: entry(computeMarket) },
      },
    };
    deploymentFile = writeDeployment(deployment, path.join(dir, "deployment.json"));
    responder.done = respond().catch((error: unknown) => {
      console.error(`the test's compute provider failed: ${(error as Error).stack ?? String(error)}`);
    });
  });

  after(async () => {
    responder.stop = true;
    await responder.done.catch(() => undefined);
    provider?.destroy();
    await node?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("lists the models", async () => {
    const r = await cli("compute", "models");
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^model 1 "digits-mlp": active, zk \+ tee, 0\.01 DAIOS per job\n  input 64 whole numbers from 0 to 16 → one of 10 classes\n  weights commitment 0x[0-9a-f]{64}\n  weights file 0x0+3eed5 \(1301 bytes\), training data 0x0+7a1a\n  owner 0x/);
    const j = await cli("--json", "compute", "models");
    expect(j.code, j.stderr).to.equal(0);
    const models = JSON.parse(j.stdout) as { modelId: string; modes: string[]; weightsCommitment: string }[];
    expect(models).to.have.length(1);
    expect(models[0]).to.deep.include({ modelId: "1", modes: ["zk", "tee"], weightsCommitment: (await weightsCommitment(model)).toString() });
  });

  it("runs a job from an input file: prints the output class, the logits and the proving transaction", async () => {
    const file = path.join(dir, "seven.json");
    writeFileSync(file, JSON.stringify(SEVEN));
    const expected = infer(model, SEVEN);
    const r = await cli("compute", "run", "--model", "1", "--input", file, "--mode", "tee", "--data-root", hex(0xd1n), "--timeout", "120");
    expect(r.code, r.stderr).to.equal(0);
    const jobId = BigInt(/job (\d+) posted in 0x[0-9a-f]{64}/.exec(r.stderr)![1]);
    expect(r.stderr).to.match(/price 0\.01 DAIOS in escrow \(your cap 0\.01 DAIOS\), deadline .*\ninput commitment 0x[0-9a-f]{64}; waiting for a provider…\n/);
    expect(r.stderr).to.include(`claimed by ${providerWallet.address}`);
    expect(r.stderr).to.include(`job ${jobId} Accepted in ${responder.submitted.get(jobId)}`);
    expect(r.stdout).to.include(`job ${jobId}: Accepted — signature of an enclave key the registry owner acknowledged for this model's measurement\n`);
    expect(r.stdout).to.include(`output class ${expected.output}\n`);
    expect(r.stdout).to.include(`logits [${expected.logits.join(", ")}] (from the local model file, whose weights commitment is model 1's)\n`);
    expect(r.stdout).to.include(`proving transaction ${responder.submitted.get(jobId)}\n`);
    expect(r.stdout).to.include(`provider ${providerWallet.address}\npaid 0.01 DAIOS\n`);

    // The same as JSON, from a CSV line.
    const csv = path.join(dir, "four.csv");
    writeFileSync(csv, `${FOUR.join(",")}\n`);
    const j = await cli("--json", "compute", "run", "--model", "1", "--input", csv, "--mode", "tee", "--max-fee", "0.05");
    expect(j.code, j.stderr).to.equal(0);
    const out = JSON.parse(j.stdout) as { jobId: string; status: string; output: string; logits: string[]; txHash: string; maxFee: string; price: string };
    expect(out).to.deep.include({ status: "Accepted", output: String(infer(model, FOUR).output), txHash: responder.submitted.get(BigInt(out.jobId)), maxFee: parseUnits("0.05", 18).toString(), price: PRICE.toString() });
    expect(out.logits).to.deep.equal(infer(model, FOUR).logits.map(String));
  });

  it("shows a job's status, and the lineage of its output read on-chain", async () => {
    const jobId = 1n;
    const deadline = Date.now() + 30_000;
    while ((await market.job(jobId)).outputRoot === 0n) {
      if (Date.now() > deadline) throw new Error("the provider did not record the output");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const s = await cli("compute", "status", "1");
    expect(s.code, s.stderr).to.equal(0);
    expect(s.stdout).to.match(/^job 1: Accepted\nmodel 1 "digits-mlp", tee mode\n/);
    expect(s.stdout).to.include(`data roots ${hex(0xd1n)}\n`);
    expect(s.stdout).to.include(`output class ${infer(model, SEVEN).output}\n`);
    expect(s.stdout).to.include(`output file ${hex(outputRoot(1n))}; its lineage: daios lineage ${hex(outputRoot(1n))}`);

    const l = await cli("lineage", hex(outputRoot(1n)));
    expect(l.code, l.stderr).to.equal(0);
    expect(l.stdout).to.match(/^lineage of 0x0+e0001\nevery record below was read from contract state at block \d+ of chain 31337\n/);
    expect(l.stdout).to.include(`└─ produced by job 1: model 1, tee mode, Accepted, output ${infer(model, SEVEN).output}`);
    // No storage provider holds this stand-in output root: the provider's claim is shown unchecked.
    expect(l.stdout).to.include(`the output file could not be fetched to check it: no registered provider holds ${hex(outputRoot(1n))}`);
    expect(l.stdout).to.include("(commitment recomputed: matches)");
    expect(l.stdout).to.match(/├─ model 1 "digits-mlp", weights commitment 0x[0-9a-f]{64}/);
    expect(l.stdout).to.include(`weights ${hex(WEIGHTS_ROOT)} (source data: not the output of a recorded job)`);
    expect(l.stdout).to.include(`training data ${hex(TRAINING_ROOT)} (source data`);
    expect(l.stdout).to.include(`input inline (64 values in the JobPosted event, input commitment 0x`);
    expect(l.stdout).to.include(`data ${hex(0xd1n)} (source data`);
    const lj = await cli("--json", "lineage", hex(outputRoot(1n)));
    expect(lj.code, lj.stderr).to.equal(0);
    const graph = JSON.parse(lj.stdout) as { edges: { relation: string; source: string; claimedBy?: string; check?: { result: string } }[] };
    expect(graph.edges.map((e) => e.relation).sort()).to.deep.equal(["data", "input", "model", "produced", "training-data", "weights"]);
    // The result deal's storage provider is registered (it made the deal Active) but serves nothing here.
    const produced = graph.edges.find((e) => e.relation === "produced") as { claimedBy?: string; check?: { result: string; reason?: string } };
    expect(produced.claimedBy).to.equal("provider");
    expect(produced.check?.result).to.equal("unavailable");
    expect(produced.check?.reason).to.match(new RegExp(`^no registered provider holds ${hex(outputRoot(1n))}`));
  });

  it("exits 1 when nobody proves the job in time and a keeper expires it; cancels and withdraws", async () => {
    responder.answering = false;
    try {
      const file = path.join(dir, "grid.txt");
      const grid = Array.from({ length: 8 }, (_, r) => SEVEN.slice(r * 8, r * 8 + 8).join(" ")).join("\n");
      writeFileSync(file, grid);
      const before = await market.jobCount();
      let finished: { code: number; stdout: string; stderr: string } | undefined;
      const running = cli("compute", "run", "--model", "1", "--input", file, "--mode", "tee", "--timeout", "10").then((r) => (finished = r));
      const postedBy = Date.now() + 60_000;
      while ((await market.jobCount()) === before) {
        if (finished) throw new Error(`the CLI ended before posting (exit ${finished.code}): ${finished.stderr}`);
        if (Date.now() > postedBy) throw new Error("the CLI did not post the job within 60 s");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const jobId = before + 1n;
      await node.rpc("evm_increaseTime", [30]);
      await node.rpc("evm_mine");
      const s = await cli("compute", "status", String(jobId));
      expect(s.stdout).to.include(`the deadline passed without a result: daios compute expire ${jobId} refunds the client`);
      const e = await cli("--key", keeper.privateKey, "compute", "expire", String(jobId));
      expect(e.code, e.stderr).to.equal(0);
      expect(e.stdout).to.match(new RegExp(`^job ${jobId} Refunded in 0x[0-9a-f]{64}`));
      const r = await running;
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stdout).to.match(new RegExp(`^job ${jobId}: Refunded in 0x[0-9a-f]{64}: no provider delivered a result in time\nthe price 0\\.01 DAIOS was credited back to you: daios compute withdraw`));

      const posted = await cli("--json", "compute", "run", "--model", "1", "--input", file, "--mode", "tee", "--no-wait");
      expect(posted.code, posted.stderr).to.equal(0);
      const { jobId: open } = JSON.parse(posted.stdout) as { jobId: string };
      const c = await cli("compute", "cancel", open);
      expect(c.code, c.stderr).to.equal(0);
      expect(c.stdout).to.match(new RegExp(`^job ${open} cancelled in 0x[0-9a-f]{64}; its price 0\\.01 DAIOS was credited back`));
      const w = await cli("compute", "withdraw");
      expect(w.code, w.stderr).to.equal(0);
      expect(w.stdout).to.match(/^withdrew 0\.02 DAIOS in 0x[0-9a-f]{64}/);
    } finally {
      responder.answering = true;
    }
  });

  it("refuses bad input with exit code 2 and says what was wrong, sending nothing", async () => {
    const good = path.join(dir, "good.json");
    writeFileSync(good, JSON.stringify(SEVEN));
    const short = path.join(dir, "short.json");
    writeFileSync(short, JSON.stringify(SEVEN.slice(1)));
    const bright = path.join(dir, "bright.csv");
    writeFileSync(bright, SEVEN.map((v, i) => (i === 10 ? 17 : v)).join(","));
    const words = path.join(dir, "words.txt");
    writeFileSync(words, "hello world");
    const cases: [string[], RegExp][] = [
      [["compute", "run", "--model", "1", "--input", path.join(dir, "missing.json")], /cannot read .*missing\.json: no such file/],
      [["compute", "run", "--model", "1", "--input", dir], /is not a regular file/],
      [["compute", "run", "--model", "1", "--input", short], /short\.json: The input has 63 values; the model takes 64/],
      [["compute", "run", "--model", "1", "--input", bright], /bright\.csv: Input value .*is 17, out of range/],
      [["compute", "run", "--model", "1", "--input", words], /words\.txt: /],
      [["compute", "run", "--model", "7", "--input", good], /model 7 does not exist \(model ids run from 1 to 1\)/],
      [["compute", "run", "--model", "0", "--input", good], /--model must be a positive whole number, got '0'/],
      [["compute", "run", "--model", "1", "--input", good, "--mode", "sgx"], /--mode must be zk or tee, got 'sgx'/],
      [["compute", "run", "--model", "1", "--input", good, "--max-fee", "0.001"], /the fee offered \(1000000000000000 token units\) is below model 1's price of 10000000000000000 per job/],
      [["compute", "run", "--model", "1", "--input", good, "--max-fee", "lots"], /--max-fee must be an amount of DAIOS such as 0\.01, got 'lots'/],
      [["compute", "run", "--model", "1", "--input", good, "--timeout", "5"], /a timeout of 5 s is outside the market's window of 10 s to 604800 s/],
      [["compute", "run", "--model", "1", "--input", good, "--data-root", "0xzz"], /--data-root must be a nonzero storage root/],
      [["compute", "run", "--model", "1", "--input", good, "--input-root", hex(0x1234n)], /--input-root 0x0+1234 is not the storage root of .*good\.json \(0x[0-9a-f]{64}\)/],
      [["compute", "run", "--input", good], /required option '--model <id>' not specified/],
      [["compute", "status", "99"], /job 99 does not exist \(job ids run from 1 to \d+\)/],
      [["compute", "status", "x"], /the job id must be a positive whole number, got 'x'/],
      [["compute", "cancel", "1"], /job 1 is Accepted: only an Open job can be cancelled/],
      [["compute", "expire", "1"], /job 1 is Accepted already: there is nothing to expire/],
      [["compute", "withdraw"], /has nothing to withdraw from the compute market/],
      [["lineage", "12"], /the root must be a nonzero storage root, 0x and up to 64 hex digits, got '12'/],
      [["lineage", hex(1n), "--block", "99999999"], /--block 99999999 is ahead of the chain/],
    ];
    const nonce = await provider.getTransactionCount(client.address);
    const jobs = await market.jobCount();
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).to.equal(2);
      expect(r.stderr, args.join(" ")).to.match(message);
    }
    expect(await provider.getTransactionCount(client.address)).to.equal(nonce);
    expect(await market.jobCount()).to.equal(jobs);
  });
});
