/**
 * The Ignition deployment (deploy/deploy-daios.ts) on the in-process network: the deployment file names
 * every contract and loads back, the layers are wired (compute market authorised in the provider registry
 * with a minimum compute stake), every deployed contract is under the EIP-170 size limit, and the
 * deployed compute market settles real jobs: the digits proof of test/vectors/compute.json (job 1, hardhat
 * account #1) and an enclave-signed TEE result, with their whole-transaction gas. The memory layer's
 * MemoryRegistry is deployed and wired too (memory stake minimum, layer authorisation, module defaults), its
 * EIP-712 receipt digest matches ethers' TypedDataEncoder, and a repeated checkpoint's whole-transaction gas is
 * measured (memory.checkpoint.gas, budget 80,000).
 */
import { readFileSync, rmSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { TypedDataEncoder, Wallet, getAddress } from "ethers";
import { deployDaios } from "../../../deploy/deploy-daios.js";
import { COMPUTE_CONTRACT_NAMES, CONTRACT_NAMES, DA_CONTRACT_NAMES, MEMORY_CONTRACT_NAMES, readDeployment, writeDeployment, type Deployment } from "../../../agents/src/sdk/deployment.js";
import { connectContracts, hasComputeContracts } from "../../../agents/src/sdk/contracts.js";

const connection = await network.create();
const { ethers } = connection;

/** EIP-170: the largest deployed bytecode. */
const MAX_CODE_SIZE = 24_576;
const TOKEN = 10n ** 18n;

interface ComputeVectors {
  model: { weightsCommitment: string };
  inputs: { input: number[]; inputCommitment: string; output: number }[];
  proof: { input: number; jobId: string; prover: string; pA: string[]; pB: string[][]; pC: string[] };
}
const vectors = JSON.parse(readFileSync(path.resolve("test/vectors/compute.json"), "utf8")) as ComputeVectors;

/** The MemoryRegistry the deployment file names. */
function memoryRegistryAddress(deployment: Deployment): string {
  const named = deployment.contracts.MemoryRegistry?.address;
  expect(named, "the deployment file names MemoryRegistry").to.be.a("string");
  return getAddress(named as string);
}

describe("deployDaios (Ignition)", function () {
  this.timeout(600_000);

  let deployment: Deployment;
  let file: string;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "daios-deploy-"));
    ({ deployment, file } = await deployDaios(connection, "test", { ephemeral: true, deploymentFile: path.join(dir, "31337.json") }));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("writes a deployment file that names every contract and loads back", () => {
    for (const name of [...CONTRACT_NAMES, ...DA_CONTRACT_NAMES, ...COMPUTE_CONTRACT_NAMES, ...MEMORY_CONTRACT_NAMES]) {
      expect(deployment.contracts[name]?.address, name).to.match(/^0x[0-9a-fA-F]{40}$/);
      expect(deployment.contracts[name]?.block, name).to.equal(deployment.startBlock);
    }
    const loaded = readDeployment(31337, file);
    expect(loaded.contracts.ComputeMarket?.address).to.equal(deployment.contracts.ComputeMarket?.address);
    expect(hasComputeContracts(loaded)).to.equal(true);
  });

  it("still loads a deployment file from before the compute layer", () => {
    const older: Deployment = { ...deployment, contracts: { ...deployment.contracts } };
    for (const name of COMPUTE_CONTRACT_NAMES) delete older.contracts[name];
    const olderFile = writeDeployment(older, path.join(dir, "older.json"));
    const loaded = readDeployment(31337, olderFile);
    expect(hasComputeContracts(loaded)).to.equal(false);
    const c = connectContracts(loaded, ethers.provider);
    expect(c.modelRegistry).to.equal(undefined);
    expect(c.computeMarket).to.equal(undefined);
  });

  it("wires the compute layer with the module's default parameters", async () => {
    const [deployer] = await ethers.getSigners();
    const c = connectContracts(deployment, ethers.provider);
    const market = c.computeMarket!;
    const models = c.modelRegistry!;
    const computeRole = await c.registry.COMPUTE_ROLE();
    expect(await c.registry.isLayer(await market.getAddress(), computeRole)).to.equal(true);
    expect(await c.registry.roleEnabled(computeRole)).to.equal(true);
    expect(await c.registry.minStake(computeRole)).to.equal(10n * TOKEN);
    expect(await market.token()).to.equal(await c.token.getAddress());
    expect(await market.providerRegistry()).to.equal(await c.registry.getAddress());
    expect(await market.modelRegistry()).to.equal(await models.getAddress());
    expect(await market.storageMarket()).to.equal(await c.market.getAddress());
    expect(await market.treasury()).to.equal(deployer.address);
    expect(await market.owner()).to.equal(deployer.address);
    expect(await models.owner()).to.equal(deployer.address);
    const config = await market.config();
    expect(config.protocolFeeBps).to.equal(500n);
    expect(config.collateralBps).to.equal(20_000n);
    expect(config.minCollateral).to.equal(TOKEN);
    expect(config.reporterBps).to.equal(2_000n);
    expect(config.minJobDuration).to.equal(10n);
    expect(config.maxJobDuration).to.equal(7n * 24n * 3600n);
  });

  it("wires the memory layer with the module's default parameters", async () => {
    const [deployer] = await ethers.getSigners();
    const c = connectContracts(deployment, ethers.provider);
    const address = memoryRegistryAddress(deployment);
    const memory = await ethers.getContractAt("MemoryRegistry", address);
    const memoryRole = await c.registry.MEMORY_ROLE();
    expect(await memory.memoryRole()).to.equal(memoryRole);
    expect(await c.registry.isLayer(address, memoryRole)).to.equal(true);
    expect(await c.registry.roleEnabled(memoryRole)).to.equal(true);
    expect(await c.registry.minStake(memoryRole)).to.equal(10n * TOKEN);
    expect(await memory.token()).to.equal(await c.token.getAddress());
    expect(await memory.providerRegistry()).to.equal(await c.registry.getAddress());
    expect(await memory.owner()).to.equal(deployer.address);
    const config = await memory.config();
    expect(config.streamCollateral).to.equal(5n * TOKEN);
    expect(config.checkpointWindow).to.equal(3_600n);
    expect(config.reporterBps).to.equal(2_000n);
  });

  it("serves a memory stream: receipt digests match ethers, and a repeated checkpoint's gas", async () => {
    const signers = await ethers.getSigners();
    const [deployer, node, owner] = [signers[0]!, signers[3]!, signers[4]!];
    const c = connectContracts(deployment, deployer);
    const address = memoryRegistryAddress(deployment);
    const memory = await ethers.getContractAt("MemoryRegistry", address, owner);
    const memoryRole = await c.registry.MEMORY_ROLE();
    for (const account of [node, owner]) {
      await (await c.token.mint(account.address, 1_000n * TOKEN)).wait();
      await (await c.token.connect(account).approve(address, 1_000n * TOKEN)).wait();
      await (await c.token.connect(account).approve(await c.registry.getAddress(), 1_000n * TOKEN)).wait();
    }
    await (await c.registry.connect(node).register(memoryRole, 20n * TOKEN, "https://memory.example", 1n)).wait();
    await (await memory.createStream(node.address, [owner.address], 10n * TOKEN, 10n ** 12n)).wait();
    const stream = await memory.streamCount();
    expect(await c.registry.lockedBy(node.address, memoryRole, address)).to.equal(5n * TOKEN);
    expect(await memory.isWriter(stream, owner.address)).to.equal(true);

    // The node's receipt, signed by ethers, is the digest the registry checks when slashing.
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const domain = { name: "daios MemoryRegistry", version: "1", chainId, verifyingContract: address };
    const types = { Receipt: [
      { name: "stream", type: "uint256" },
      { name: "seq", type: "uint64" },
      { name: "entriesHash", type: "bytes32" },
      { name: "issuedAt", type: "uint64" },
    ] };
    const receipt = { stream, seq: 1n, entriesHash: ethers.id("entries"), issuedAt: 1_800_000_000n };
    expect(await memory.receiptDigest(receipt.stream, receipt.seq, receipt.entriesHash, receipt.issuedAt)).to.equal(
      TypedDataEncoder.hash(domain, types, receipt),
    );

    const asNode = memory.connect(node);
    await (await asNode.checkpoint(stream, ethers.id("root 1"), 1n)).wait();
    const second = await (await asNode.checkpoint(stream, ethers.id("root 2"), 2n)).wait();
    const latest = await memory.latestCheckpoint(stream);
    expect(latest.root).to.equal(ethers.id("root 2"));
    expect(latest.seq).to.equal(2n);
    expect(latest.index).to.equal(1n);
    const gas = second!.gasUsed;
    console.log(`      checkpoint (repeated, whole transaction): ${gas} gas`);
    expect(gas <= 80_000n, `checkpoint ${gas} gas`).to.equal(true);

    // Closing keeps the collateral locked through the slashing window (two checkpoint windows), then anyone
    // releases it.
    const closed = await (await memory.closeStream(stream)).wait();
    const closedAt = BigInt((await closed!.getBlock()).timestamp);
    const collateral = (await memory.getStream(stream)).collateral;
    expect(collateral > 0n).to.equal(true);
    expect(await c.registry.lockedBy(node.address, memoryRole, address)).to.equal(collateral);
    expect(await memory.releasableAt(stream)).to.equal(closedAt + 2n * 3_600n);
    await ethers.provider.send("evm_increaseTime", [2 * 3_600]);
    await (await memory.releaseCollateral(stream)).wait();
    expect(await c.registry.lockedBy(node.address, memoryRole, address)).to.equal(0n);
  });

  it("keeps every deployed contract under the EIP-170 size limit", async () => {
    const sizes: Record<string, number> = {};
    const entries = Object.entries(deployment.contracts);
    for (const [name, entry] of entries) {
      const code = await ethers.provider.getCode(entry.address);
      sizes[name] = (code.length - 2) / 2;
      expect(sizes[name], name).to.be.greaterThan(0);
      expect(sizes[name], `${name} is ${sizes[name]} bytes`).to.be.at.most(MAX_CODE_SIZE);
    }
    console.log(`      deployed sizes (bytes): ${Object.entries(sizes).map(([n, s]) => `${n} ${s}`).join(", ")}`);
  });

  it("settles the vector's real digits proof and an enclave-signed result", async () => {
    const [deployer, prover, client] = await ethers.getSigners();
    expect(prover.address).to.equal(vectors.proof.prover, "the vector proof is bound to hardhat account #1");
    const c = connectContracts(deployment, deployer);
    const market = c.computeMarket!;
    const models = c.modelRegistry!;
    const computeRole = await c.registry.COMPUTE_ROLE();
    const price = 2n * TOKEN;

    // The digits model with its generated verifier and a devnet-style enclave measurement.
    const enclave = Wallet.createRandom();
    const measurement = ethers.id("deploy test enclave");
    await (await models.acknowledgeEnclave(enclave.address, measurement)).wait();
    await (
      await models.registerModel({
        verifier: deployment.contracts.DigitsVerifier!.address,
        pricePerJob: price,
        inputSize: 64,
        inputMax: 16,
        outputSize: 10,
        weightsCommitment: BigInt(vectors.model.weightsCommitment),
        weightsRoot: 1n,
        weightsSize: 1n,
        trainingDataRoot: 0n,
        teeMeasurement: measurement,
        name: "digits-mlp-64-16-10",
      })
    ).wait();
    const modelId = await models.modelCount();

    for (const account of [prover, client]) {
      await (await c.token.mint(account.address, 1_000n * TOKEN)).wait();
      await (await c.token.connect(account).approve(await market.getAddress(), 1_000n * TOKEN)).wait();
      await (await c.token.connect(account).approve(await c.registry.getAddress(), 1_000n * TOKEN)).wait();
    }
    await (await c.registry.connect(prover).register(computeRole, 100n * TOKEN, "https://prover.example", 1n)).wait();

    const vector = vectors.inputs[vectors.proof.input];
    const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 3_600n;
    const request = (mode: number) => ({
      modelId,
      mode,
      inputCommitment: BigInt(vector.inputCommitment),
      input: Uint8Array.from(vector.input),
      inputRoot: 0n,
      dataRoots: [],
      maxFee: price,
      deadline,
    });

    // zk: job 1, as the proof requires.
    await (await market.connect(client).postJob(request(0))).wait();
    expect(await market.jobCount()).to.equal(BigInt(vectors.proof.jobId));
    const zkJob = BigInt(vectors.proof.jobId);
    await (await market.connect(prover).claimJob(zkJob)).wait();
    const p = vectors.proof;
    const zkReceipt = await (
      await market
        .connect(prover)
        .submitResult(zkJob, vector.output, [p.pA[0], p.pA[1]], [[p.pB[0][0], p.pB[0][1]], [p.pB[1][0], p.pB[1][1]]], [p.pC[0], p.pC[1]])
    ).wait();
    const zk = await market.job(zkJob);
    expect(zk.status).to.equal(3n, "Accepted");
    expect(zk.output).to.equal(BigInt(vector.output));

    // TEE: the enclave signs the EIP-712 result.
    await (await market.connect(client).postJob(request(1))).wait();
    const teeJob = await market.jobCount();
    await (await market.connect(prover).claimJob(teeJob)).wait();
    const digest = await market.resultDigest(teeJob, modelId, BigInt(vectors.model.weightsCommitment), BigInt(vector.inputCommitment), vector.output, prover.address);
    const signature = enclave.signingKey.sign(digest).serialized;
    const teeReceipt = await (await market.connect(prover).submitResultTee(teeJob, vector.output, signature)).wait();
    expect((await market.job(teeJob)).status).to.equal(3n, "Accepted");

    const fee = (price * 500n) / 10_000n;
    expect(await market.credits(prover.address)).to.equal(2n * (price - fee));
    expect(await market.credits(deployer.address)).to.equal(2n * fee, "the treasury");

    const zkGas = zkReceipt!.gasUsed;
    const teeGas = teeReceipt!.gasUsed;
    console.log(`      submitResult (zk, DigitsVerifier, real proof): ${zkGas} gas; submitResultTee: ${teeGas} gas`);
    expect(zkGas <= 300_000n, `zk result ${zkGas} gas`).to.equal(true);
    expect(teeGas <= 120_000n, `TEE result ${teeGas} gas`).to.equal(true);
  });
});
