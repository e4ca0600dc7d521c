// RandomnessBeacon on the in-process network: rounds signed by the TypeScript SDK verify on chain,
// drand evmnet round 1000 verifies, and the whole-transaction gas of relaying a round stays in budget.
import { expect } from "chai";
import { network } from "hardhat";
import { BEACON } from "../../../agents/src/generated/constants.js";
import {
  DRAND_DST,
  DRAND_EVMNET,
  drandPublicKey,
  drandRandomness,
  drandRoundMessage,
  g1FromBytes,
  g1ToSolidity,
  g2ToSolidity,
  keypairFromSecret,
  signMessage,
  toHex,
} from "../../../agents/src/sdk/bls/index.js";

/** drand evmnet round 1000 (public). */
const ROUND_1000 = {
  signature:
    "0x06fd5996329504d3a56b482d9222bf7205857d0a9559ddd216ca31a286f6a8cc0a120f021aac2f13553fb164f62bc3a5ca32c76dea88a777b39bcf3cac5fdbd6",
  randomness: "0x0e6745667465a6f9dce5d5f994656955080be14c469ff17fc4fc588c925a8504",
} as const;

const { ethers, networkHelpers } = await network.create();
const { loadFixture, mine, time } = networkHelpers;

/** Whole-transaction gas budget for relaying one fresh round (verify + store + anchor). */
const RELAY_GAS_BUDGET = 250_000n;
const BUCKET_BLOCKS = BigInt(BEACON.BUCKET_BLOCKS);
const PERIOD = 3n;
const SECRET = 0x5eed_1234_5678n;

async function beaconFixture() {
  const [deployer, relayer] = await ethers.getSigners();
  const now = BigInt(await time.latest());
  const genesis = now - 300n * PERIOD; // round ~301 is due now
  const key = keypairFromSecret(SECRET);
  const beacon = await ethers.deployContract("RandomnessBeacon", [g2ToSolidity(key.publicKeyG2), genesis, PERIOD]);
  const evmnet = await ethers.deployContract("RandomnessBeacon", [
    g2ToSolidity(drandPublicKey(DRAND_EVMNET)),
    DRAND_EVMNET.genesis,
    DRAND_EVMNET.period,
  ]);
  return { beacon, evmnet, genesis, deployer, relayer };
}

/** The SDK's signature of `round` under the test key, in Solidity struct order. */
function sign(round: bigint) {
  return g1ToSolidity(signMessage(SECRET, DRAND_DST, drandRoundMessage(round)));
}

/**
 * A round a few rounds after the one due at the latest block. Rounds are picked relative to the chain's
 * time, not the fixture's: after a snapshot revert late in a long run, the chain's clock (wall time)
 * may already be past any fixed round.
 */
async function upcomingRound(genesis: bigint): Promise<bigint> {
  return (BigInt(await time.latest()) - genesis) / PERIOD + 10n;
}

/** Moves to the first block of a new bucket whose timestamp makes `round` due, returning that block number. */
async function nextBucketAt(genesis: bigint, round: bigint): Promise<bigint> {
  const next = BigInt(await ethers.provider.getBlockNumber()) + 1n;
  const start = ((next + BUCKET_BLOCKS - 1n) / BUCKET_BLOCKS) * BUCKET_BLOCKS + BUCKET_BLOCKS;
  await mine(Number(start - next));
  await time.setNextBlockTimestamp(genesis + (round - 1n) * PERIOD);
  return start;
}

describe("RandomnessBeacon (in-process network)", function () {
  it("verifies drand evmnet round 1000 and stores its randomness; rejects it as round 999 or 1001", async function () {
    const { evmnet, relayer } = await loadFixture(beaconFixture);
    const sig = g1ToSolidity(g1FromBytes(ROUND_1000.signature, "evmnet signature"));
    await expect(evmnet.connect(relayer).relay(999, sig))
      .to.be.revertedWithCustomError(evmnet, "RandomnessBeaconInvalidSignature")
      .withArgs(999);
    await expect(evmnet.connect(relayer).relay(1001, sig))
      .to.be.revertedWithCustomError(evmnet, "RandomnessBeaconInvalidSignature")
      .withArgs(1001);
    const tx = evmnet.connect(relayer).relay(1000, sig);
    await expect(tx).to.emit(evmnet, "RoundRelayed").withArgs(1000, ROUND_1000.randomness, relayer.address);
    // Round 1000 is two years old on this chain: stored, but too stale to anchor a bucket.
    await expect(tx).not.to.emit(evmnet, "BucketAnchored");
    expect(await evmnet.randomnessOf(1000)).to.equal(ROUND_1000.randomness);
    expect(await evmnet.latestRound()).to.equal(1000n);
    const receipt = await (await tx).wait();
    console.log(`      relay gas, evmnet round 1000 (first relay, stale, no anchor): ${receipt!.gasUsed}`);
  });

  it("relays rounds signed by the SDK within the gas budget (whole transaction)", async function () {
    const { beacon, genesis, relayer } = await loadFixture(beaconFixture);
    const gas: Record<string, bigint> = {};

    const first = await upcomingRound(genesis);
    const second = first + 15n;
    let block = await nextBucketAt(genesis, first);
    let tx = beacon.connect(relayer).relay(first, sign(first));
    await expect(tx)
      .to.emit(beacon, "RoundRelayed")
      .withArgs(first, toHex(drandRandomness(signMessage(SECRET, DRAND_DST, drandRoundMessage(first)))), relayer.address);
    await expect(tx).to.emit(beacon, "BucketAnchored").withArgs(block / BUCKET_BLOCKS, first);
    gas.first = (await (await tx).wait())!.gasUsed;

    block = await nextBucketAt(genesis, second);
    tx = beacon.connect(relayer).relay(second, sign(second));
    await expect(tx).to.emit(beacon, "BucketAnchored").withArgs(block / BUCKET_BLOCKS, second);
    gas.steady = (await (await tx).wait())!.gasUsed;

    // Same bucket, the next round: stored, no anchor.
    tx = beacon.connect(relayer).relay(second + 1n, sign(second + 1n));
    await expect(tx).not.to.emit(beacon, "BucketAnchored");
    gas.noAnchor = (await (await tx).wait())!.gasUsed;

    // A racing relayer repeats the round: a cheap no-op.
    tx = beacon.connect(relayer).relay(second + 1n, sign(second + 1n));
    await expect(tx).not.to.emit(beacon, "RoundRelayed");
    gas.repeat = (await (await tx).wait())!.gasUsed;

    const [anchored, knownAt] = await beacon.anchorOf(block / BUCKET_BLOCKS);
    expect(anchored).to.equal(second);
    expect(knownAt).to.equal(block);
    console.log(
      `      relay gas (whole tx): first ever ${gas.first}, fresh round anchoring a bucket ${gas.steady}, ` +
        `round in an anchored bucket ${gas.noAnchor}, repeated round ${gas.repeat}`,
    );
    for (const used of Object.values(gas)) expect(used).to.be.at.most(RELAY_GAS_BUDGET);
  });

  it("serves block randomness from an anchor at least SEED_DELAY_BUCKETS later, with the block it became public", async function () {
    const { beacon, genesis, relayer } = await loadFixture(beaconFixture);
    const asked = BigInt(await ethers.provider.getBlockNumber());
    const askedBucket = asked / BUCKET_BLOCKS;
    await expect(beacon.randomnessAt(asked))
      .to.be.revertedWithCustomError(beacon, "RandomnessBeaconNotYetAvailable")
      .withArgs(asked, askedBucket + BigInt(BEACON.SEED_DELAY_BUCKETS), askedBucket);
    let round = await upcomingRound(genesis);
    let deciding: { round: bigint; block: bigint } | undefined;
    for (;;) {
      const block = await nextBucketAt(genesis, round);
      await beacon.connect(relayer).relay(round, sign(round));
      if (block / BUCKET_BLOCKS >= askedBucket + BigInt(BEACON.SEED_DELAY_BUCKETS)) {
        deciding = { round, block };
        break;
      }
      round += 5n;
    }
    const [value, knownAt] = await beacon.seedAt(asked);
    expect(value).to.equal(await beacon.randomnessOf(deciding.round));
    expect(knownAt).to.equal(deciding.block);
    expect(await beacon.randomnessAt(asked)).to.equal(value);
  });

  it("rejects malformed signatures and keys with named errors", async function () {
    const { beacon, relayer } = await loadFixture(beaconFixture);
    await expect(beacon.connect(relayer).relay(5, { x: 1n, y: 3n }))
      .to.be.revertedWithCustomError(beacon, "RandomnessBeaconSignatureNotOnCurve")
      .withArgs(5, 1n, 3n);
    await expect(beacon.connect(relayer).relay(0, sign(1n))).to.be.revertedWithCustomError(beacon, "RandomnessBeaconRoundZero");
    await expect(beacon.randomnessOf(7)).to.be.revertedWithCustomError(beacon, "RandomnessBeaconUnknownRound").withArgs(7);
    const factory = await ethers.getContractFactory("RandomnessBeacon");
    const bad = g2ToSolidity(keypairFromSecret(3n).publicKeyG2);
    await expect(ethers.deployContract("RandomnessBeacon", [{ ...bad, y0: bad.y0 ^ 1n }, 1n, 3n])).to.be.revertedWithCustomError(
      factory,
      "RandomnessBeaconInvalidPublicKey",
    );
  });
});
