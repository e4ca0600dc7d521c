// The storage market on the RandomnessBeacon, as deployed: a period's seed is the beacon round that
// anchors a bucket after its challenge block, the proof waits for it, pay latency counts from the
// relay, and the seed matches the TypeScript derivation. Prints the submitProof gas on both sources.
import { expect } from "chai";
import { BEACON } from "../../../agents/src/generated/constants.js";
import { challengeSeed } from "../../../agents/src/sdk/storage/periods.js";
import { roundAt, signRound, signatureForContract } from "../../../agents/src/sdk/beacon/index.js";
import { deployStorageStack } from "../../helpers/storage-stack.js";
import { COLLATERAL_PERIODS, PRICE, PROOF, ROOT, SIZE, ethers, gasOf, networkHelpers, nextTxAt } from "./storage-fixture.js";

const { loadFixture, mine } = networkHelpers;
const { pA, pB, pC } = PROOF;
const DEAL = 1n;
const BUCKET = BigInt(BEACON.BUCKET_BLOCKS);

async function stack(randomness: "RandomnessBeacon" | "BlockhashRandomness") {
  const [owner, client, p1, p2] = await ethers.getSigners();
  const s = await deployStorageStack(ethers, { owner, funded: [client], providers: [p1, p2], verifier: "MockPoRAVerifier", randomness, collateralPeriods: COLLATERAL_PERIODS });
  await s.market.connect(client).createDeal(ROOT, SIZE, 2, 10, PRICE);
  await s.market.connect(p1).joinDeal(DEAL, 0);
  await s.market.connect(p2).joinDeal(DEAL, 1);
  const [, challengeBlock] = await s.market.periodWindow(DEAL, 0);
  return { ...s, p1, p2, challengeBlock };
}
const beaconStack = async () => {
  const s = await stack("RandomnessBeacon");
  return { ...s, beacon: await ethers.getContractAt("RandomnessBeacon", await s.randomness.getAddress()) };
};
const blockhashStack = () => stack("BlockhashRandomness");

/** Relays the round due at the next block's time (a fresh round) in the next block; returns that block. */
async function relayFresh(beacon: Awaited<ReturnType<typeof beaconStack>>["beacon"]): Promise<bigint> {
  const genesis = Number(await beacon.genesis());
  const latest = (await ethers.provider.getBlock("latest"))!;
  const round = Math.max(1, roundAt(latest.timestamp + 1, { genesis, period: Number(await beacon.period()) }));
  // Pin the relay block's time: after a fixture snapshot the chain's clock may lag the wall clock.
  await networkHelpers.time.setNextBlockTimestamp(latest.timestamp + 1);
  const receipt = await (await beacon.relay(round, signatureForContract(signRound(round).signature))).wait();
  return BigInt(receipt!.blockNumber);
}

describe("StorageMarket on the RandomnessBeacon", function () {
  it("waits for the beacon round anchored after the challenge block and counts latency from its relay", async function () {
    const f = await loadFixture(beaconStack);
    // The first bucket that may decide the seed starts SEED_DELAY_BUCKETS buckets after the challenge block's.
    const firstBucket = f.challengeBlock / BUCKET + BigInt(BEACON.SEED_DELAY_BUCKETS);
    await nextTxAt(f.challengeBlock + 1n);
    await expect(f.market.connect(f.p1).submitProof(DEAL, 0, 0, pA, pB, pC)).to.be.revertedWithCustomError(f.beacon, "RandomnessBeaconNotYetAvailable");
    // A relay before that bucket does not decide it.
    await relayFresh(f.beacon);
    await expect(f.market.challengeSeed(DEAL, 0, 0, f.p1.address)).to.be.revertedWithCustomError(f.beacon, "RandomnessBeaconNotYetAvailable");
    await mine(Number(firstBucket * BUCKET - BigInt(await ethers.provider.getBlockNumber()) - 1n));
    const knownAt = await relayFresh(f.beacon);
    expect(knownAt / BUCKET).to.equal(firstBucket);
    const [random, reported] = await f.beacon.seedAt(f.challengeBlock);
    expect(reported).to.equal(knownAt);
    const chainId = (await ethers.provider.getNetwork()).chainId;
    expect(await f.market.challengeSeed(DEAL, 0, 0, f.p1.address)).to.equal(challengeSeed(random, chainId, await f.market.getAddress(), DEAL, 0n, 0n, f.p1.address));
    // Mined 3 blocks after the relay: latency 3, counted from the relay, not from the challenge block.
    await nextTxAt(knownAt + 3n);
    await expect(f.market.connect(f.p1).submitProof(DEAL, 0, 0, pA, pB, pC))
      .to.emit(f.market, "ProofAccepted")
      .withArgs(DEAL, 0n, 0n, f.p1.address, PRICE, 3n);
    expect(knownAt + 3n - f.challengeBlock).to.be.greaterThan(3n);
  });

  it("prints the submitProof gas with the beacon and with the block hash as source", async function () {
    const b = await loadFixture(beaconStack);
    await b.verifier.setSimulateGroth16Cost(true);
    const firstBucket = b.challengeBlock / BUCKET + BigInt(BEACON.SEED_DELAY_BUCKETS);
    await mine(Number(firstBucket * BUCKET - BigInt(await ethers.provider.getBlockNumber()) - 1n));
    await relayFresh(b.beacon);
    await b.market.connect(b.p1).submitProof(DEAL, 0, 0, pA, pB, pC); // first proof creates the provider's credit word
    const beaconGas = await gasOf(b.market.connect(b.p2).submitProof(DEAL, 1, 0, pA, pB, pC));

    const h = await loadFixture(blockhashStack);
    await h.verifier.setSimulateGroth16Cost(true);
    await nextTxAt(h.challengeBlock + 1n);
    await h.market.connect(h.p1).submitProof(DEAL, 0, 0, pA, pB, pC);
    const blockhashGas = await gasOf(h.market.connect(h.p2).submitProof(DEAL, 1, 0, pA, pB, pC));
    console.log(`      gas: submitProof ${beaconGas} (beacon source), ${blockhashGas} (block hash source), mock spending the generated verifier's precompile work`);
    // Reading the anchor and its round's randomness: two cold storage reads in the beacon.
    expect(beaconGas - blockhashGas).to.be.below(6_000n);
  });
});
