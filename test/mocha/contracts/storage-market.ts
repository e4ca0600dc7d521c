import { expect } from "chai";
import {
  BOUNTY_BPS,
  CHALLENGE_DELAY_BLOCKS,
  COLLATERAL,
  COLLATERAL_PERIODS,
  DEADLINE_BLOCKS,
  FAST_WINDOW_BLOCKS,
  MAX_FILE_SIZE,
  MAX_MISSES,
  MAX_PERIODS,
  MAX_REPLICAS,
  PENALTY,
  PERIOD_BLOCKS,
  PRICE,
  PROOF,
  REPAIR_BPS,
  ROOT,
  SIZE,
  SNARK_SCALAR_FIELD,
  UPLOAD_WINDOW_BLOCKS,
  deployStorageFixture,
  ethers,
  expectedPay,
  firstProvablePeriod,
  gasOf,
  networkHelpers,
  nextTxAt,
  periodWindow,
  split,
  type StorageFixture,
} from "./storage-fixture.js";
import { deployStorageStack } from "../../helpers/storage-stack.js";

const { loadFixture } = networkHelpers;
const { pA, pB, pC } = PROOF;
const DEAL = 1n;
const PENDING = 0n;
const ACTIVE = 1n;
const CANCELLED = 2n;
const CLOSED = 3n;

type Signer = StorageFixture["p1"];

/** A 2-replica, 10-period deal with p1 in slot 0 and p2 in slot 1, joined in the upload window (both prove from period 0). */
async function activeDealFixture() {
  const f = await deployStorageFixture();
  await f.market.connect(f.client).createDeal(ROOT, SIZE, 2, 10, PRICE);
  await f.market.connect(f.p1).joinDeal(DEAL, 0);
  await f.market.connect(f.p2).joinDeal(DEAL, 1);
  return f;
}

/** A 2-replica, 20-period deal with p1 in slot 0 only. */
async function halfFilledFixture() {
  const f = await deployStorageFixture();
  await f.market.connect(f.client).createDeal(ROOT, SIZE, 2, 20, PRICE);
  await f.market.connect(f.p1).joinDeal(DEAL, 0);
  return f;
}

function prove(f: StorageFixture, provider: Signer, slot: bigint, period: bigint, dealId = DEAL) {
  return f.market.connect(provider).submitProof(dealId, slot, period, pA, pB, pC);
}

/**
 * The market on a randomness source whose seeds and `knownAt` blocks the test sets (as a beacon whose
 * round for a challenge block is relayed some blocks later), with the active 2-replica deal.
 */
async function delayedSeedFixture() {
  const [owner, client, p1, p2] = await ethers.getSigners();
  const stack = await deployStorageStack(ethers, { owner, funded: [client], providers: [p1, p2], verifier: "MockPoRAVerifier", randomness: "MockRandomnessSource", collateralPeriods: COLLATERAL_PERIODS });
  const source = await ethers.getContractAt("MockRandomnessSource", await stack.randomness.getAddress());
  await stack.market.connect(client).createDeal(ROOT, SIZE, 2, 10, PRICE);
  await stack.market.connect(p1).joinDeal(DEAL, 0);
  await stack.market.connect(p2).joinDeal(DEAL, 1);
  const [, challengeBlock, , deadline] = await stack.market.periodWindow(DEAL, 0);
  return { ...stack, source, client, p1, p2, challengeBlock, deadline };
}

/** Sends the proof `latency` blocks after the period's challenge block. */
async function proveAt(f: StorageFixture, provider: Signer, slot: bigint, period: bigint, latency: bigint) {
  const { challengeBlock } = await periodWindow(f, DEAL, period);
  await nextTxAt(challengeBlock + latency);
  return prove(f, provider, slot, period);
}

describe("StorageMarket", function () {
  describe("deployment", function () {
    it("wires its dependencies and announces its parameters", async function () {
      const f = await loadFixture(deployStorageFixture);
      expect(await f.market.token()).to.equal(await f.token.getAddress());
      expect(await f.market.registry()).to.equal(await f.registry.getAddress());
      expect(await f.market.verifier()).to.equal(await f.verifier.getAddress());
      expect(await f.market.randomness()).to.equal(await f.randomness.getAddress());
      expect(await f.market.storageRole()).to.equal(ethers.id("daios.storage"));
      expect(await f.market.owner()).to.equal(f.owner.address);
      expect(await f.market.bountyBps()).to.equal(BOUNTY_BPS);
      expect(await f.market.repairBps()).to.equal(REPAIR_BPS);
      expect(await f.market.collateralPeriods()).to.equal(COLLATERAL_PERIODS);
      expect(await f.market.dealCount()).to.equal(0n);
      const deployment = f.market.deploymentTransaction();
      if (deployment === null) throw new Error("no deployment transaction");
      await expect(deployment)
        .to.emit(f.market, "BountyBpsSet")
        .withArgs(BOUNTY_BPS)
        .and.to.emit(f.market, "RepairBpsSet")
        .withArgs(REPAIR_BPS)
        .and.to.emit(f.market, "CollateralPeriodsSet")
        .withArgs(COLLATERAL_PERIODS);
    });

    it("rejects zero addresses and invalid collateral periods", async function () {
      const f = await loadFixture(deployStorageFixture);
      const args = [
        await f.token.getAddress(),
        await f.registry.getAddress(),
        await f.verifier.getAddress(),
        await f.randomness.getAddress(),
      ];
      const factory = await ethers.getContractFactory("StorageMarket");
      for (let i = 0; i < args.length; i++) {
        const broken = [...args];
        broken[i] = ethers.ZeroAddress;
        await expect(
          factory.deploy(broken[0], broken[1], broken[2], broken[3], f.owner.address, 1),
        ).to.be.revertedWithCustomError(f.market, "StorageMarketZeroAddress");
      }
      await expect(factory.deploy(args[0], args[1], args[2], args[3], f.owner.address, 0))
        .to.be.revertedWithCustomError(f.market, "StorageMarketInvalidCollateralPeriods")
        .withArgs(0n);
    });
  });

  describe("createDeal", function () {
    it("stores the deal, pulls the escrow and emits DealCreated with every parameter", async function () {
      const f = await loadFixture(deployStorageFixture);
      const escrow = PRICE * 3n * 50n;
      expect(await f.market.quote(SIZE, 3, 50, PRICE)).to.equal(escrow);
      const tx = f.market.connect(f.client).createDeal(ROOT, SIZE, 3, 50, PRICE);
      // Period 0 starts an upload window after the creation block.
      const startBlock = BigInt(await ethers.provider.getBlockNumber()) + 1n + UPLOAD_WINDOW_BLOCKS;
      await expect(tx)
        .to.emit(f.market, "DealCreated")
        .withArgs(DEAL, f.client.address, ROOT, SIZE, 3n, 50n, PRICE, escrow, startBlock);
      await expect(tx).to.changeTokenBalances(ethers, f.token, [f.client, f.market], [-escrow, escrow]);

      const d = await f.market.deal(DEAL);
      expect(d.client).to.equal(f.client.address);
      expect(d.dataRoot).to.equal(ROOT);
      expect(d.size).to.equal(SIZE);
      expect(d.replicas).to.equal(3n);
      expect(d.pricePerPeriod).to.equal(PRICE);
      expect(d.startBlock).to.equal(startBlock);
      expect(d.endPeriod).to.equal(50n);
      expect(d.escrow).to.equal(escrow);
      expect(d.status).to.equal(PENDING);
      expect(d.filledMask).to.equal(0n);
      expect(await f.market.dealCount()).to.equal(1n);
    });

    it("numbers deals from 1 and stays under 200,000 gas", async function () {
      const f = await loadFixture(deployStorageFixture);
      // The verifier prepares the data root with a real scalar multiplication, as the generated one does.
      await f.verifier.setSimulateGroth16Cost(true);
      const first = await gasOf(f.market.connect(f.client).createDeal(ROOT, SIZE, 3, 1000, PRICE));
      const second = await gasOf(f.market.connect(f.client).createDeal(ROOT + 1n, SIZE, 8, 100_000, PRICE));
      console.log(`      gas: createDeal ${first} (first deal), ${second} (next deal)`);
      expect(first).to.be.at.most(200_000n);
      expect(second).to.be.at.most(200_000n);
      expect(await f.market.dealCount()).to.equal(2n);
      expect((await f.market.deal(2n)).dataRoot).to.equal(ROOT + 1n);
    });

    it("rejects every invalid parameter with its value", async function () {
      const f = await loadFixture(deployStorageFixture);
      const m = f.market.connect(f.client);
      const cases: Array<[bigint, bigint, bigint, bigint, bigint, string, bigint]> = [
        [0n, SIZE, 1n, 1n, PRICE, "StorageMarketInvalidDataRoot", 0n],
        [SNARK_SCALAR_FIELD, SIZE, 1n, 1n, PRICE, "StorageMarketInvalidDataRoot", SNARK_SCALAR_FIELD],
        [ROOT, 0n, 1n, 1n, PRICE, "StorageMarketInvalidSize", 0n],
        [ROOT, MAX_FILE_SIZE + 1n, 1n, 1n, PRICE, "StorageMarketInvalidSize", MAX_FILE_SIZE + 1n],
        [ROOT, SIZE, 0n, 1n, PRICE, "StorageMarketInvalidReplicas", 0n],
        [ROOT, SIZE, MAX_REPLICAS + 1n, 1n, PRICE, "StorageMarketInvalidReplicas", MAX_REPLICAS + 1n],
        [ROOT, SIZE, 1n, 0n, PRICE, "StorageMarketInvalidPeriods", 0n],
        [ROOT, SIZE, 1n, MAX_PERIODS + 1n, PRICE, "StorageMarketInvalidPeriods", MAX_PERIODS + 1n],
        [ROOT, SIZE, 1n, 1n, 0n, "StorageMarketInvalidPrice", 0n],
        [ROOT, SIZE, 1n, 1n, 1n << 96n, "StorageMarketInvalidPrice", 1n << 96n],
      ];
      for (const [root, size, replicas, periods, price, error, arg] of cases) {
        await expect(m.createDeal(root, size, replicas, periods, price))
          .to.be.revertedWithCustomError(f.market, error)
          .withArgs(arg);
      }
      await expect(f.market.quote(0, 1, 1, PRICE))
        .to.be.revertedWithCustomError(f.market, "StorageMarketInvalidSize")
        .withArgs(0n);
      // The boundaries are accepted.
      await expect(m.createDeal(SNARK_SCALAR_FIELD - 1n, MAX_FILE_SIZE, MAX_REPLICAS, MAX_PERIODS, 1n)).to.emit(
        f.market,
        "DealCreated",
      );
    });
  });

  describe("joinDeal", function () {
    it("takes a slot, pulls collateral, and activates the deal once every slot is filled", async function () {
      const f = await loadFixture(deployStorageFixture);
      await f.market.connect(f.client).createDeal(ROOT, SIZE, 2, 10, PRICE);
      const { start } = await periodWindow(f, DEAL, 1n);
      await nextTxAt(start + CHALLENGE_DELAY_BLOCKS + 1n); // period 1 after its challenge block: the slot starts at 2
      const join = f.market.connect(f.p1).joinDeal(DEAL, 1);
      await expect(join).to.emit(f.market, "SlotJoined").withArgs(DEAL, 1n, f.p1.address, COLLATERAL, 2n);
      await expect(join).to.not.emit(f.market, "DealActivated");
      await expect(join).to.changeTokenBalances(ethers, f.token, [f.p1, f.market], [-COLLATERAL, COLLATERAL]);
      const s = await f.market.slot(DEAL, 1);
      expect(s.provider).to.equal(f.p1.address);
      expect(s.nextPeriod).to.equal(2n);
      expect(s.misses).to.equal(0n);
      expect(s.collateral).to.equal(COLLATERAL);
      expect(s.penaltyPerMiss).to.equal(PENALTY);
      expect(s.repairReserve).to.equal(0n);
      expect(s.repairPending).to.equal(false);
      expect((await f.market.deal(DEAL)).status).to.equal(PENDING);
      expect((await f.market.deal(DEAL)).filledMask).to.equal(2n);

      await expect(f.market.connect(f.p2).joinDeal(DEAL, 0))
        .to.emit(f.market, "SlotJoined")
        .withArgs(DEAL, 0n, f.p2.address, COLLATERAL, 2n)
        .and.to.emit(f.market, "DealActivated")
        .withArgs(DEAL);
      expect((await f.market.deal(DEAL)).status).to.equal(ACTIVE);
      expect((await f.market.deal(DEAL)).filledMask).to.equal(3n);
    });

    it("prints its gas", async function () {
      const f = await loadFixture(deployStorageFixture);
      await f.market.connect(f.client).createDeal(ROOT, SIZE, 2, 10, PRICE);
      const first = await gasOf(f.market.connect(f.p1).joinDeal(DEAL, 0));
      const activating = await gasOf(f.market.connect(f.p2).joinDeal(DEAL, 1));
      console.log(`      gas: joinDeal ${first} (first join of a provider), ${activating} (activating join)`);
      expect(first).to.be.below(200_000n);
    });

    it("rejects unknown deals, bad slots, taken slots and a second slot of the same provider", async function () {
      const f = await loadFixture(halfFilledFixture);
      await expect(f.market.connect(f.p2).joinDeal(7, 0))
        .to.be.revertedWithCustomError(f.market, "StorageMarketUnknownDeal")
        .withArgs(7n);
      await expect(f.market.connect(f.p2).joinDeal(DEAL, 2))
        .to.be.revertedWithCustomError(f.market, "StorageMarketInvalidSlot")
        .withArgs(DEAL, 2n, 2n);
      await expect(f.market.connect(f.p2).joinDeal(DEAL, 0))
        .to.be.revertedWithCustomError(f.market, "StorageMarketSlotTaken")
        .withArgs(DEAL, 0n, f.p1.address);
      await expect(f.market.connect(f.p1).joinDeal(DEAL, 1))
        .to.be.revertedWithCustomError(f.market, "StorageMarketAlreadyInDeal")
        .withArgs(DEAL, f.p1.address, 0n);
    });

    it("rejects accounts that are not active storage providers", async function () {
      const f = await loadFixture(halfFilledFixture);
      await expect(f.market.connect(f.stranger).joinDeal(DEAL, 1))
        .to.be.revertedWithCustomError(f.market, "StorageMarketProviderNotActive")
        .withArgs(f.stranger.address);
      await f.registry.connect(f.p2).requestUnbond(f.role, 1);
      await expect(f.market.connect(f.p2).joinDeal(DEAL, 1))
        .to.be.revertedWithCustomError(f.market, "StorageMarketProviderNotActive")
        .withArgs(f.p2.address);
    });

    it("rejects deals that ended, were cancelled or were closed", async function () {
      const f = await loadFixture(deployStorageFixture);
      await f.market.connect(f.client).createDeal(ROOT, SIZE, 2, 3, PRICE);
      // From the last period's challenge block on there is nothing left to prove.
      const { challengeBlock } = await periodWindow(f, DEAL, 2n);
      await nextTxAt(challengeBlock);
      await expect(f.market.connect(f.p1).joinDeal(DEAL, 0))
        .to.be.revertedWithCustomError(f.market, "StorageMarketDealEnded")
        .withArgs(DEAL, 3n);

      await f.market.connect(f.client).createDeal(ROOT, SIZE, 2, 10, PRICE);
      await f.market.connect(f.client).cancelDeal(2n);
      await expect(f.market.connect(f.p1).joinDeal(2n, 0))
        .to.be.revertedWithCustomError(f.market, "StorageMarketDealCancelled")
        .withArgs(2n);

      const { deadline } = await periodWindow(f, DEAL, 2n);
      await nextTxAt(deadline + 1n);
      await f.market.closeDeal(DEAL);
      await expect(f.market.connect(f.p1).joinDeal(DEAL, 0))
        .to.be.revertedWithCustomError(f.market, "StorageMarketDealClosed")
        .withArgs(DEAL);
    });
  });

  describe("submitProof", function () {
    it("pays the full price up to the last block of the fast window", async function () {
      const f = await loadFixture(activeDealFixture);
      const escrow = (await f.market.deal(DEAL)).escrow;
      await expect(proveAt(f, f.p1, 0n, 0n, 1n))
        .to.emit(f.market, "ProofAccepted")
        .withArgs(DEAL, 0n, 0n, f.p1.address, PRICE, 1n);
      await expect(proveAt(f, f.p2, 1n, 0n, FAST_WINDOW_BLOCKS))
        .to.emit(f.market, "ProofAccepted")
        .withArgs(DEAL, 1n, 0n, f.p2.address, PRICE, FAST_WINDOW_BLOCKS);
      expect(await f.market.credits(f.p1.address)).to.equal(PRICE);
      expect(await f.market.credits(f.p2.address)).to.equal(PRICE);
      expect((await f.market.deal(DEAL)).escrow).to.equal(escrow - 2n * PRICE);
      expect((await f.market.slot(DEAL, 0)).nextPeriod).to.equal(1n);
    });

    it("pays less one block after the fast window and nothing at the deadline", async function () {
      const f = await loadFixture(activeDealFixture);
      const escrow = (await f.market.deal(DEAL)).escrow;
      const late = expectedPay(PRICE, FAST_WINDOW_BLOCKS + 1n);
      const decay = DEADLINE_BLOCKS - FAST_WINDOW_BLOCKS;
      expect(late).to.equal((PRICE * (decay - 1n)) / decay);
      await expect(proveAt(f, f.p1, 0n, 0n, FAST_WINDOW_BLOCKS + 1n))
        .to.emit(f.market, "ProofAccepted")
        .withArgs(DEAL, 0n, 0n, f.p1.address, late, FAST_WINDOW_BLOCKS + 1n);
      const { deadline } = await periodWindow(f, DEAL, 0n);
      await nextTxAt(deadline);
      await expect(prove(f, f.p2, 1n, 0n))
        .to.emit(f.market, "ProofAccepted")
        .withArgs(DEAL, 1n, 0n, f.p2.address, 0n, DEADLINE_BLOCKS);
      expect(await f.market.credits(f.p1.address)).to.equal(late);
      expect(await f.market.credits(f.p2.address)).to.equal(0n);
      // The unpaid parts stay in escrow.
      expect((await f.market.deal(DEAL)).escrow).to.equal(escrow - late);
      expect((await f.market.slot(DEAL, 1)).nextPeriod).to.equal(1n);
    });

    it("follows the pay curve at every latency", async function () {
      const f = await loadFixture(activeDealFixture);
      let credited = 0n;
      // One period per latency, covering both window edges; the deal is long enough for all of them.
      const latencies = [1n, FAST_WINDOW_BLOCKS, FAST_WINDOW_BLOCKS + 1n, (FAST_WINDOW_BLOCKS + DEADLINE_BLOCKS) / 2n, DEADLINE_BLOCKS - 1n, DEADLINE_BLOCKS];
      for (const [i, latency] of latencies.entries()) {
        const period = BigInt(i);
        const pay = expectedPay(PRICE, latency);
        await expect(proveAt(f, f.p1, 0n, period, latency))
          .to.emit(f.market, "ProofAccepted")
          .withArgs(DEAL, 0n, period, f.p1.address, pay, latency);
        credited += pay;
      }
      expect(await f.market.credits(f.p1.address)).to.equal(credited);
    });

    it("passes [dataRoot, seed] to the verifier, with the seed from the challenge block hash and the provider", async function () {
      const f = await loadFixture(activeDealFixture);
      const { challengeBlock } = await periodWindow(f, DEAL, 0n);
      await nextTxAt(challengeBlock + 2n);
      const block = await ethers.provider.getBlock(challengeBlock);
      if (block === null || block.hash === null) throw new Error("challenge block not found");
      const { chainId } = await ethers.provider.getNetwork();
      const encoded = ethers.AbiCoder.defaultAbiCoder().encode(
        ["bytes32", "uint256", "address", "uint256", "uint256", "uint256", "address"],
        [block.hash, chainId, await f.market.getAddress(), DEAL, 1n, 0n, f.p2.address],
      );
      const seed = BigInt(ethers.keccak256(encoded)) % SNARK_SCALAR_FIELD;
      expect(await f.market.challengeSeed(DEAL, 1, 0, f.p2.address)).to.equal(seed);
      expect(await f.market.challengeSeed(DEAL, 0, 0, f.p2.address)).to.not.equal(seed);
      expect(await f.market.challengeSeed(DEAL, 1, 0, f.p1.address)).to.not.equal(seed);

      await f.verifier.expectPublicSignals([ROOT, seed]);
      // p1's proof of slot 0 carries another seed: rejected.
      await expect(prove(f, f.p1, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "StorageMarketInvalidProof")
        .withArgs(DEAL, 0n, 0n);
      await expect(prove(f, f.p2, 1n, 0n)).to.emit(f.market, "ProofAccepted");
    });

    it("rejects a proof before the challenge block is mined", async function () {
      const f = await loadFixture(activeDealFixture);
      const { start, challengeBlock } = await periodWindow(f, DEAL, 0n);
      // In the upload window, at the period's first block and at its challenge block.
      await expect(prove(f, f.p1, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "StorageMarketChallengeNotReady")
        .withArgs(DEAL, 0n, challengeBlock);
      await nextTxAt(start);
      await expect(prove(f, f.p1, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "StorageMarketChallengeNotReady")
        .withArgs(DEAL, 0n, challengeBlock);
      await nextTxAt(challengeBlock);
      await expect(prove(f, f.p1, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "StorageMarketChallengeNotReady")
        .withArgs(DEAL, 0n, challengeBlock);
    });

    it("rejects a proof after the deadline", async function () {
      const f = await loadFixture(activeDealFixture);
      const { deadline } = await periodWindow(f, DEAL, 0n);
      await nextTxAt(deadline + 1n);
      await expect(prove(f, f.p1, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "StorageMarketDeadlinePassed")
        .withArgs(DEAL, 0n, deadline);
    });

    it("rejects a period that is already settled", async function () {
      const f = await loadFixture(activeDealFixture);
      await proveAt(f, f.p1, 0n, 0n, 1n);
      await expect(prove(f, f.p1, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "StorageMarketPeriodSettled")
        .withArgs(DEAL, 0n, 0n, 1n);
    });

    it("rejects a period outside the deal", async function () {
      const f = await loadFixture(activeDealFixture);
      await expect(prove(f, f.p1, 0n, 10n))
        .to.be.revertedWithCustomError(f.market, "StorageMarketPeriodOutOfRange")
        .withArgs(DEAL, 10n, 10n);
    });

    it("rejects an invalid proof", async function () {
      const f = await loadFixture(activeDealFixture);
      const { challengeBlock } = await periodWindow(f, DEAL, 0n);
      await nextTxAt(challengeBlock + 1n);
      await f.verifier.setResult(false);
      await expect(prove(f, f.p1, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "StorageMarketInvalidProof")
        .withArgs(DEAL, 0n, 0n);
      await f.verifier.setResult(true);
      await expect(prove(f, f.p1, 0n, 0n)).to.emit(f.market, "ProofAccepted");
    });

    it("rejects callers that do not hold the slot, bad slots and unknown deals", async function () {
      const f = await loadFixture(activeDealFixture);
      const { challengeBlock } = await periodWindow(f, DEAL, 0n);
      await nextTxAt(challengeBlock + 1n);
      await expect(prove(f, f.p2, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "StorageMarketNotSlotProvider")
        .withArgs(DEAL, 0n, f.p2.address);
      await expect(prove(f, f.p1, 5n, 0n))
        .to.be.revertedWithCustomError(f.market, "StorageMarketInvalidSlot")
        .withArgs(DEAL, 5n, 2n);
      await expect(prove(f, f.p1, 0n, 0n, 99n))
        .to.be.revertedWithCustomError(f.market, "StorageMarketUnknownDeal")
        .withArgs(99n);
    });

    it("settles skipped periods as misses first, the bounty share going to the client", async function () {
      const f = await loadFixture(activeDealFixture);
      const escrow = (await f.market.deal(DEAL)).escrow;
      const { repair, toClient } = split(PENALTY, false);
      await expect(proveAt(f, f.p1, 0n, 2n, 1n))
        .to.emit(f.market, "ProofMissed")
        .withArgs(DEAL, 0n, 0n, f.p1.address, PENALTY, ethers.ZeroAddress)
        .and.to.emit(f.market, "ProofMissed")
        .withArgs(DEAL, 0n, 1n, f.p1.address, PENALTY, ethers.ZeroAddress)
        .and.to.emit(f.market, "ProofAccepted")
        .withArgs(DEAL, 0n, 2n, f.p1.address, PRICE, 1n);
      const s = await f.market.slot(DEAL, 0);
      expect(s.misses).to.equal(2n);
      expect(s.nextPeriod).to.equal(3n);
      expect(s.collateral).to.equal(COLLATERAL - 2n * PENALTY);
      expect(s.repairReserve).to.equal(2n * repair);
      expect(await f.market.credits(f.client.address)).to.equal(2n * toClient);
      expect(await f.market.credits(f.p1.address)).to.equal(PRICE);
      expect((await f.market.deal(DEAL)).escrow).to.equal(escrow - PRICE);
    });

    it("refuses a proof whose skipped periods would free the slot", async function () {
      const f = await loadFixture(activeDealFixture);
      // Proving period MAX_MISSES would first settle periods 0 .. MAX_MISSES - 1 as misses.
      await expect(proveAt(f, f.p1, 0n, MAX_MISSES, 1n))
        .to.be.revertedWithCustomError(f.market, "StorageMarketTooManyMisses")
        .withArgs(DEAL, 0n, MAX_MISSES);
    });

    it("stays cheap: prints the gas of submitProof with the mock and with Groth16-cost verification", async function () {
      const f = await loadFixture(activeDealFixture);
      const { challengeBlock } = await periodWindow(f, DEAL, 0n);
      await nextTxAt(challengeBlock + 1n);
      // Realistic calldata: proof coordinates are full-width field elements.
      const big = SNARK_SCALAR_FIELD - 12345n;
      const a: [bigint, bigint] = [big, big - 1n];
      const b: [[bigint, bigint], [bigint, bigint]] = [
        [big - 2n, big - 3n],
        [big - 4n, big - 5n],
      ];
      const c: [bigint, bigint] = [big - 6n, big - 7n];
      const plain = await gasOf(f.market.connect(f.p1).submitProof(DEAL, 0, 0, a, b, c));
      await f.verifier.setSimulateGroth16Cost(true);
      const simulated = await gasOf(f.market.connect(f.p2).submitProof(DEAL, 1, 0, a, b, c));
      console.log(`      gas: submitProof ${plain} (mock verifier), ${simulated} (mock spending the generated verifier's precompile work)`);
      expect(plain).to.be.below(60_000n);
      // The generated verifier with a prepared data root costs ~191,600 gas by itself (the mock ~2,200
      // more); the market's own part, with the 21,000 intrinsic gas and calldata, is ~54,000.
      expect(simulated).to.be.below(250_000n);
    });
  });

  describe("reportMissed", function () {
    it("credits the bounty to the reporter, the repair share to the slot and the rest to the client", async function () {
      const f = await loadFixture(activeDealFixture);
      await proveAt(f, f.p2, 1n, 0n, 1n);
      const { deadline } = await periodWindow(f, DEAL, 0n);
      await nextTxAt(deadline + 1n);
      const { bounty, repair, toClient } = split(PENALTY, true);
      const tx = f.market.connect(f.reporter).reportMissed(DEAL, 0);
      await expect(tx)
        .to.emit(f.market, "ProofMissed")
        .withArgs(DEAL, 0n, 0n, f.p1.address, PENALTY, f.reporter.address);
      await expect(tx).to.not.emit(f.market, "SlotFreed");
      console.log(`      gas: reportMissed ${await gasOf(tx)} (one miss)`);
      expect(await f.market.credits(f.reporter.address)).to.equal(bounty);
      expect(await f.market.credits(f.client.address)).to.equal(toClient);
      const s = await f.market.slot(DEAL, 0);
      expect(s.repairReserve).to.equal(repair);
      expect(s.collateral).to.equal(COLLATERAL - PENALTY);
      expect(s.misses).to.equal(1n);
      expect(s.nextPeriod).to.equal(1n);
      expect(s.provider).to.equal(f.p1.address);

      await expect(f.market.connect(f.reporter).reportMissed(DEAL, 0))
        .to.be.revertedWithCustomError(f.market, "StorageMarketNothingToReport")
        .withArgs(DEAL, 0n);
      // The provider keeps its slot and proves the next period.
      await expect(proveAt(f, f.p1, 0n, 1n, 1n)).to.emit(f.market, "ProofAccepted");
    });

    it("reports nothing in the upload window or while the deadline has not passed", async function () {
      const f = await loadFixture(activeDealFixture);
      expect(BigInt(await ethers.provider.getBlockNumber())).to.be.below((await f.market.deal(DEAL)).startBlock);
      await expect(f.market.reportMissed(DEAL, 0))
        .to.be.revertedWithCustomError(f.market, "StorageMarketNothingToReport")
        .withArgs(DEAL, 0n);
      const { deadline } = await periodWindow(f, DEAL, 0n);
      await nextTxAt(deadline);
      await expect(f.market.reportMissed(DEAL, 0))
        .to.be.revertedWithCustomError(f.market, "StorageMarketNothingToReport")
        .withArgs(DEAL, 0n);
    });

    it("rejects empty slots, bad slots and unknown deals", async function () {
      const f = await loadFixture(halfFilledFixture);
      await expect(f.market.reportMissed(DEAL, 1))
        .to.be.revertedWithCustomError(f.market, "StorageMarketSlotEmpty")
        .withArgs(DEAL, 1n);
      await expect(f.market.reportMissed(DEAL, 2))
        .to.be.revertedWithCustomError(f.market, "StorageMarketInvalidSlot")
        .withArgs(DEAL, 2n, 2n);
      await expect(f.market.reportMissed(3, 0))
        .to.be.revertedWithCustomError(f.market, "StorageMarketUnknownDeal")
        .withArgs(3n);
    });

    it("frees the slot after MAX_MISSES misses; a third provider repairs it and gets the repair reserve", async function () {
      const f = await loadFixture(halfFilledFixture);
      const { deadline } = await periodWindow(f, DEAL, MAX_MISSES - 1n);
      await nextTxAt(deadline + 1n);
      const { bounty, repair, toClient } = split(PENALTY, true);
      const rest = COLLATERAL - MAX_MISSES * PENALTY;
      const restSplit = split(rest, true);
      const tx = f.market.connect(f.reporter).reportMissed(DEAL, 0);
      for (let period = 0n; period < MAX_MISSES; period++) {
        await expect(tx)
          .to.emit(f.market, "ProofMissed")
          .withArgs(DEAL, 0n, period, f.p1.address, PENALTY, f.reporter.address);
      }
      await expect(tx).to.emit(f.market, "SlotFreed").withArgs(DEAL, 0n, f.p1.address, rest);
      console.log(`      gas: reportMissed ${await gasOf(tx)} (three misses, slot freed)`);

      const reserve = MAX_MISSES * repair + restSplit.repair;
      let s = await f.market.slot(DEAL, 0);
      expect(s.provider).to.equal(ethers.ZeroAddress);
      expect(s.collateral).to.equal(0n);
      expect(s.repairReserve).to.equal(reserve);
      expect(await f.market.credits(f.reporter.address)).to.equal(MAX_MISSES * bounty + restSplit.bounty);
      expect(await f.market.credits(f.client.address)).to.equal(MAX_MISSES * toClient + restSplit.toClient);
      expect(await f.market.credits(f.p1.address)).to.equal(0n);

      await expect(f.market.connect(f.p1).joinDeal(DEAL, 0))
        .to.be.revertedWithCustomError(f.market, "StorageMarketProviderEvicted")
        .withArgs(DEAL, f.p1.address);
      // Once the current period's challenge block is mined, a join starts the slot at the next period.
      const { startBlock } = await f.market.deal(DEAL);
      let joinBlock = BigInt(await ethers.provider.getBlockNumber()) + 1n;
      const challengeBlock = startBlock + ((joinBlock - startBlock) / PERIOD_BLOCKS) * PERIOD_BLOCKS + CHALLENGE_DELAY_BLOCKS;
      if (joinBlock <= challengeBlock) {
        await networkHelpers.mine(challengeBlock - joinBlock + 1n);
        joinBlock = challengeBlock + 1n;
      }
      const next = firstProvablePeriod(startBlock, joinBlock);
      expect(next).to.equal((joinBlock - startBlock) / PERIOD_BLOCKS + 1n);
      await expect(f.market.connect(f.p3).joinDeal(DEAL, 0))
        .to.emit(f.market, "SlotJoined")
        .withArgs(DEAL, 0n, f.p3.address, COLLATERAL, next);
      expect((await f.market.slot(DEAL, 0)).repairPending).to.equal(true);

      await expect(proveAt(f, f.p3, 0n, next, 1n))
        .to.emit(f.market, "ProofAccepted")
        .withArgs(DEAL, 0n, next, f.p3.address, PRICE, 1n)
        .and.to.emit(f.market, "RepairRewarded")
        .withArgs(DEAL, 0n, f.p3.address, reserve);
      expect(await f.market.credits(f.p3.address)).to.equal(PRICE + reserve);
      s = await f.market.slot(DEAL, 0);
      expect(s.repairReserve).to.equal(0n);
      expect(s.repairPending).to.equal(false);
      // Only the first proof of the repairer is rewarded.
      await expect(proveAt(f, f.p3, 0n, next + 1n, 1n)).to.not.emit(f.market, "RepairRewarded");
    });
  });

  describe("upload window", function () {
    it("a slot joined in the window proves period 0, one block after its challenge block", async function () {
      const f = await loadFixture(deployStorageFixture);
      const created = (await (await f.market.connect(f.client).createDeal(ROOT, SIZE, 2, 10, PRICE)).wait())?.blockNumber;
      if (created === undefined) throw new Error("createDeal was not mined");
      const { startBlock } = await f.market.deal(DEAL);
      expect(startBlock).to.equal(BigInt(created) + UPLOAD_WINDOW_BLOCKS);
      // The last block of the window, and period 0 before its challenge block.
      await nextTxAt(startBlock - 1n);
      await expect(f.market.connect(f.p1).joinDeal(DEAL, 0))
        .to.emit(f.market, "SlotJoined")
        .withArgs(DEAL, 0n, f.p1.address, COLLATERAL, 0n);
      const { challengeBlock } = await periodWindow(f, DEAL, 0n);
      await nextTxAt(challengeBlock - 1n);
      await expect(f.market.connect(f.p2).joinDeal(DEAL, 1))
        .to.emit(f.market, "SlotJoined")
        .withArgs(DEAL, 1n, f.p2.address, COLLATERAL, 0n);

      const tx = await proveAt(f, f.p1, 0n, 0n, 1n);
      await expect(tx).to.emit(f.market, "ProofAccepted").withArgs(DEAL, 0n, 0n, f.p1.address, PRICE, 1n);
      await expect(tx).to.not.emit(f.market, "ProofMissed");
      const proven = (await tx.wait())?.blockNumber;
      if (proven === undefined) throw new Error("submitProof was not mined");
      const blocks = BigInt(proven - created);
      console.log(`      creation → first accepted proof: ${blocks} blocks`);
      expect(blocks).to.equal(UPLOAD_WINDOW_BLOCKS + CHALLENGE_DELAY_BLOCKS + 1n);
    });

    it("a slot joined from a period's challenge block on starts at the next period", async function () {
      const f = await loadFixture(deployStorageFixture);
      await f.market.connect(f.client).createDeal(ROOT, SIZE, 2, 10, PRICE);
      const { challengeBlock } = await periodWindow(f, DEAL, 0n);
      await nextTxAt(challengeBlock);
      await expect(f.market.connect(f.p1).joinDeal(DEAL, 0))
        .to.emit(f.market, "SlotJoined")
        .withArgs(DEAL, 0n, f.p1.address, COLLATERAL, 1n);
      await nextTxAt(challengeBlock + 1n);
      await expect(prove(f, f.p1, 0n, 0n))
        .to.be.revertedWithCustomError(f.market, "StorageMarketPeriodSettled")
        .withArgs(DEAL, 0n, 0n, 1n);
      await expect(proveAt(f, f.p1, 0n, 1n, 1n)).to.emit(f.market, "ProofAccepted").and.not.to.emit(f.market, "ProofMissed");
    });

    it("a slot joined in a later period before its challenge block proves that period", async function () {
      const f = await loadFixture(deployStorageFixture);
      await f.market.connect(f.client).createDeal(ROOT, SIZE, 3, 10, PRICE);
      const w = await periodWindow(f, DEAL, 3n);
      await nextTxAt(w.start);
      await expect(f.market.connect(f.p1).joinDeal(DEAL, 0))
        .to.emit(f.market, "SlotJoined")
        .withArgs(DEAL, 0n, f.p1.address, COLLATERAL, 3n);
      expect(await f.market.currentPeriod(DEAL)).to.equal(3n);
      await nextTxAt(w.challengeBlock - 1n);
      await expect(f.market.connect(f.p2).joinDeal(DEAL, 1))
        .to.emit(f.market, "SlotJoined")
        .withArgs(DEAL, 1n, f.p2.address, COLLATERAL, 3n);
      await expect(f.market.connect(f.p3).joinDeal(DEAL, 2))
        .to.emit(f.market, "SlotJoined")
        .withArgs(DEAL, 2n, f.p3.address, COLLATERAL, 4n);
      await expect(proveAt(f, f.p1, 0n, 3n, 1n))
        .to.emit(f.market, "ProofAccepted")
        .withArgs(DEAL, 0n, 3n, f.p1.address, PRICE, 1n)
        .and.not.to.emit(f.market, "ProofMissed");
      await expect(prove(f, f.p2, 1n, 3n)).to.emit(f.market, "ProofAccepted").and.not.to.emit(f.market, "ProofMissed");
    });

    it("before the start: period 0, windows ahead, nothing to report, not closable, top-up allowed", async function () {
      const f = await loadFixture(halfFilledFixture);
      const { startBlock } = await f.market.deal(DEAL);
      expect(BigInt(await ethers.provider.getBlockNumber())).to.be.below(startBlock);
      expect(await f.market.currentPeriod(DEAL)).to.equal(0n);
      const w = await periodWindow(f, DEAL, 0n);
      expect(w.start).to.equal(startBlock);
      expect(w.challengeBlock).to.equal(startBlock + CHALLENGE_DELAY_BLOCKS);
      await expect(f.market.challengeSeed(DEAL, 0, 0, f.p1.address)).to.be.revertedWithCustomError(f.randomness, "BlockhashRandomnessNotMined");
      await expect(f.market.reportMissed(DEAL, 0))
        .to.be.revertedWithCustomError(f.market, "StorageMarketNothingToReport")
        .withArgs(DEAL, 0n);
      await expect(f.market.closeDeal(DEAL))
        .to.be.revertedWithCustomError(f.market, "StorageMarketDealNotEnded")
        .withArgs(DEAL, (await periodWindow(f, DEAL, 19n)).deadline + 1n);
      await expect(f.market.connect(f.client).topUp(DEAL, 1))
        .to.emit(f.market, "DealToppedUp")
        .withArgs(DEAL, f.client.address, 1n, 2n * PRICE, 21n);
      await nextTxAt(startBlock - 1n);
      await f.market.connect(f.p2).joinDeal(DEAL, 1);
      expect(await f.market.currentPeriod(DEAL)).to.equal(0n);
      await networkHelpers.mine(Number(startBlock + PERIOD_BLOCKS - BigInt(await ethers.provider.getBlockNumber())));
      expect(await f.market.currentPeriod(DEAL)).to.equal(1n);
    });

    it("a deal cancelled in the window keeps period 0 only and closes after period 0's deadline", async function () {
      const f = await loadFixture(halfFilledFixture);
      const refund = PRICE * 2n * 19n;
      await expect(f.market.connect(f.client).cancelDeal(DEAL)).to.emit(f.market, "DealCancelled").withArgs(DEAL, 1n, refund);
      const d = await f.market.deal(DEAL);
      expect(d.endPeriod).to.equal(1n);
      expect(d.escrow).to.equal(2n * PRICE);
      expect(await f.market.credits(f.client.address)).to.equal(refund);
      await expect(f.market.connect(f.p2).joinDeal(DEAL, 1))
        .to.be.revertedWithCustomError(f.market, "StorageMarketDealCancelled")
        .withArgs(DEAL);
      const closableAt = (await periodWindow(f, DEAL, 0n)).deadline + 1n;
      await expect(f.market.closeDeal(DEAL))
        .to.be.revertedWithCustomError(f.market, "StorageMarketDealNotEnded")
        .withArgs(DEAL, closableAt);
      // p1 joined in the window and proves period 0; the empty slot's share goes back at closing.
      await expect(proveAt(f, f.p1, 0n, 0n, 1n)).to.emit(f.market, "ProofAccepted");
      await nextTxAt(closableAt);
      await expect(f.market.closeDeal(DEAL))
        .to.emit(f.market, "CollateralReturned")
        .withArgs(DEAL, 0n, f.p1.address, COLLATERAL)
        .and.to.emit(f.market, "DealClosed")
        .withArgs(DEAL, PRICE, 0n);
      expect(await f.market.credits(f.client.address)).to.equal(refund + PRICE);
      expect(await f.market.credits(f.p1.address)).to.equal(PRICE + COLLATERAL);
    });
  });

  describe("topUp", function () {
    it("extends the deal, pulling the price of the extra periods for every replica", async function () {
      const f = await loadFixture(activeDealFixture);
      const amount = PRICE * 2n * 7n;
      const escrow = (await f.market.deal(DEAL)).escrow;
      const tx = f.market.connect(f.reporter).topUp(DEAL, 7);
      await expect(tx).to.emit(f.market, "DealToppedUp").withArgs(DEAL, f.reporter.address, 7n, amount, 17n);
      await expect(tx).to.changeTokenBalances(ethers, f.token, [f.reporter, f.market], [-amount, amount]);
      const d = await f.market.deal(DEAL);
      expect(d.endPeriod).to.equal(17n);
      expect(d.escrow).to.equal(escrow + amount);
    });

    it("rejects zero or too many periods, unknown, ended and cancelled deals", async function () {
      const f = await loadFixture(activeDealFixture);
      const m = f.market.connect(f.client);
      await expect(m.topUp(DEAL, 0)).to.be.revertedWithCustomError(f.market, "StorageMarketInvalidPeriods").withArgs(0n);
      await expect(m.topUp(DEAL, MAX_PERIODS))
        .to.be.revertedWithCustomError(f.market, "StorageMarketInvalidPeriods")
        .withArgs(MAX_PERIODS);
      await expect(m.topUp(9, 1)).to.be.revertedWithCustomError(f.market, "StorageMarketUnknownDeal").withArgs(9n);
      await m.createDeal(ROOT, SIZE, 1, 5, PRICE);
      await m.cancelDeal(2n);
      await expect(m.topUp(2n, 1)).to.be.revertedWithCustomError(f.market, "StorageMarketDealCancelled").withArgs(2n);
      const { start } = await periodWindow(f, DEAL, 10n);
      await nextTxAt(start);
      await expect(m.topUp(DEAL, 1)).to.be.revertedWithCustomError(f.market, "StorageMarketDealEnded").withArgs(DEAL, 10n);
    });
  });

  describe("cancelDeal", function () {
    it("ends the deal after the current period and credits the later periods pro rata", async function () {
      const f = await loadFixture(activeDealFixture);
      await proveAt(f, f.p1, 0n, 0n, 1n);
      await prove(f, f.p2, 1n, 0n);
      await proveAt(f, f.p1, 0n, 1n, 1n);
      const escrow = (await f.market.deal(DEAL)).escrow;
      const refund = PRICE * 2n * 8n; // periods 2..9
      await expect(f.market.connect(f.client).cancelDeal(DEAL))
        .to.emit(f.market, "DealCancelled")
        .withArgs(DEAL, 2n, refund);
      const d = await f.market.deal(DEAL);
      expect(d.endPeriod).to.equal(2n);
      expect(d.escrow).to.equal(escrow - refund);
      expect(d.status).to.equal(CANCELLED);
      expect(await f.market.credits(f.client.address)).to.equal(refund);
      // The current period can still be proven, the next one no more.
      await expect(prove(f, f.p2, 1n, 1n)).to.emit(f.market, "ProofAccepted");
      await expect(proveAt(f, f.p1, 0n, 2n, 1n))
        .to.be.revertedWithCustomError(f.market, "StorageMarketPeriodOutOfRange")
        .withArgs(DEAL, 2n, 2n);
    });

    it("rejects other callers, unknown, cancelled and ended deals", async function () {
      const f = await loadFixture(activeDealFixture);
      await expect(f.market.connect(f.p1).cancelDeal(DEAL))
        .to.be.revertedWithCustomError(f.market, "StorageMarketNotClient")
        .withArgs(DEAL, f.p1.address);
      await expect(f.market.connect(f.client).cancelDeal(4))
        .to.be.revertedWithCustomError(f.market, "StorageMarketUnknownDeal")
        .withArgs(4n);
      await f.market.connect(f.client).cancelDeal(DEAL);
      await expect(f.market.connect(f.client).cancelDeal(DEAL))
        .to.be.revertedWithCustomError(f.market, "StorageMarketDealCancelled")
        .withArgs(DEAL);
      await f.market.connect(f.client).createDeal(ROOT, SIZE, 1, 1, PRICE);
      await nextTxAt((await f.market.deal(2n)).startBlock + PERIOD_BLOCKS);
      await expect(f.market.connect(f.client).cancelDeal(2n))
        .to.be.revertedWithCustomError(f.market, "StorageMarketDealEnded")
        .withArgs(2n, 1n);
    });
  });

  describe("closeDeal", function () {
    it("after the last deadline, returns the escrow to the client and collateral to the providers", async function () {
      const f = await loadFixture(deployStorageFixture);
      await f.market.connect(f.client).createDeal(ROOT, SIZE, 2, 3, PRICE);
      await f.market.connect(f.p1).joinDeal(DEAL, 0);
      await f.market.connect(f.p2).joinDeal(DEAL, 1);
      const latePay = expectedPay(PRICE, FAST_WINDOW_BLOCKS + 5n);
      for (const period of [0n, 1n, 2n]) {
        await proveAt(f, f.p1, 0n, period, 1n);
        await proveAt(f, f.p2, 1n, period, FAST_WINDOW_BLOCKS + 5n);
      }
      const closableAt = (await periodWindow(f, DEAL, 2n)).deadline + 1n;
      await nextTxAt(closableAt - 1n);
      await expect(f.market.closeDeal(DEAL))
        .to.be.revertedWithCustomError(f.market, "StorageMarketDealNotEnded")
        .withArgs(DEAL, closableAt);

      const escrowLeft = PRICE * 2n * 3n - 3n * PRICE - 3n * latePay;
      expect((await f.market.deal(DEAL)).escrow).to.equal(escrowLeft);
      await nextTxAt(closableAt);
      const tx = f.market.connect(f.reporter).closeDeal(DEAL);
      await expect(tx)
        .to.emit(f.market, "CollateralReturned")
        .withArgs(DEAL, 0n, f.p1.address, COLLATERAL)
        .and.to.emit(f.market, "CollateralReturned")
        .withArgs(DEAL, 1n, f.p2.address, COLLATERAL)
        .and.to.emit(f.market, "DealClosed")
        .withArgs(DEAL, escrowLeft, 0n);
      await expect(tx).to.not.emit(f.market, "ProofMissed");
      console.log(`      gas: closeDeal ${await gasOf(tx)} (2 slots, nothing missed)`);
      expect(await f.market.credits(f.client.address)).to.equal(escrowLeft);
      expect(await f.market.credits(f.p1.address)).to.equal(3n * PRICE + COLLATERAL);
      expect(await f.market.credits(f.p2.address)).to.equal(3n * latePay + COLLATERAL);
      expect(await f.market.credits(f.reporter.address)).to.equal(0n);
      const d = await f.market.deal(DEAL);
      expect(d.status).to.equal(CLOSED);
      expect(d.escrow).to.equal(0n);
      expect(await f.token.balanceOf(await f.market.getAddress())).to.equal(
        escrowLeft + 3n * PRICE + 3n * latePay + 2n * COLLATERAL,
      );

      await expect(f.market.closeDeal(DEAL)).to.be.revertedWithCustomError(f.market, "StorageMarketDealClosed").withArgs(DEAL);
      await expect(f.market.reportMissed(DEAL, 0))
        .to.be.revertedWithCustomError(f.market, "StorageMarketDealClosed")
        .withArgs(DEAL);
    });

    it("settles the remaining misses first, the closer earning their bounties", async function () {
      const f = await loadFixture(deployStorageFixture);
      await f.market.connect(f.client).createDeal(ROOT, SIZE, 2, 3, PRICE);
      await f.market.connect(f.p1).joinDeal(DEAL, 0);
      await f.market.connect(f.p2).joinDeal(DEAL, 1);
      await proveAt(f, f.p1, 0n, 0n, 1n);
      await prove(f, f.p2, 1n, 0n);
      await proveAt(f, f.p1, 0n, 1n, 1n);
      // p1 misses period 2; p2 misses periods 1 and 2.
      await nextTxAt((await periodWindow(f, DEAL, 2n)).deadline + 1n);
      const { bounty, repair, toClient } = split(PENALTY, true);
      const escrowLeft = PRICE * 2n * 3n - 3n * PRICE;
      await expect(f.market.connect(f.reporter).closeDeal(DEAL))
        .to.emit(f.market, "ProofMissed")
        .withArgs(DEAL, 0n, 2n, f.p1.address, PENALTY, f.reporter.address)
        .and.to.emit(f.market, "ProofMissed")
        .withArgs(DEAL, 1n, 1n, f.p2.address, PENALTY, f.reporter.address)
        .and.to.emit(f.market, "ProofMissed")
        .withArgs(DEAL, 1n, 2n, f.p2.address, PENALTY, f.reporter.address)
        .and.to.emit(f.market, "CollateralReturned")
        .withArgs(DEAL, 0n, f.p1.address, COLLATERAL - PENALTY)
        .and.to.emit(f.market, "CollateralReturned")
        .withArgs(DEAL, 1n, f.p2.address, COLLATERAL - 2n * PENALTY)
        .and.to.emit(f.market, "DealClosed")
        .withArgs(DEAL, escrowLeft, 3n * repair);
      expect(await f.market.credits(f.reporter.address)).to.equal(3n * bounty);
      expect(await f.market.credits(f.client.address)).to.equal(escrowLeft + 3n * repair + 3n * toClient);
      expect(await f.market.credits(f.p1.address)).to.equal(2n * PRICE + COLLATERAL - PENALTY);
      expect(await f.market.credits(f.p2.address)).to.equal(PRICE + COLLATERAL - 2n * PENALTY);
    });

    it("rejects unknown deals", async function () {
      const f = await loadFixture(deployStorageFixture);
      await expect(f.market.closeDeal(1)).to.be.revertedWithCustomError(f.market, "StorageMarketUnknownDeal").withArgs(1n);
    });
  });

  describe("withdraw", function () {
    it("pays the whole credit once and emits Withdrawn", async function () {
      const f = await loadFixture(activeDealFixture);
      await proveAt(f, f.p1, 0n, 0n, 1n);
      const tx = f.market.connect(f.p1).withdraw();
      await expect(tx).to.emit(f.market, "Withdrawn").withArgs(f.p1.address, PRICE);
      await expect(tx).to.changeTokenBalances(ethers, f.token, [f.p1, f.market], [PRICE, -PRICE]);
      console.log(`      gas: withdraw ${await gasOf(tx)}`);
      expect(await f.market.credits(f.p1.address)).to.equal(0n);
      await expect(f.market.connect(f.p1).withdraw())
        .to.be.revertedWithCustomError(f.market, "StorageMarketNothingToWithdraw")
        .withArgs(f.p1.address);
      await expect(f.market.connect(f.stranger).withdraw())
        .to.be.revertedWithCustomError(f.market, "StorageMarketNothingToWithdraw")
        .withArgs(f.stranger.address);
      // The next pay after a withdrawal is credited again.
      await proveAt(f, f.p1, 0n, 1n, 1n);
      expect(await f.market.credits(f.p1.address)).to.equal(PRICE);
    });
  });

  describe("owner", function () {
    it("sets the bounty and repair shares and the collateral periods", async function () {
      const f = await loadFixture(deployStorageFixture);
      const m = f.market.connect(f.owner);
      await expect(m.setBountyBps(500)).to.emit(f.market, "BountyBpsSet").withArgs(500n);
      await expect(m.setRepairBps(5_000)).to.emit(f.market, "RepairBpsSet").withArgs(5_000n);
      await expect(m.setCollateralPeriods(3)).to.emit(f.market, "CollateralPeriodsSet").withArgs(3n);
      expect(await f.market.bountyBps()).to.equal(500n);
      expect(await f.market.repairBps()).to.equal(5_000n);
      expect(await f.market.collateralPeriods()).to.equal(3n);
      await f.market.connect(f.client).createDeal(ROOT, SIZE, 1, 10, PRICE);
      await expect(f.market.connect(f.p1).joinDeal(DEAL, 0))
        .to.emit(f.market, "SlotJoined")
        .withArgs(DEAL, 0n, f.p1.address, 3n * PRICE, 0n);
    });

    it("rejects values above the caps and callers other than the owner", async function () {
      const f = await loadFixture(deployStorageFixture);
      const m = f.market.connect(f.owner);
      await expect(m.setBountyBps(5_001))
        .to.be.revertedWithCustomError(f.market, "StorageMarketInvalidBps")
        .withArgs(5_001n, 5_000n);
      await expect(m.setRepairBps(5_001))
        .to.be.revertedWithCustomError(f.market, "StorageMarketInvalidBps")
        .withArgs(5_001n, 5_000n);
      await expect(m.setCollateralPeriods(0))
        .to.be.revertedWithCustomError(f.market, "StorageMarketInvalidCollateralPeriods")
        .withArgs(0n);
      await expect(m.setCollateralPeriods(10_001))
        .to.be.revertedWithCustomError(f.market, "StorageMarketInvalidCollateralPeriods")
        .withArgs(10_001n);
      for (const call of [
        f.market.connect(f.client).setBountyBps(1),
        f.market.connect(f.client).setRepairBps(1),
        f.market.connect(f.client).setCollateralPeriods(1),
      ]) {
        await expect(call).to.be.revertedWithCustomError(f.market, "OwnableUnauthorizedAccount").withArgs(f.client.address);
      }
    });

    it("transfers ownership in two steps", async function () {
      const f = await loadFixture(deployStorageFixture);
      await f.market.connect(f.owner).transferOwnership(f.client.address);
      expect(await f.market.owner()).to.equal(f.owner.address);
      await f.market.connect(f.client).acceptOwnership();
      expect(await f.market.owner()).to.equal(f.client.address);
      await expect(f.market.connect(f.client).setBountyBps(7)).to.emit(f.market, "BountyBpsSet").withArgs(7n);
    });
  });

  describe("views", function () {
    it("revert with StorageMarketUnknownDeal for an unknown deal id", async function () {
      const f = await loadFixture(activeDealFixture);
      const calls = [
        f.market.deal(0),
        f.market.deal(2),
        f.market.slot(2, 0),
        f.market.currentPeriod(2),
        f.market.periodWindow(2, 0),
        f.market.challengeSeed(2, 0, 0, f.p1.address),
      ];
      for (const [i, call] of calls.entries()) {
        await expect(call)
          .to.be.revertedWithCustomError(f.market, "StorageMarketUnknownDeal")
          .withArgs(i === 0 ? 0n : 2n);
      }
    });

    it("compute period windows and the current period", async function () {
      const f = await loadFixture(activeDealFixture);
      const { startBlock } = await f.market.deal(DEAL);
      const w = await periodWindow(f, DEAL, 4n);
      expect(w.start).to.equal(startBlock + 4n * PERIOD_BLOCKS);
      expect(w.challengeBlock).to.equal(w.start + CHALLENGE_DELAY_BLOCKS);
      expect(w.fastWindowEnd).to.equal(w.challengeBlock + FAST_WINDOW_BLOCKS);
      expect(w.deadline).to.equal(w.challengeBlock + DEADLINE_BLOCKS);
      await networkHelpers.mine(Number(w.start - BigInt(await ethers.provider.getBlockNumber())));
      expect(await f.market.currentPeriod(DEAL)).to.equal(4n);
      await expect(f.market.slot(DEAL, 2))
        .to.be.revertedWithCustomError(f.market, "StorageMarketInvalidSlot")
        .withArgs(DEAL, 2n, 2n);
      await expect(f.market.challengeSeed(DEAL, 0, 10, f.p1.address))
        .to.be.revertedWithCustomError(f.randomness, "BlockhashRandomnessNotMined");
    });
  });
  describe("with a delayed randomness source (a beacon)", function () {
    const RANDOM = ethers.id("beacon round");

    it("counts pay latency from the block the seed became public, not from the challenge block", async function () {
      const f = await loadFixture(delayedSeedFixture);
      const knownAt = f.challengeBlock + 8n;
      await f.source.setSeed(f.challengeBlock, RANDOM, knownAt);
      // FAST_WINDOW_BLOCKS after knownAt is 18 blocks after the challenge block: still the full price.
      await nextTxAt(knownAt + FAST_WINDOW_BLOCKS);
      await expect(f.market.connect(f.p1).submitProof(DEAL, 0, 0, pA, pB, pC))
        .to.emit(f.market, "ProofAccepted")
        .withArgs(DEAL, 0n, 0n, f.p1.address, PRICE, FAST_WINDOW_BLOCKS);
      // One block later it falls by one step of the curve, measured from knownAt too.
      await expect(f.market.connect(f.p2).submitProof(DEAL, 1, 0, pA, pB, pC))
        .to.emit(f.market, "ProofAccepted")
        .withArgs(DEAL, 1n, 0n, f.p2.address, expectedPay(PRICE, FAST_WINDOW_BLOCKS + 1n), FAST_WINDOW_BLOCKS + 1n);
      const seed = BigInt(ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(
        ["bytes32", "uint256", "address", "uint256", "uint256", "uint256", "address"],
        [RANDOM, (await ethers.provider.getNetwork()).chainId, await f.market.getAddress(), DEAL, 0n, 0n, f.p1.address],
      ))) % SNARK_SCALAR_FIELD;
      expect(await f.market.challengeSeed(DEAL, 0, 0, f.p1.address)).to.equal(seed);
    });

    it("keeps the deadline at the challenge block + DEADLINE_BLOCKS however late the seed", async function () {
      const f = await loadFixture(delayedSeedFixture);
      await f.source.setSeed(f.challengeBlock, RANDOM, f.challengeBlock + 20n);
      await nextTxAt(f.deadline);
      await expect(f.market.connect(f.p1).submitProof(DEAL, 0, 0, pA, pB, pC))
        .to.emit(f.market, "ProofAccepted")
        .withArgs(DEAL, 0n, 0n, f.p1.address, PRICE, DEADLINE_BLOCKS - 20n);
      await expect(f.market.connect(f.p2).submitProof(DEAL, 1, 0, pA, pB, pC))
        .to.be.revertedWithCustomError(f.market, "StorageMarketDeadlinePassed")
        .withArgs(DEAL, 0n, f.deadline);
    });

    it("rejects a proof with the source's error while the seed is not available, changing nothing", async function () {
      const f = await loadFixture(delayedSeedFixture);
      await nextTxAt(f.challengeBlock + 3n);
      const before = { slot: await f.market.slot(DEAL, 0), deal: await f.market.deal(DEAL), credit: await f.market.credits(f.p1.address) };
      await expect(f.market.connect(f.p1).submitProof(DEAL, 0, 0, pA, pB, pC))
        .to.be.revertedWithCustomError(f.source, "MockRandomnessSourceNotYetAvailable")
        .withArgs(f.challengeBlock);
      await expect(f.market.challengeSeed(DEAL, 0, 0, f.p1.address))
        .to.be.revertedWithCustomError(f.source, "MockRandomnessSourceNotYetAvailable")
        .withArgs(f.challengeBlock);
      expect(await f.market.slot(DEAL, 0)).to.deep.equal(before.slot);
      expect(await f.market.deal(DEAL)).to.deep.equal(before.deal);
      expect(await f.market.credits(f.p1.address)).to.equal(before.credit);
      // Relayed now: the next proof is paid in full, one block after the seed became public.
      const now = BigInt(await ethers.provider.getBlockNumber());
      await f.source.setSeed(f.challengeBlock, RANDOM, now + 1n);
      await expect(f.market.connect(f.p1).submitProof(DEAL, 0, 0, pA, pB, pC))
        .to.emit(f.market, "ProofAccepted")
        .withArgs(DEAL, 0n, 0n, f.p1.address, PRICE, 1n);
    });
  });
});
