/**
 * The TEE result signer (agents/src/sdk/compute/tee.ts): the EIP-712 digest, written out here by hand
 * from the standard, equals the SDK's and ComputeMarket.resultDigest on a real in-process chain; a
 * signature of the software enclave is accepted by submitResultTee once the registry owner
 * acknowledged the enclave, and refused for another provider, job or output, an unacknowledged or
 * revoked key; the devnet measurement is the documented hash and changes with any measured file.
 *
 *   npx hardhat test mocha test/mocha/sdk/compute/tee.test.ts
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { AbiCoder, Wallet, concat, getAddress, id, keccak256 } from "ethers";
import { network } from "hardhat";
import {
  COMPUTE_RESULT_TYPES,
  DEVNET_ENCLAVE_FILES,
  DEVNET_MEASUREMENT_TAG,
  SoftwareEnclave,
  computeMarketDomain,
  devnetMeasurement,
  recoverResultSigner,
  resultDigest,
  type ComputeResultMessage,
} from "../../../../agents/src/sdk/compute/tee.js";
import { deployComputeStack, ENCLAVE_MEASUREMENT, type ComputeStack } from "./compute-fixture.js";

const { ethers } = await network.create();

const abi = AbiCoder.defaultAbiCoder();
const MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const PROVIDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/** EIP-712 by hand: keccak256(0x1901 || domainSeparator || hashStruct(ComputeResult)). */
function digestByHand(chainId: bigint, market: string, r: ComputeResultMessage): string {
  const domainType = id("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
  const domainSeparator = keccak256(
    abi.encode(["bytes32", "bytes32", "bytes32", "uint256", "address"], [domainType, id("daios ComputeMarket"), id("1"), chainId, market]),
  );
  const typeHash = id("ComputeResult(uint256 jobId,uint256 modelId,uint256 weightsCommitment,uint256 inputCommitment,uint256 output,address provider)");
  const structHash = keccak256(
    abi.encode(
      ["bytes32", "uint256", "uint256", "uint256", "uint256", "uint256", "address"],
      [typeHash, r.jobId, r.modelId, r.weightsCommitment, r.inputCommitment, r.output, r.provider],
    ),
  );
  return keccak256(concat(["0x1901", domainSeparator, structHash]));
}

const RESULT: ComputeResultMessage = { jobId: 7n, modelId: 1n, weightsCommitment: 99n, inputCommitment: 123456789n, output: 3n, provider: PROVIDER };

describe("compute TEE signer", () => {
  it("has the ComputeResult type and domain the market uses", () => {
    expect(COMPUTE_RESULT_TYPES.ComputeResult.map((f) => `${f.type} ${f.name}`).join(",")).to.equal(
      "uint256 jobId,uint256 modelId,uint256 weightsCommitment,uint256 inputCommitment,uint256 output,address provider",
    );
    const domain = computeMarketDomain(31337n, MARKET.toLowerCase());
    expect(domain).to.deep.equal({ name: "daios ComputeMarket", version: "1", chainId: 31337n, verifyingContract: getAddress(MARKET) });
  });

  it("computes the EIP-712 digest of the standard, and a different one for any other field", () => {
    const domain = computeMarketDomain(31337n, MARKET);
    expect(resultDigest(domain, RESULT)).to.equal(digestByHand(31337n, MARKET, RESULT));
    const variants: ComputeResultMessage[] = [
      { ...RESULT, jobId: 8n },
      { ...RESULT, modelId: 2n },
      { ...RESULT, weightsCommitment: 98n },
      { ...RESULT, inputCommitment: 123456788n },
      { ...RESULT, output: 4n },
      { ...RESULT, provider: MARKET },
    ];
    for (const v of variants) expect(resultDigest(domain, v)).to.not.equal(resultDigest(domain, RESULT));
    expect(resultDigest(computeMarketDomain(1n, MARKET), RESULT)).to.not.equal(resultDigest(domain, RESULT));
    expect(resultDigest(computeMarketDomain(31337n, PROVIDER), RESULT)).to.not.equal(resultDigest(domain, RESULT));
  });

  it("signs so that the enclave's address recovers, from this result only", async () => {
    const enclave = new SoftwareEnclave(KEY, `0x${"ab".repeat(32)}`);
    expect(enclave.address).to.equal(new Wallet(KEY).address);
    expect(enclave.attestation()).to.deep.equal({ kind: "software", key: enclave.address, measurement: `0x${"ab".repeat(32)}` });
    const domain = computeMarketDomain(31337n, MARKET);
    const signature = await enclave.signResult(domain, RESULT);
    expect(signature).to.match(/^0x[0-9a-f]{130}$/);
    expect(recoverResultSigner(domain, RESULT, signature)).to.equal(enclave.address);
    expect(recoverResultSigner(domain, { ...RESULT, output: 4n }, signature)).to.not.equal(enclave.address);
    // Deterministic (RFC 6979): the same result signs the same.
    expect(await enclave.signResult(domain, RESULT)).to.equal(signature);
  });

  it("refuses a malformed key or measurement", () => {
    expect(() => new SoftwareEnclave("0x1234")).to.throw(/not a 32-byte hex private key/);
    expect(() => new SoftwareEnclave(KEY, `0x${"00".repeat(32)}`)).to.throw(/not a nonzero bytes32/);
    expect(() => new SoftwareEnclave(KEY, "0xabcd")).to.throw(/not a nonzero bytes32/);
    expect(new SoftwareEnclave(undefined, `0x${"01".repeat(32)}`).address).to.match(/^0x[0-9a-fA-F]{40}$/);
  });

  describe("devnet measurement", () => {
    let dir: string;
    const files = ["code/a.ts", "model.bin"];
    before(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), "daios-tee-"));
      mkdirSync(path.join(dir, "code"));
      writeFileSync(path.join(dir, "code/a.ts"), "export const a = 1;\n");
      writeFileSync(path.join(dir, "model.bin"), Buffer.from([1, 2, 3, 0, 255]));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("is sha256(tag || 0 || name || 0 || uint64be(length) || bytes …) over the files in order", () => {
      const u64 = (n: number) => {
        const b = Buffer.alloc(8);
        b.writeBigUInt64BE(BigInt(n));
        return b;
      };
      const a = Buffer.from("export const a = 1;\n");
      const m = Buffer.from([1, 2, 3, 0, 255]);
      const expected = createHash("sha256")
        .update(Buffer.concat([Buffer.from(DEVNET_MEASUREMENT_TAG), Buffer.of(0), Buffer.from("code/a.ts"), Buffer.of(0), u64(a.length), a, Buffer.from("model.bin"), Buffer.of(0), u64(m.length), m]))
        .digest("hex");
      expect(devnetMeasurement({ root: dir, files })).to.equal(`0x${expected}`);
    });

    it("changes with a file's bytes, its name or the order, and names a missing file", () => {
      const base = devnetMeasurement({ root: dir, files });
      expect(devnetMeasurement({ root: dir, files: [...files].reverse() })).to.not.equal(base);
      writeFileSync(path.join(dir, "model.bin"), Buffer.from([1, 2, 3, 0, 254]));
      expect(devnetMeasurement({ root: dir, files })).to.not.equal(base);
      writeFileSync(path.join(dir, "model.bin"), Buffer.from([1, 2, 3, 0, 255]));
      expect(devnetMeasurement({ root: dir, files })).to.equal(base);
      expect(() => devnetMeasurement({ root: dir, files: ["code/missing.ts"] })).to.throw(/cannot measure the devnet enclave: code\/missing\.ts is missing/);
    });

    it("measures the project's inference code, signer and weights file", () => {
      expect(DEVNET_ENCLAVE_FILES).to.include.members(["agents/src/sdk/compute/model.ts", "agents/src/sdk/compute/commitment.ts", "agents/src/sdk/compute/tee.ts", "agents/models/digits/digits.weights"]);
      const m = devnetMeasurement();
      expect(m).to.match(/^0x[0-9a-f]{64}$/);
      expect(devnetMeasurement()).to.equal(m);
      expect(new SoftwareEnclave(KEY).measurement).to.equal(m);
    });
  });

  describe("on a ComputeMarket (in-process chain)", function () {
    this.timeout(300_000);
    let s: ComputeStack;
    let provider: Awaited<ReturnType<typeof ethers.getSigners>>[number];
    let other: Awaited<ReturnType<typeof ethers.getSigners>>[number];
    let modelId: bigint;
    const INPUT = Array.from({ length: 64 }, (_, i) => i % 17);

    before(async () => {
      const [owner, client, p, o, treasury] = await ethers.getSigners();
      provider = p;
      other = o;
      s = await deployComputeStack(ethers, { owner, clients: [client], providers: [provider, other], treasury });
      const r = await s.clientFor(owner).registerModel({
        name: "tee-only",
        pricePerJob: 10n ** 16n,
        inputSize: 64,
        inputMax: 16,
        outputSize: 10,
        weightsCommitment: 99n,
        weightsRoot: 0x99n,
        weightsSize: 1301n,
        teeMeasurement: ENCLAVE_MEASUREMENT,
      });
      modelId = r.modelId;
    });

    /** A job posted by the client and claimed by `provider`; its result fields. */
    async function claimedJob(): Promise<ComputeResultMessage> {
      const client = s.clientFor((await ethers.getSigners())[1], async () => []);
      const jobId = await client.postJob({ modelId, input: INPUT, mode: "tee", timeoutSec: 600 });
      await (await s.computeMarket.connect(provider).claimJob(jobId)).wait();
      const j = await s.computeMarket.job(jobId);
      return { jobId, modelId, weightsCommitment: 99n, inputCommitment: j.inputCommitment, output: 3n, provider: provider.address };
    }

    it("computes the digest ComputeMarket.resultDigest returns", async () => {
      expect(s.domain.verifyingContract).to.equal(await s.computeMarket.getAddress());
      for (const r of [RESULT, { ...RESULT, jobId: 1n, output: 0n }, { ...RESULT, inputCommitment: 2n ** 253n + 7n, provider: MARKET }]) {
        expect(await s.computeMarket.resultDigest(r.jobId, r.modelId, r.weightsCommitment, r.inputCommitment, r.output, r.provider)).to.equal(resultDigest(s.domain, r));
      }
      expect(await s.computeMarket.RESULT_TYPEHASH()).to.equal(id("ComputeResult(uint256 jobId,uint256 modelId,uint256 weightsCommitment,uint256 inputCommitment,uint256 output,address provider)"));
    });

    it("is accepted from an acknowledged enclave, and refused for another output, provider or key", async () => {
      const r = await claimedJob();
      const market = s.computeMarket.connect(provider);
      const wrongOutput = await s.enclave.signResult(s.domain, { ...r, output: 4n });
      await expect(market.submitResultTee(r.jobId, r.output, wrongOutput)).to.be.revertedWithCustomError(market, "ComputeEnclaveUnknown");
      const otherWeights = await s.enclave.signResult(s.domain, { ...r, weightsCommitment: r.weightsCommitment + 1n });
      await expect(market.submitResultTee(r.jobId, r.output, otherWeights)).to.be.revertedWithCustomError(market, "ComputeEnclaveUnknown");
      const forOther = await s.enclave.signResult(s.domain, { ...r, provider: other.address });
      await expect(market.submitResultTee(r.jobId, r.output, forOther)).to.be.revertedWithCustomError(market, "ComputeEnclaveUnknown");
      const otherDomain = await s.enclave.signResult(computeMarketDomain(1n, await s.computeMarket.getAddress()), r);
      await expect(market.submitResultTee(r.jobId, r.output, otherDomain)).to.be.revertedWithCustomError(market, "ComputeEnclaveUnknown");
      const stranger = new SoftwareEnclave(undefined, ENCLAVE_MEASUREMENT);
      await expect(market.submitResultTee(r.jobId, r.output, await stranger.signResult(s.domain, r)))
        .to.be.revertedWithCustomError(market, "ComputeEnclaveUnknown")
        .withArgs(stranger.address);
      const elsewhere = new SoftwareEnclave(undefined, `0x${"77".repeat(32)}`);
      await (await s.modelRegistry.acknowledgeEnclave(elsewhere.address, elsewhere.measurement)).wait();
      await expect(market.submitResultTee(r.jobId, r.output, await elsewhere.signResult(s.domain, r)))
        .to.be.revertedWithCustomError(market, "ComputeEnclaveWrongMeasurement")
        .withArgs(elsewhere.address, elsewhere.measurement, ENCLAVE_MEASUREMENT);
      // The signature of the right result by the acknowledged key, submitted by another account, is refused too.
      const good = await s.enclave.signResult(s.domain, r);
      await expect(s.computeMarket.connect(other).submitResultTee(r.jobId, r.output, good)).to.be.revertedWithCustomError(market, "ComputeNotProvider");
      await expect(market.submitResultTee(r.jobId, r.output, good)).to.emit(market, "JobAccepted");
      const accepted = (await s.computeMarket.queryFilter(s.computeMarket.filters.JobAccepted(r.jobId)))[0];
      expect(accepted.args.enclave).to.equal(s.enclave.address);
      expect(accepted.args.output).to.equal(3n);
    });

    it("is refused once the registry owner revokes the key", async () => {
      const r = await claimedJob();
      await (await s.modelRegistry.revokeEnclave(s.enclave.address)).wait();
      const { revokedAt } = await s.modelRegistry.enclave(s.enclave.address);
      const market = s.computeMarket.connect(provider);
      await expect(market.submitResultTee(r.jobId, r.output, await s.enclave.signResult(s.domain, r)))
        .to.be.revertedWithCustomError(market, "ComputeEnclaveRevoked")
        .withArgs(s.enclave.address, revokedAt);
    });
  });
});
