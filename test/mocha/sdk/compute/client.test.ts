/**
 * ComputeClient (agents/src/sdk/compute/client.ts) on a real in-process chain: a job posted with its
 * input commitment and escrowed price; every bad input (unknown model, inactive model, wrong mode,
 * input of the wrong shape or out of range — by the registry's shape and by the local model file —,
 * fee below price, deadline in the past or outside the window, bad roots, no key) refused with a
 * message saying what to do and NOTHING sent; waiting for the result (the accepting transaction, its
 * output and provider); cancel, expire (refund and slash), withdraw; contract errors decoded.
 *
 *   npx hardhat test mocha test/mocha/sdk/compute/client.test.ts
 */
import { expect } from "chai";
import { network } from "hardhat";
import { DaiosError } from "../../../../agents/src/core/errors.js";
import { ComputeClient, ComputeInputError, DEADLINE_MARGIN_SEC, DEFAULT_TIMEOUT_SEC, type ComputeEvent } from "../../../../agents/src/sdk/compute/client.js";
import { inputCommitment, weightsCommitment } from "../../../../agents/src/sdk/compute/commitment.js";
import { loadModel } from "../../../../agents/src/sdk/compute/model.js";
import { SNARK_FIELD } from "../../../../agents/src/sdk/storage/poseidon.js";
import { deployComputeStack, ENCLAVE_MEASUREMENT, MARKET_CONFIG, type ComputeStack } from "./compute-fixture.js";

const { ethers, networkHelpers } = await network.create();

type Signer = Awaited<ReturnType<typeof ethers.getSigners>>[number];

const INPUT = [0, 0, 0, 12, 13, 5, 0, 0, 0, 0, 0, 11, 16, 9, 0, 0, 0, 0, 3, 15, 16, 6, 0, 0, 0, 7, 15, 16, 16, 2, 0, 0, 0, 0, 1, 16, 16, 3, 0, 0, 0, 0, 1, 16, 16, 6, 0, 0, 0, 0, 1, 16, 16, 6, 0, 0, 0, 0, 0, 11, 16, 10, 0, 0];
const PRICE = 10n ** 16n;

/** The error a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a failure, but it succeeded");
}

describe("ComputeClient (in-process chain)", function () {
  this.timeout(300_000);
  let s: ComputeStack;
  let owner: Signer;
  let clientSigner: Signer;
  let provider: Signer;
  let reporter: Signer;
  let client: ComputeClient;
  /** The digits model, registered with the local model file's weights commitment (zk + TEE). */
  let digits: bigint;
  /** A TEE-only model of another shape (4 values 0..3 → 2 classes) with no local copy. */
  let small: bigint;
  /** An inactive model. */
  let inactive: bigint;

  const spec = (name: string, weightsCommitment: bigint) => ({
    name,
    pricePerJob: PRICE,
    inputSize: 64,
    inputMax: 16,
    outputSize: 10,
    weightsCommitment,
    weightsRoot: 0x77n,
    weightsSize: 1301n,
    trainingDataRoot: 0x88n,
    teeMeasurement: ENCLAVE_MEASUREMENT,
  });

  /** The provider claims job `jobId` and answers it through the acknowledged enclave; returns the submit tx hash. */
  async function answer(jobId: bigint, output: bigint): Promise<string> {
    const market = s.computeMarket.connect(provider);
    await (await market.claimJob(jobId)).wait();
    const j = await market.job(jobId);
    const signature = await s.enclave.signResult(s.domain, { jobId, modelId: j.modelId, weightsCommitment: (await s.modelRegistry.model(j.modelId)).weightsCommitment, inputCommitment: j.inputCommitment, output, provider: provider.address });
    return (await (await market.submitResultTee(jobId, output, signature)).wait())!.hash;
  }

  before(async () => {
    [owner, clientSigner, provider, reporter] = await ethers.getSigners();
    const treasury = (await ethers.getSigners())[5];
    s = await deployComputeStack(ethers, { owner, clients: [clientSigner, reporter], providers: [provider], treasury });
    client = s.clientFor(clientSigner);
    const ownerClient = s.clientFor(owner);
    digits = (await ownerClient.registerModel({ ...spec("digits", await weightsCommitment(loadModel())), verifier: await s.verifier.getAddress() })).modelId;
    small = (await ownerClient.registerModel({ ...spec("small", 12345n), inputSize: 4, inputMax: 3, outputSize: 2 })).modelId;
    inactive = (await ownerClient.registerModel({ ...spec("retired", 777n), verifier: await s.verifier.getAddress() })).modelId;
    await (await s.modelRegistry.setActive(inactive, false)).wait();
  });

  it("lists the models with their modes, shapes and roots", async () => {
    const models = await client.models();
    expect(models.map((m) => [m.modelId, m.name, m.modes.join("+"), m.active])).to.deep.equal([
      [digits, "digits", "zk+tee", true],
      [small, "small", "tee", true],
      [inactive, "retired", "zk+tee", false],
    ]);
    expect(await client.model(small)).to.deep.include({ inputSize: 4, inputMax: 3, outputSize: 2, pricePerJob: PRICE, weightsRoot: 0x77n, trainingDataRoot: 0x88n, owner: owner.address });
    expect((await failure(client.model(9n))).message).to.match(/model 9 does not exist \(model ids run from 1 to 3\)\. list the models with `daios compute models`/);
  });

  it("posts a job: input commitment, escrowed price, inline input in the event, lineage roots", async () => {
    const events: ComputeEvent[] = [];
    const before = await s.token.balanceOf(await s.computeMarket.getAddress());
    const jobId = await client.postJob({ modelId: digits, input: INPUT, mode: "zk", dataRoots: [0xd1n, 0xd2n], onProgress: (e) => events.push(e) });
    expect(events.map((e) => e.type)).to.deep.equal(["approved", "posted"]);
    const posted = events[1] as Extract<ComputeEvent, { type: "posted" }>;
    expect(posted).to.deep.include({ jobId, modelId: digits, mode: "zk", maxFee: PRICE, price: PRICE, inputCommitment: await inputCommitment(INPUT) });
    expect(await s.token.balanceOf(await s.computeMarket.getAddress())).to.equal(before + PRICE);
    const job = await client.status(jobId);
    expect(job).to.deep.include({ jobId, modelId: digits, client: clientSigner.address, status: "Open", mode: "zk", price: PRICE, maxFee: PRICE, inputRoot: 0n, expirable: false });
    expect(job.dataRoots).to.deep.equal([0xd1n, 0xd2n]);
    expect(job.inputCommitment).to.equal(await inputCommitment(INPUT));
    // The deadline counts from the later of the chain's next block time and the wall clock (a loadFixture
    // revert sets Hardhat's clock back, so the chain may lag the wall clock by the seconds since the
    // snapshot). The job gets at least its timeout from the block it landed in, and at most timeout + margin
    // from the later of that block and the wall clock.
    const postedAt = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    const wallAfter = BigInt(Math.floor(Date.now() / 1000));
    expect(job.deadline >= postedAt + BigInt(DEFAULT_TIMEOUT_SEC), `deadline ${job.deadline}, posted at ${postedAt}`).to.equal(true);
    const latestStart = postedAt > wallAfter ? postedAt : wallAfter;
    expect(job.deadline <= latestStart + BigInt(DEFAULT_TIMEOUT_SEC) + DEADLINE_MARGIN_SEC, `deadline ${job.deadline}, wall ${wallAfter}`).to.equal(true);
    expect([...(await client.jobInput(jobId))!]).to.deep.equal(INPUT);
    // A higher cap is accepted; the market still takes only the price.
    const capped = await client.postJob({ modelId: digits, input: INPUT, mode: "tee", maxFee: 3n * PRICE, timeoutSec: 60 });
    expect(await client.status(capped)).to.deep.include({ maxFee: 3n * PRICE, price: PRICE, mode: "tee" });
  });

  it("refuses bad input with a message saying what to do, and sends nothing", async () => {
    const chainTime = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    const readOnly = s.clientFor(undefined);
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ["unknown model", () => client.postJob({ modelId: 42n, input: INPUT }), /model 42 does not exist \(model ids run from 1 to 3\)/],
      ["inactive model", () => client.postJob({ modelId: inactive, input: INPUT }), /model 3 \(retired\) is inactive: its owner took it off the market\. pick an active model/],
      ["mode the model lacks", () => client.postJob({ modelId: small, input: [0, 1, 2, 3], mode: "zk" }), /model 2 \(small\) cannot run in zk mode: it supports tee only\. use --mode tee/],
      ["63 values", () => client.postJob({ modelId: digits, input: INPUT.slice(1) }), /model 1 \(digits\): The input has 63 values; the model takes 64\. Give/],
      ["a dataset row with its label", () => client.postJob({ modelId: digits, input: [...INPUT, 0] }), /The input has 65 values; the model takes 64 \(a dataset row has the label as its last value: drop it\)/],
      ["a value out of range", () => client.postJob({ modelId: digits, input: INPUT.map((v, i) => (i === 9 ? 17 : v)) }), /model 1 \(digits\): Input value .*is 17, out of range\. Every value must be from 0 to 16/],
      ["a fraction", () => client.postJob({ modelId: digits, input: INPUT.map((v, i) => (i === 0 ? 0.5 : v)) }), /is 0\.5, not a whole number/],
      ["a negative value", () => client.postJob({ modelId: digits, input: INPUT.map((v, i) => (i === 63 ? -1 : v)) }), /is -1, out of range/],
      ["wrong shape, registry only", () => client.postJob({ modelId: small, input: [0, 1, 2, 3, 0], mode: "tee" }), /model 2 \(small\): The input has 5 values; the model takes 4/],
      ["out of range, registry only", () => client.postJob({ modelId: small, input: [0, 1, 4, 3], mode: "tee" }), /model 2 \(small\): Input value .*is 4, out of range\. Every value must be from 0 to 3/],
      ["fee below price", () => client.postJob({ modelId: digits, input: INPUT, maxFee: PRICE - 1n }), /the fee offered \(9999999999999999 token units\) is below model 1's price of 10000000000000000 per job\. offer at least the price/],
      ["deadline in the past", () => client.postJob({ modelId: digits, input: INPUT, deadline: chainTime - 5n }), new RegExp(`the deadline ${chainTime - 5n} is in the past: the chain's time is \\d+`)],
      ["deadline too soon", () => client.postJob({ modelId: digits, input: INPUT, timeoutSec: 5 }), /a timeout of 5 s is outside the market's window of 10 s to 604800 s\. give a timeout from 10 to 604800 seconds/],
      ["deadline too far", () => client.postJob({ modelId: digits, input: INPUT, deadline: chainTime + 8n * 24n * 3600n }), /outside the market's window of 10 s to 604800 s/],
      ["deadline and timeout", () => client.postJob({ modelId: digits, input: INPUT, deadline: chainTime + 100n, timeoutSec: 100 }), /give a deadline or a timeout, not both/],
      ["too many data roots", () => client.postJob({ modelId: digits, input: INPUT, dataRoots: Array.from({ length: 9 }, (_, i) => BigInt(i + 1)) }), /a job names at most 8 data roots, got 9/],
      ["a root outside the field", () => client.postJob({ modelId: digits, input: INPUT, dataRoots: [SNARK_FIELD] }), /is not a nonzero BN254 field element, so no storage deal can have it/],
      ["a zero input root", () => client.postJob({ modelId: digits, input: INPUT, inputRoot: 0n }), /storage root 0 is not a nonzero BN254 field element/],
      ["no key", () => readOnly.postJob({ modelId: digits, input: INPUT }), /this command sends transactions and needs a key\. set PRIVATE_KEY or pass --key/],
    ];
    const nonce = await ethers.provider.getTransactionCount(clientSigner.address);
    const jobs = await s.computeMarket.jobCount();
    const allowance = await s.token.allowance(clientSigner.address, await s.computeMarket.getAddress());
    const balance = await s.token.balanceOf(clientSigner.address);
    for (const [what, run, message] of cases) {
      const error = await failure(run());
      expect(error, what).to.be.instanceOf(ComputeInputError);
      expect(error.message, what).to.match(message);
    }
    expect(await ethers.provider.getTransactionCount(clientSigner.address)).to.equal(nonce);
    expect(await s.computeMarket.jobCount()).to.equal(jobs);
    expect(await s.token.allowance(clientSigner.address, await s.computeMarket.getAddress())).to.equal(allowance);
    expect(await s.token.balanceOf(clientSigner.address)).to.equal(balance);
  });

  it("waits for the result: status, output, the accepting transaction and its provider", async () => {
    const jobId = await client.postJob({ modelId: digits, input: INPUT, mode: "tee" });
    const events: ComputeEvent[] = [];
    const waiting = client.waitForResult(jobId, { onProgress: (e) => events.push(e), pollMs: 50, timeoutMs: 60_000 });
    const submitTx = await answer(jobId, 1n);
    const result = await waiting;
    expect(result).to.deep.equal({ jobId, status: "Accepted", output: 1n, txHash: submitTx, provider: provider.address, mode: "tee", settledAt: (await ethers.provider.getTransactionReceipt(submitTx))!.blockNumber });
    expect(events.map((e) => e.type)).to.deep.equal(["claimed", "settled"]);
    expect(events[0]).to.deep.include({ provider: provider.address, collateral: MARKET_CONFIG.minCollateral > (PRICE * MARKET_CONFIG.collateralBps) / 10_000n ? MARKET_CONFIG.minCollateral : (PRICE * MARKET_CONFIG.collateralBps) / 10_000n });
    expect(await client.status(jobId)).to.deep.include({ status: "Accepted", output: 1n, provider: provider.address });
    // Asked again after settlement, it answers at once with the same transaction.
    expect((await client.waitForResult(jobId)).txHash).to.equal(submitTx);
  });

  it("gives up waiting after timeoutMs, saying what to do", async () => {
    const jobId = await client.postJob({ modelId: digits, input: INPUT, mode: "tee", timeoutSec: 600 });
    const error = await failure(client.waitForResult(jobId, { timeoutMs: 300, pollMs: 50 }));
    expect(error.message).to.match(new RegExp(`job ${jobId} is still Open after \\d+ s .*wait longer \\(daios compute status ${jobId}\\), or after the deadline: daios compute expire ${jobId}`));
  });

  it("cancels an open job, expires open (refund) and claimed (slash) jobs, withdraws", async () => {
    const other = s.clientFor(reporter);
    const open = await client.postJob({ modelId: digits, input: INPUT, mode: "tee", timeoutSec: 30 });
    expect((await failure(other.cancel(open))).message).to.match(new RegExp(`job ${open} was posted by ${clientSigner.address}, not ${reporter.address}: only its client can cancel it`));
    const cancelled = await client.postJob({ modelId: digits, input: INPUT, mode: "tee", timeoutSec: 30 });
    const c = await client.cancel(cancelled);
    expect(c.refund).to.equal(PRICE);
    expect(await client.status(cancelled)).to.deep.include({ status: "Refunded" });
    expect((await failure(client.cancel(cancelled))).message).to.match(/is Refunded: only an Open job can be cancelled/);

    const claimed = await client.postJob({ modelId: digits, input: INPUT, mode: "tee", timeoutSec: 30 });
    await (await s.computeMarket.connect(provider).claimJob(claimed)).wait();
    expect((await failure(client.cancel(claimed))).message).to.match(/is Claimed: only an Open job can be cancelled\. a provider is working on it/);
    expect((await failure(other.expire(open))).message).to.match(new RegExp(`job ${open}'s deadline \\d+ has not passed \\(the chain's time is \\d+\\)`));

    await networkHelpers.time.increase(60);
    expect(await client.status(open)).to.deep.include({ expirable: true });
    const refunded = await other.expire(open);
    expect(refunded.status).to.equal("Refunded");
    const slashed = await other.expire(claimed);
    expect(slashed.status).to.equal("Slashed");
    expect((await failure(other.expire(claimed))).message).to.match(/is Slashed already: there is nothing to expire/);
    const outcome = await client.waitForResult(claimed);
    expect(outcome).to.deep.include({ status: "Slashed", output: undefined, txHash: slashed.txHash, provider: provider.address });

    const credit = await client.credits();
    expect(credit > 3n * PRICE).to.equal(true); // three refunds and the client's share of the slashed collateral
    const balance = await s.token.balanceOf(clientSigner.address);
    const w = await client.withdraw();
    expect(w.amount).to.equal(credit);
    expect(await s.token.balanceOf(clientSigner.address)).to.equal(balance + credit);
    expect((await failure(client.withdraw())).message).to.match(/has nothing to withdraw from the compute market/);
    expect((await other.withdraw()).amount > 0n).to.equal(true); // the reporter's share
  });

  it("decodes contract errors, also of a transaction the checks could not foresee", async () => {
    const unknown = await failure(s.contractsFor(clientSigner).computeMarket.cancelJob(999n));
    expect(client.revertOf(unknown)?.text).to.equal("ComputeUnknownJob(jobId=999)");
    // The model's owner raises the price between the client's checks and its transaction.
    const racing = s.clientFor(clientSigner, async () => {
      await (await s.modelRegistry.setPrice(digits, 2n * PRICE)).wait();
      return [];
    });
    const error = await failure(racing.postJob({ modelId: digits, input: INPUT, mode: "tee" }));
    expect(error).to.be.instanceOf(DaiosError);
    expect(error.message).to.match(/^postJob\(model 1\) failed: ComputeFeeBelowPrice\(maxFee=10000000000000000, price=20000000000000000\)/);
    await (await s.modelRegistry.setPrice(digits, PRICE)).wait();
  });
});
