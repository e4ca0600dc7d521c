// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {console} from "forge-std/Test.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {StorageConstants as C} from "../../contracts/generated/ProtocolConstants.sol";
import {IStorageMarket} from "../../contracts/interfaces/IStorageMarket.sol";
import {IPoRAVerifier} from "../../contracts/interfaces/IPoRAVerifier.sol";
import {IBlockhashRandomness} from "../../contracts/interfaces/IBlockhashRandomness.sol";
import {StorageMarket} from "../../contracts/storage/StorageMarket.sol";
import {StorageFixture} from "./helpers/StorageFixture.sol";

contract StorageMarketTest is StorageFixture {
    uint256 internal constant PENALTY = COLLATERAL / C.MAX_MISSES;

    function _split(uint256 amount, bool withReporter)
        internal
        pure
        returns (uint256 bounty, uint256 repair, uint256 toClient)
    {
        bounty = withReporter ? amount * BOUNTY_BPS / BPS : 0;
        repair = amount * REPAIR_BPS / BPS;
        toClient = amount - bounty - repair;
    }

    // ------------------------------------------------------------------ createDeal

    function test_CreateDeal_StoresDealPullsEscrowAndEmits() public {
        uint256 escrow = PRICE * 3 * 50;
        uint256 clientBefore = token.balanceOf(client);
        vm.expectEmit(address(market));
        emit IStorageMarket.DealCreated(1, client, ROOT, SIZE, 3, 50, PRICE, escrow, START + C.UPLOAD_WINDOW_BLOCKS);
        uint256 dealId = _createDeal(3, 50);

        assertEq(dealId, 1, "ids start at 1");
        assertEq(market.dealCount(), 1);
        IStorageMarket.DealInfo memory d = _deal(dealId);
        assertEq(d.client, client);
        assertEq(d.dataRoot, ROOT);
        assertEq(d.size, SIZE);
        assertEq(d.replicas, 3);
        assertEq(d.pricePerPeriod, PRICE);
        assertEq(d.startBlock, DEAL_START, "period 0 starts after the upload window");
        assertEq(d.endPeriod, 50);
        assertEq(d.escrow, escrow);
        assertEq(uint256(d.status), uint256(IStorageMarket.DealStatus.Pending));
        assertEq(d.filledMask, 0);
        assertEq(token.balanceOf(address(market)), escrow);
        assertEq(token.balanceOf(client), clientBefore - escrow);
        assertEq(market.quote(SIZE, 3, 50, PRICE), escrow);

        assertEq(_createDeal(1, 1), 2, "ids increase");
        assertEq(market.dealCount(), 2);
    }

    function test_CreateDeal_RevertsOnInvalidParameters() public {
        vm.startPrank(client);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidDataRoot.selector, 0));
        market.createDeal(0, SIZE, 1, 1, PRICE);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidDataRoot.selector, FIELD));
        market.createDeal(FIELD, SIZE, 1, 1, PRICE);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidSize.selector, 0));
        market.createDeal(ROOT, 0, 1, 1, PRICE);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidSize.selector, C.MAX_FILE_SIZE + 1));
        market.createDeal(ROOT, C.MAX_FILE_SIZE + 1, 1, 1, PRICE);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidReplicas.selector, 0));
        market.createDeal(ROOT, SIZE, 0, 1, PRICE);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidReplicas.selector, C.MAX_REPLICAS + 1));
        market.createDeal(ROOT, SIZE, C.MAX_REPLICAS + 1, 1, PRICE);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidPeriods.selector, 0));
        market.createDeal(ROOT, SIZE, 1, 0, PRICE);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidPeriods.selector, C.MAX_PERIODS + 1));
        market.createDeal(ROOT, SIZE, 1, C.MAX_PERIODS + 1, PRICE);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidPrice.selector, 0));
        market.createDeal(ROOT, SIZE, 1, 1, 0);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidPrice.selector, uint256(1) << 96));
        market.createDeal(ROOT, SIZE, 1, 1, uint256(1) << 96);
        vm.stopPrank();

        // The boundaries themselves are accepted.
        vm.prank(client);
        market.createDeal(FIELD - 1, C.MAX_FILE_SIZE, C.MAX_REPLICAS, C.MAX_PERIODS, 1);
        assertEq(_deal(1).escrow, C.MAX_REPLICAS * C.MAX_PERIODS);
    }

    function testFuzz_CreateDeal_EscrowEqualsQuote(uint256 size, uint256 replicas, uint256 periods, uint256 price)
        public
    {
        size = _bound(size, 1, C.MAX_FILE_SIZE);
        replicas = _bound(replicas, 1, C.MAX_REPLICAS);
        periods = _bound(periods, 1, C.MAX_PERIODS);
        price = _bound(price, 1, 1e21);
        uint256 quoted = market.quote(size, replicas, periods, price);
        assertEq(quoted, price * replicas * periods);
        uint256 before = token.balanceOf(client);
        vm.prank(client);
        uint256 dealId = market.createDeal(ROOT, size, replicas, periods, price);
        assertEq(_deal(dealId).escrow, quoted);
        assertEq(before - token.balanceOf(client), quoted);
        assertEq(token.balanceOf(address(market)), quoted);
    }

    // ------------------------------------------------------------------ joinDeal

    function test_JoinDeal_TakesSlotPullsCollateralAndActivates() public {
        uint256 dealId = _createDeal(2, 10);
        vm.roll(DEAL_START + C.PERIOD_BLOCKS + C.CHALLENGE_DELAY_BLOCKS + 1); // period 1, after its challenge block
        uint256 before = token.balanceOf(p1);

        vm.expectEmit(address(market));
        emit IStorageMarket.SlotJoined(dealId, 1, p1, COLLATERAL, 2);
        _join(p1, dealId, 1);

        IStorageMarket.SlotInfo memory s = _slot(dealId, 1);
        assertEq(s.provider, p1);
        assertEq(s.nextPeriod, 2, "period 1's challenge block is mined: the slot starts at period 2");
        assertEq(s.misses, 0);
        assertEq(s.collateral, COLLATERAL);
        assertEq(s.penaltyPerMiss, PENALTY);
        assertEq(s.repairReserve, 0);
        assertFalse(s.repairPending);
        assertEq(before - token.balanceOf(p1), COLLATERAL);
        assertEq(_deal(dealId).filledMask, 2);
        assertEq(uint256(_deal(dealId).status), uint256(IStorageMarket.DealStatus.Pending));

        vm.expectEmit(address(market));
        emit IStorageMarket.SlotJoined(dealId, 0, p2, COLLATERAL, 2);
        vm.expectEmit(address(market));
        emit IStorageMarket.DealActivated(dealId);
        _join(p2, dealId, 0);
        assertEq(_deal(dealId).filledMask, 3);
        assertEq(uint256(_deal(dealId).status), uint256(IStorageMarket.DealStatus.Active));
        assertEq(token.balanceOf(address(market)), PRICE * 2 * 10 + 2 * COLLATERAL);
    }

    function test_JoinDeal_RevertsOnBadSlotOrDeal() public {
        uint256 dealId = _createDeal(2, 10);
        vm.expectRevert(_err(IStorageMarket.StorageMarketUnknownDeal.selector, 7));
        _join(p1, 7, 0);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidSlot.selector, dealId, 2, 2));
        _join(p1, dealId, 2);

        _join(p1, dealId, 0);
        vm.expectRevert(abi.encodeWithSelector(IStorageMarket.StorageMarketSlotTaken.selector, dealId, 0, p1));
        _join(p2, dealId, 0);
        vm.expectRevert(abi.encodeWithSelector(IStorageMarket.StorageMarketAlreadyInDeal.selector, dealId, p1, 0));
        _join(p1, dealId, 1);
    }

    function test_JoinDeal_RevertsForInactiveProvider() public {
        uint256 dealId = _createDeal(2, 10);
        address stranger = makeAddr("stranger");
        _fund(stranger);
        vm.expectRevert(abi.encodeWithSelector(IStorageMarket.StorageMarketProviderNotActive.selector, stranger));
        _join(stranger, dealId, 0);

        // Unbonding below the minimum makes a registered provider inactive.
        vm.prank(p1);
        registry.requestUnbond(storageRole, 1);
        vm.expectRevert(abi.encodeWithSelector(IStorageMarket.StorageMarketProviderNotActive.selector, p1));
        _join(p1, dealId, 0);
    }

    function test_JoinDeal_RevertsWhenDealEndedCancelledOrClosed() public {
        uint256 dealId = _createDeal(2, 3);
        // From the last period's challenge block on there is nothing left to prove.
        vm.roll(_challengeBlock(dealId, 2));
        vm.expectRevert(_err(IStorageMarket.StorageMarketDealEnded.selector, dealId, 3));
        _join(p1, dealId, 0);

        uint256 second = _createDeal(2, 10);
        vm.prank(client);
        market.cancelDeal(second);
        vm.expectRevert(_err(IStorageMarket.StorageMarketDealCancelled.selector, second));
        _join(p1, second, 0);

        vm.roll(_deadline(dealId, 2) + 1);
        market.closeDeal(dealId);
        vm.expectRevert(_err(IStorageMarket.StorageMarketDealClosed.selector, dealId));
        _join(p1, dealId, 0);
    }

    // ------------------------------------------------------------------ submitProof

    /// @dev A deal whose slots are joined in its upload window: they prove from period 0.
    function _activeDeal(uint256 replicas, uint256 periods) internal returns (uint256 dealId) {
        dealId = _createDeal(replicas, periods);
        _join(p1, dealId, 0);
        if (replicas > 1) _join(p2, dealId, 1);
    }

    function test_SubmitProof_FullPayUpToFastWindowEdge() public {
        uint256 dealId = _activeDeal(2, 10);
        uint256 escrow = _deal(dealId).escrow;

        _rollToLatency(dealId, 0, 1);
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 0, 0, p1, PRICE, 1);
        _prove(p1, dealId, 0, 0);

        _rollToLatency(dealId, 0, C.FAST_WINDOW_BLOCKS); // last block of the fast window
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 1, 0, p2, PRICE, C.FAST_WINDOW_BLOCKS);
        _prove(p2, dealId, 1, 0);

        assertEq(market.credits(p1), PRICE);
        assertEq(market.credits(p2), PRICE);
        assertEq(_deal(dealId).escrow, escrow - 2 * PRICE);
        assertEq(_slot(dealId, 0).nextPeriod, 1);
        assertEq(_slot(dealId, 1).nextPeriod, 1);
    }

    function test_SubmitProof_PayFallsLinearlyToZeroAtDeadline() public {
        uint256 dealId = _activeDeal(2, 10);
        uint256 escrow = _deal(dealId).escrow;

        // One block after the fast window: one decay step less than the full price.
        uint256 decay = C.DEADLINE_BLOCKS - C.FAST_WINDOW_BLOCKS;
        uint256 late = PRICE * (decay - 1) / decay;
        assertLt(late, PRICE);
        _rollToLatency(dealId, 0, C.FAST_WINDOW_BLOCKS + 1);
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 0, 0, p1, late, C.FAST_WINDOW_BLOCKS + 1);
        _prove(p1, dealId, 0, 0);

        // At the deadline itself the proof is accepted and earns nothing.
        _rollToLatency(dealId, 0, C.DEADLINE_BLOCKS);
        assertEq(block.number, _deadline(dealId, 0));
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 1, 0, p2, 0, C.DEADLINE_BLOCKS);
        _prove(p2, dealId, 1, 0);

        assertEq(market.credits(p1), late);
        assertEq(market.credits(p2), 0);
        // The unpaid parts stay in the escrow.
        assertEq(_deal(dealId).escrow, escrow - late);
        assertEq(_slot(dealId, 1).nextPeriod, 1, "a zero-pay proof still settles the period");
    }

    function testFuzz_SubmitProof_PayCurve(uint256 latency, uint256 price, uint256 period) public {
        latency = _bound(latency, 1, C.DEADLINE_BLOCKS);
        price = _bound(price, 1, 1e24); // escrow and collateral stay within the fixture funds
        period = _bound(period, 0, C.MAX_MISSES - 1); // skips at most MAX_MISSES - 1 periods
        vm.prank(client);
        uint256 dealId = market.createDeal(ROOT, SIZE, 1, 10, price);
        _join(p1, dealId, 0);
        uint256 escrow = _deal(dealId).escrow;
        uint256 balance = token.balanceOf(address(market));

        _rollToLatency(dealId, period, latency);
        uint256 pay = _expectedPay(price, latency);
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 0, period, p1, pay, latency);
        _prove(p1, dealId, 0, period);

        assertLe(pay, price);
        assertEq(market.credits(p1), pay, "misses of skipped periods never credit the provider");
        assertEq(_deal(dealId).escrow, escrow - pay);
        assertEq(_slot(dealId, 0).misses, period, "joined in the upload window: periods from 0 are the slot's");
        assertEq(token.balanceOf(address(market)), balance, "no token moves on a proof");
    }

    function test_SubmitProof_PassesDataRootAndTheProvidersSeed() public {
        uint256 dealId = _activeDeal(2, 10);
        _rollToLatency(dealId, 0, 2);
        uint256 seed = _expectedSeed(dealId, 1, 0, p2);
        assertEq(market.challengeSeed(dealId, 1, 0, p2), seed);
        assertLt(seed, FIELD);
        assertTrue(seed != _expectedSeed(dealId, 0, 0, p2), "seeds differ per slot");
        assertTrue(seed != _expectedSeed(dealId, 1, 0, p1), "seeds differ per provider");
        assertTrue(seed != _expectedSeed(dealId, 1, 1, p2), "seeds differ per period");

        verifier.expectPublicSignals([ROOT, seed]);
        // The same proof from another provider (here for its own slot) comes with another seed: rejected.
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidProof.selector, dealId, 0, 0));
        _prove(p1, dealId, 0, 0);
        // The hand-built call carries the proof words, the deal's prepared data root and the seed.
        pA = [uint256(0xa1), 0xa2];
        pB = [[uint256(0xb1), 0xb2], [uint256(0xb3), 0xb4]];
        pC = [uint256(0xc1), 0xc2];
        vm.expectCall(
            address(verifier),
            abi.encodeCall(IPoRAVerifier.verifyPrepared, (pA, pB, pC, verifier.prepareFirstInput(ROOT), seed))
        );
        _prove(p2, dealId, 1, 0);
        assertEq(market.credits(p2), PRICE);
    }

    function test_SubmitProof_RevertsBeforeChallengeBlockIsMined() public {
        uint256 dealId = _activeDeal(2, 10);
        uint256 challengeBlock = _challengeBlock(dealId, 0);
        // In the upload window, then at the challenge block itself.
        vm.expectRevert(_err(IStorageMarket.StorageMarketChallengeNotReady.selector, dealId, 0, challengeBlock));
        _prove(p1, dealId, 0, 0);
        vm.roll(challengeBlock);
        vm.expectRevert(_err(IStorageMarket.StorageMarketChallengeNotReady.selector, dealId, 0, challengeBlock));
        _prove(p1, dealId, 0, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IBlockhashRandomness.BlockhashRandomnessNotMined.selector, challengeBlock, challengeBlock
            )
        );
        market.challengeSeed(dealId, 0, 0, p1);
    }

    function test_SubmitProof_RevertsAfterDeadline() public {
        uint256 dealId = _activeDeal(2, 10);
        uint256 deadline = _deadline(dealId, 0);
        vm.roll(deadline + 1);
        vm.expectRevert(_err(IStorageMarket.StorageMarketDeadlinePassed.selector, dealId, 0, deadline));
        _prove(p1, dealId, 0, 0);
    }

    function test_SubmitProof_RevertsWhenAlreadySettled() public {
        uint256 dealId = _activeDeal(2, 10);
        _rollToLatency(dealId, 0, 1);
        _prove(p1, dealId, 0, 0);
        vm.expectRevert(_err(IStorageMarket.StorageMarketPeriodSettled.selector, dealId, 0, 0, 1));
        _prove(p1, dealId, 0, 0);
    }

    function test_SubmitProof_RevertsOutOfRange() public {
        uint256 dealId = _activeDeal(2, 3);
        vm.roll(DEAL_START + 3 * C.PERIOD_BLOCKS + 5);
        vm.expectRevert(_err(IStorageMarket.StorageMarketPeriodOutOfRange.selector, dealId, 3, 3));
        _prove(p1, dealId, 0, 3);
    }

    function test_SubmitProof_RevertsForInvalidProof() public {
        uint256 dealId = _activeDeal(2, 10);
        _rollToLatency(dealId, 0, 1);
        verifier.setResult(false);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidProof.selector, dealId, 0, 0));
        _prove(p1, dealId, 0, 0);
        verifier.setResult(true);
        _prove(p1, dealId, 0, 0);
    }

    function test_SubmitProof_RevertsForWrongCallerSlotOrDeal() public {
        uint256 dealId = _activeDeal(2, 10);
        _rollToLatency(dealId, 0, 1);
        vm.expectRevert(abi.encodeWithSelector(IStorageMarket.StorageMarketNotSlotProvider.selector, dealId, 0, p2));
        _prove(p2, dealId, 0, 0);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidSlot.selector, dealId, 5, 2));
        _prove(p1, dealId, 5, 0);
        vm.expectRevert(_err(IStorageMarket.StorageMarketUnknownDeal.selector, 99));
        _prove(p1, 99, 0, 0);
    }

    function test_SubmitProof_SettlesSkippedPeriodsAsMisses() public {
        uint256 dealId = _activeDeal(2, 10);
        uint256 escrow = _deal(dealId).escrow;
        _rollToLatency(dealId, 2, 1);
        (, uint256 repair, uint256 toClient) = _split(PENALTY, false);

        vm.expectEmit(address(market));
        emit IStorageMarket.ProofMissed(dealId, 0, 0, p1, PENALTY, address(0));
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofMissed(dealId, 0, 1, p1, PENALTY, address(0));
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 0, 2, p1, PRICE, 1);
        _prove(p1, dealId, 0, 2);

        IStorageMarket.SlotInfo memory s = _slot(dealId, 0);
        assertEq(s.misses, 2);
        assertEq(s.nextPeriod, 3);
        assertEq(s.collateral, COLLATERAL - 2 * PENALTY);
        assertEq(s.repairReserve, 2 * repair);
        assertEq(market.credits(client), 2 * toClient, "no reporter: the bounty share goes to the client");
        assertEq(market.credits(p1), PRICE);
        assertEq(_deal(dealId).escrow, escrow - PRICE, "missed periods stay in escrow");
    }

    function test_SubmitProof_RevertsWhenSkippedMissesWouldFreeSlot() public {
        uint256 dealId = _activeDeal(2, 10);
        // MAX_MISSES - 1 skipped periods (0 .. MAX_MISSES - 2) are settled as misses.
        _rollToLatency(dealId, C.MAX_MISSES - 1, 1);
        _prove(p1, dealId, 0, C.MAX_MISSES - 1);
        assertEq(_slot(dealId, 0).misses, C.MAX_MISSES - 1);
        // MAX_MISSES skipped periods would free the slot: the proof is refused.
        _rollToLatency(dealId, C.MAX_MISSES, 1);
        vm.expectRevert(_err(IStorageMarket.StorageMarketTooManyMisses.selector, dealId, 1, C.MAX_MISSES));
        _prove(p2, dealId, 1, C.MAX_MISSES);
        // p1 is up to date and proves on.
        _prove(p1, dealId, 0, C.MAX_MISSES);
        assertEq(_slot(dealId, 0).nextPeriod, C.MAX_MISSES + 1);
    }

    function test_Gas_SubmitProof() public {
        uint256 dealId = _activeDeal(2, 10);
        _rollToLatency(dealId, 0, 1);
        vm.prank(p1);
        uint256 before = gasleft();
        market.submitProof(dealId, 0, 0, pA, pB, pC);
        uint256 plain = before - gasleft();

        verifier.setSimulateGroth16Cost(true);
        vm.prank(p2);
        before = gasleft();
        market.submitProof(dealId, 1, 0, pA, pB, pC);
        uint256 simulated = before - gasleft();
        console.log("submitProof execution gas, mock verifier:", plain);
        console.log("submitProof execution gas, Groth16-cost verifier:", simulated);
        // Execution only (no 21,000 intrinsic gas, no calldata): the market's own work stays small.
        assertLt(plain, 40_000);
        assertLt(simulated, 240_000);
    }

    // ------------------------------------------------------------------ reportMissed

    function test_ReportMissed_PaysBountyRepairAndClient() public {
        uint256 dealId = _activeDeal(2, 10);
        _rollToLatency(dealId, 0, 1);
        _prove(p2, dealId, 1, 0);
        vm.roll(_deadline(dealId, 0) + 1);
        (uint256 bounty, uint256 repair, uint256 toClient) = _split(PENALTY, true);

        vm.expectEmit(address(market));
        emit IStorageMarket.ProofMissed(dealId, 0, 0, p1, PENALTY, reporter);
        vm.prank(reporter);
        market.reportMissed(dealId, 0);

        assertEq(market.credits(reporter), bounty);
        assertEq(market.credits(client), toClient);
        IStorageMarket.SlotInfo memory s = _slot(dealId, 0);
        assertEq(s.repairReserve, repair);
        assertEq(s.collateral, COLLATERAL - PENALTY);
        assertEq(s.misses, 1);
        assertEq(s.nextPeriod, 1);
        assertEq(s.provider, p1);

        vm.expectRevert(_err(IStorageMarket.StorageMarketNothingToReport.selector, dealId, 0));
        vm.prank(reporter);
        market.reportMissed(dealId, 0);
        // The provider can go on with the next period.
        _rollToLatency(dealId, 1, 1);
        _prove(p1, dealId, 0, 1);
        assertEq(market.credits(p1), PRICE);
    }

    function test_ReportMissed_RevertsWhenNothingToReport() public {
        uint256 dealId = _activeDeal(2, 10);
        // In the upload window nothing is due.
        vm.expectRevert(_err(IStorageMarket.StorageMarketNothingToReport.selector, dealId, 0));
        market.reportMissed(dealId, 0);
        // At the deadline block the provider may still prove: nothing is reportable yet.
        vm.roll(_deadline(dealId, 0));
        vm.expectRevert(_err(IStorageMarket.StorageMarketNothingToReport.selector, dealId, 0));
        market.reportMissed(dealId, 0);
        vm.expectRevert(_err(IStorageMarket.StorageMarketUnknownDeal.selector, 42));
        market.reportMissed(42, 0);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidSlot.selector, dealId, 2, 2));
        market.reportMissed(dealId, 2);
    }

    function test_ReportMissed_RevertsForEmptySlot() public {
        uint256 dealId = _createDeal(2, 10);
        vm.roll(DEAL_START + 5 * C.PERIOD_BLOCKS);
        vm.expectRevert(_err(IStorageMarket.StorageMarketSlotEmpty.selector, dealId, 1));
        market.reportMissed(dealId, 1);
    }

    function test_ReportMissed_FreesSlotAfterMaxMissesAndRepairerIsRewarded() public {
        uint256 dealId = _activeDeal(2, 20);
        // Periods 0 .. MAX_MISSES - 1 pass without a proof from p1.
        vm.roll(_deadline(dealId, C.MAX_MISSES - 1) + 1);
        (uint256 bounty, uint256 repair, uint256 toClient) = _split(PENALTY, true);
        uint256 rest = COLLATERAL - C.MAX_MISSES * PENALTY;
        (uint256 restBounty, uint256 restRepair, uint256 restClient) = _split(rest, true);

        for (uint256 period = 0; period < C.MAX_MISSES; ++period) {
            vm.expectEmit(address(market));
            emit IStorageMarket.ProofMissed(dealId, 0, period, p1, PENALTY, reporter);
        }
        vm.expectEmit(address(market));
        emit IStorageMarket.SlotFreed(dealId, 0, p1, rest);
        vm.prank(reporter);
        market.reportMissed(dealId, 0);

        IStorageMarket.SlotInfo memory s = _slot(dealId, 0);
        uint256 reserve = C.MAX_MISSES * repair + restRepair;
        assertEq(s.provider, address(0));
        assertEq(s.collateral, 0);
        assertEq(s.misses, 0);
        assertEq(s.repairReserve, reserve);
        assertEq(market.credits(reporter), C.MAX_MISSES * bounty + restBounty);
        assertEq(market.credits(client), C.MAX_MISSES * toClient + restClient);
        assertEq(market.credits(p1), 0);

        // The evicted provider may not come back; a third provider repairs the slot.
        vm.expectRevert(abi.encodeWithSelector(IStorageMarket.StorageMarketProviderEvicted.selector, dealId, p1));
        _join(p1, dealId, 0);
        // Once the current period's challenge block is mined, p3 starts at the next period.
        uint256 current = market.currentPeriod(dealId);
        if (block.number <= _challengeBlock(dealId, current)) vm.roll(_challengeBlock(dealId, current) + 1);
        vm.expectEmit(address(market));
        emit IStorageMarket.SlotJoined(dealId, 0, p3, COLLATERAL, current + 1);
        _join(p3, dealId, 0);
        assertTrue(_slot(dealId, 0).repairPending);

        _rollToLatency(dealId, current + 1, 1);
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 0, current + 1, p3, PRICE, 1);
        vm.expectEmit(address(market));
        emit IStorageMarket.RepairRewarded(dealId, 0, p3, reserve);
        _prove(p3, dealId, 0, current + 1);
        assertEq(market.credits(p3), PRICE + reserve);
        assertEq(_slot(dealId, 0).repairReserve, 0);
        assertFalse(_slot(dealId, 0).repairPending);

        // Only the first proof is rewarded.
        _rollToLatency(dealId, current + 2, 1);
        _prove(p3, dealId, 0, current + 2);
        assertEq(market.credits(p3), 2 * PRICE + reserve);
    }

    function test_ReportMissed_SettlesAtMostUntilFreed() public {
        uint256 dealId = _activeDeal(1, 20);
        vm.roll(_deadline(dealId, 8) + 1); // 9 periods overdue
        vm.prank(reporter);
        market.reportMissed(dealId, 0);
        assertEq(_slot(dealId, 0).provider, address(0));
        assertEq(_slot(dealId, 0).nextPeriod, C.MAX_MISSES);
        vm.expectRevert(_err(IStorageMarket.StorageMarketSlotEmpty.selector, dealId, 0));
        market.reportMissed(dealId, 0);
    }

    // ------------------------------------------------------------------ cancelDeal

    function test_CancelDeal_RefundsLaterPeriods() public {
        uint256 dealId = _activeDeal(2, 10);
        _rollToLatency(dealId, 0, 1);
        _prove(p1, dealId, 0, 0);
        _prove(p2, dealId, 1, 0);
        _rollToLatency(dealId, 1, 1);
        _prove(p1, dealId, 0, 1);
        // Still period 1: the deal ends after it, periods 2..9 are refunded.
        uint256 refund = PRICE * 2 * 8;
        uint256 escrow = _deal(dealId).escrow;
        vm.expectEmit(address(market));
        emit IStorageMarket.DealCancelled(dealId, 2, refund);
        vm.prank(client);
        market.cancelDeal(dealId);

        IStorageMarket.DealInfo memory d = _deal(dealId);
        assertEq(d.endPeriod, 2);
        assertEq(d.escrow, escrow - refund);
        assertEq(uint256(d.status), uint256(IStorageMarket.DealStatus.Cancelled));
        assertEq(market.credits(client), refund);

        // The current period can still be proven; the next one is out of the deal.
        _prove(p2, dealId, 1, 1);
        _rollToLatency(dealId, 2, 1);
        vm.expectRevert(_err(IStorageMarket.StorageMarketPeriodOutOfRange.selector, dealId, 2, 2));
        _prove(p1, dealId, 0, 2);
    }

    function testFuzz_CancelDeal_ProRataRefund(uint256 periods, uint256 replicas, uint256 elapsed) public {
        periods = _bound(periods, 1, 500);
        replicas = _bound(replicas, 1, C.MAX_REPLICAS);
        // Blocks since creation: the upload window (period 0 too), then every block of the deal's periods.
        elapsed = _bound(elapsed, 0, C.UPLOAD_WINDOW_BLOCKS + periods * C.PERIOD_BLOCKS - 1);
        uint256 dealId = _createDeal(replicas, periods);
        vm.roll(START + elapsed);
        uint256 current =
            elapsed < C.UPLOAD_WINDOW_BLOCKS ? 0 : (elapsed - C.UPLOAD_WINDOW_BLOCKS) / C.PERIOD_BLOCKS;
        assertEq(market.currentPeriod(dealId), current);
        uint256 refund = PRICE * replicas * (periods - current - 1);
        vm.expectEmit(address(market));
        emit IStorageMarket.DealCancelled(dealId, current + 1, refund);
        vm.prank(client);
        market.cancelDeal(dealId);
        assertEq(market.credits(client), refund);
        assertEq(_deal(dealId).escrow, PRICE * replicas * (current + 1));
    }

    function test_CancelDeal_Reverts() public {
        uint256 dealId = _createDeal(2, 3);
        vm.expectRevert(abi.encodeWithSelector(IStorageMarket.StorageMarketNotClient.selector, dealId, p1));
        vm.prank(p1);
        market.cancelDeal(dealId);
        vm.expectRevert(_err(IStorageMarket.StorageMarketUnknownDeal.selector, 5));
        vm.prank(client);
        market.cancelDeal(5);

        vm.prank(client);
        market.cancelDeal(dealId);
        vm.expectRevert(_err(IStorageMarket.StorageMarketDealCancelled.selector, dealId));
        vm.prank(client);
        market.cancelDeal(dealId);

        uint256 second = _createDeal(1, 2);
        vm.roll(DEAL_START + 2 * C.PERIOD_BLOCKS);
        vm.expectRevert(_err(IStorageMarket.StorageMarketDealEnded.selector, second, 2));
        vm.prank(client);
        market.cancelDeal(second);
    }

    // ------------------------------------------------------------------ topUp

    function test_TopUp_ExtendsDeal() public {
        uint256 dealId = _activeDeal(2, 2);
        uint256 escrow = _deal(dealId).escrow;
        uint256 amount = PRICE * 2 * 7;
        uint256 before = token.balanceOf(reporter);
        vm.expectEmit(address(market));
        emit IStorageMarket.DealToppedUp(dealId, reporter, 7, amount, 9);
        vm.prank(reporter);
        market.topUp(dealId, 7);
        assertEq(_deal(dealId).endPeriod, 9);
        assertEq(_deal(dealId).escrow, escrow + amount);
        assertEq(before - token.balanceOf(reporter), amount);

        // Period 2, past the old end, is now provable.
        for (uint256 period = 0; period <= 2; ++period) {
            _rollToLatency(dealId, period, 1);
            _prove(p1, dealId, 0, period);
        }
        assertEq(market.credits(p1), 3 * PRICE);
    }

    function test_TopUp_Reverts() public {
        uint256 dealId = _createDeal(1, 5);
        vm.startPrank(client);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidPeriods.selector, 0));
        market.topUp(dealId, 0);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidPeriods.selector, C.MAX_PERIODS - 4));
        market.topUp(dealId, C.MAX_PERIODS - 4);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidPeriods.selector, type(uint256).max));
        market.topUp(dealId, type(uint256).max);
        uint256 longest = market.createDeal(ROOT, SIZE, 1, 5, 1);
        market.topUp(longest, C.MAX_PERIODS - 5); // exactly MAX_PERIODS in total
        assertEq(_deal(longest).endPeriod, C.MAX_PERIODS);
        vm.expectRevert(_err(IStorageMarket.StorageMarketUnknownDeal.selector, 3));
        market.topUp(3, 1);
        vm.roll(DEAL_START + 5 * C.PERIOD_BLOCKS);
        vm.expectRevert(_err(IStorageMarket.StorageMarketDealEnded.selector, dealId, 5));
        market.topUp(dealId, 1);
        uint256 second = market.createDeal(ROOT, SIZE, 1, 5, PRICE);
        market.cancelDeal(second);
        vm.expectRevert(_err(IStorageMarket.StorageMarketDealCancelled.selector, second));
        market.topUp(second, 1);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ closeDeal

    function test_CloseDeal_ReturnsEscrowAndCollateral() public {
        uint256 dealId = _activeDeal(2, 3);
        for (uint256 period = 0; period < 3; ++period) {
            _rollToLatency(dealId, period, 1);
            _prove(p1, dealId, 0, period);
            _rollToLatency(dealId, period, C.FAST_WINDOW_BLOCKS + 5);
            _prove(p2, dealId, 1, period);
        }
        uint256 closableAt = _deadline(dealId, 2) + 1;
        vm.roll(closableAt - 1);
        vm.expectRevert(_err(IStorageMarket.StorageMarketDealNotEnded.selector, dealId, closableAt));
        market.closeDeal(dealId);

        vm.roll(closableAt);
        uint256 p2Pay = 3 * _expectedPay(PRICE, C.FAST_WINDOW_BLOCKS + 5);
        // p2's unpaid parts go back to the client.
        uint256 escrowLeft = PRICE * 2 * 3 - 3 * PRICE - p2Pay;
        assertEq(_deal(dealId).escrow, escrowLeft);
        vm.expectEmit(address(market));
        emit IStorageMarket.CollateralReturned(dealId, 0, p1, COLLATERAL);
        vm.expectEmit(address(market));
        emit IStorageMarket.CollateralReturned(dealId, 1, p2, COLLATERAL);
        vm.expectEmit(address(market));
        emit IStorageMarket.DealClosed(dealId, escrowLeft, 0);
        vm.prank(reporter);
        market.closeDeal(dealId);

        assertEq(market.credits(client), escrowLeft);
        assertEq(market.credits(p1), 3 * PRICE + COLLATERAL);
        assertEq(market.credits(p2), p2Pay + COLLATERAL);
        assertEq(market.credits(reporter), 0);
        assertEq(_deal(dealId).escrow, 0);
        assertEq(uint256(_deal(dealId).status), uint256(IStorageMarket.DealStatus.Closed));
        assertEq(_slot(dealId, 0).collateral, 0);
        assertEq(token.balanceOf(address(market)), escrowLeft + 3 * PRICE + p2Pay + 2 * COLLATERAL);

        vm.expectRevert(_err(IStorageMarket.StorageMarketDealClosed.selector, dealId));
        market.closeDeal(dealId);
        vm.expectRevert(_err(IStorageMarket.StorageMarketDealClosed.selector, dealId));
        market.reportMissed(dealId, 0);
    }

    function test_CloseDeal_SettlesRemainingMissesForCaller() public {
        uint256 dealId = _activeDeal(2, 3);
        _rollToLatency(dealId, 0, 1);
        _prove(p1, dealId, 0, 0);
        _prove(p2, dealId, 1, 0);
        _rollToLatency(dealId, 1, 1);
        _prove(p1, dealId, 0, 1);
        // p1 misses period 2; p2 misses periods 1 and 2.
        vm.roll(_deadline(dealId, 2) + 1);
        (uint256 bounty, uint256 repair, uint256 toClient) = _split(PENALTY, true);

        vm.expectEmit(address(market));
        emit IStorageMarket.ProofMissed(dealId, 0, 2, p1, PENALTY, reporter);
        vm.expectEmit(address(market));
        emit IStorageMarket.CollateralReturned(dealId, 0, p1, COLLATERAL - PENALTY);
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofMissed(dealId, 1, 1, p2, PENALTY, reporter);
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofMissed(dealId, 1, 2, p2, PENALTY, reporter);
        vm.expectEmit(address(market));
        emit IStorageMarket.CollateralReturned(dealId, 1, p2, COLLATERAL - 2 * PENALTY);
        uint256 escrowLeft = PRICE * 2 * 3 - 3 * PRICE;
        vm.expectEmit(address(market));
        emit IStorageMarket.DealClosed(dealId, escrowLeft, 3 * repair);
        vm.prank(reporter);
        market.closeDeal(dealId);

        assertEq(market.credits(reporter), 3 * bounty);
        assertEq(market.credits(client), escrowLeft + 3 * repair + 3 * toClient);
        assertEq(market.credits(p1), 2 * PRICE + COLLATERAL - PENALTY);
        assertEq(market.credits(p2), PRICE + COLLATERAL - 2 * PENALTY);
        assertEq(_slot(dealId, 1).repairReserve, 0);
    }

    function test_CloseDeal_CancelledPendingDeal() public {
        uint256 dealId = _createDeal(3, 100);
        // Cancelled at creation, in the upload window: the deal keeps period 0 only.
        vm.prank(client);
        market.cancelDeal(dealId);
        assertEq(market.credits(client), PRICE * 3 * 99);
        vm.roll(_deadline(dealId, 0) + 1);
        vm.expectEmit(address(market));
        emit IStorageMarket.DealClosed(dealId, PRICE * 3, 0);
        market.closeDeal(dealId);
        assertEq(market.credits(client), PRICE * 3 * 100);
        vm.expectRevert(_err(IStorageMarket.StorageMarketUnknownDeal.selector, 2));
        market.closeDeal(2);
    }

    // ------------------------------------------------------------------ upload window

    function test_UploadWindow_SlotJoinedInWindowProvesPeriod0() public {
        uint256 dealId = _createDeal(2, 10);
        assertEq(_deal(dealId).startBlock, START + C.UPLOAD_WINDOW_BLOCKS);
        // The last block of the upload window, and period 0 before its challenge block.
        vm.roll(DEAL_START - 1);
        vm.expectEmit(address(market));
        emit IStorageMarket.SlotJoined(dealId, 0, p1, COLLATERAL, 0);
        _join(p1, dealId, 0);
        vm.roll(_challengeBlock(dealId, 0) - 1);
        vm.expectEmit(address(market));
        emit IStorageMarket.SlotJoined(dealId, 1, p2, COLLATERAL, 0);
        _join(p2, dealId, 1);
        assertEq(_slot(dealId, 0).nextPeriod, 0);
        assertEq(_slot(dealId, 1).nextPeriod, 0);

        // The first proof lands one block after period 0's challenge block, with no miss before it.
        _rollToLatency(dealId, 0, 1);
        assertEq(block.number - START, C.UPLOAD_WINDOW_BLOCKS + C.CHALLENGE_DELAY_BLOCKS + 1, "blocks to first proof");
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 0, 0, p1, PRICE, 1);
        _prove(p1, dealId, 0, 0);
        _prove(p2, dealId, 1, 0);
        assertEq(_slot(dealId, 0).misses, 0);
        assertEq(_slot(dealId, 0).collateral, COLLATERAL);
        assertEq(market.credits(p2), PRICE);
    }

    function test_JoinDeal_FromChallengeBlockOnStartsAtNextPeriod() public {
        uint256 dealId = _createDeal(3, 10);
        // At period 0's challenge block its seed can be known within the block: the slot starts at period 1.
        vm.roll(_challengeBlock(dealId, 0));
        vm.expectEmit(address(market));
        emit IStorageMarket.SlotJoined(dealId, 0, p1, COLLATERAL, 1);
        _join(p1, dealId, 0);
        // Later in period 0, too.
        vm.roll(DEAL_START + C.PERIOD_BLOCKS - 1);
        vm.expectEmit(address(market));
        emit IStorageMarket.SlotJoined(dealId, 1, p2, COLLATERAL, 1);
        _join(p2, dealId, 1);

        // Period 0 was never the slots' to prove; period 1 is proven without a miss.
        _rollToLatency(dealId, 0, 1);
        vm.expectRevert(_err(IStorageMarket.StorageMarketPeriodSettled.selector, dealId, 0, 0, 1));
        _prove(p1, dealId, 0, 0);
        _rollToLatency(dealId, 1, 1);
        _prove(p1, dealId, 0, 1);
        assertEq(_slot(dealId, 0).misses, 0);
        assertEq(_slot(dealId, 0).nextPeriod, 2);
    }

    function test_JoinDeal_BeforeLaterPeriodsChallengeBlockProvesThatPeriod() public {
        uint256 dealId = _createDeal(3, 10);
        // The first block of period 3 and the block before its challenge block: the slots start at period 3.
        vm.roll(DEAL_START + 3 * C.PERIOD_BLOCKS);
        assertEq(market.currentPeriod(dealId), 3);
        vm.expectEmit(address(market));
        emit IStorageMarket.SlotJoined(dealId, 0, p1, COLLATERAL, 3);
        _join(p1, dealId, 0);
        vm.roll(_challengeBlock(dealId, 3) - 1);
        vm.expectEmit(address(market));
        emit IStorageMarket.SlotJoined(dealId, 1, p2, COLLATERAL, 3);
        _join(p2, dealId, 1);
        // From the challenge block on, period 4.
        vm.roll(_challengeBlock(dealId, 3));
        vm.expectEmit(address(market));
        emit IStorageMarket.SlotJoined(dealId, 2, p3, COLLATERAL, 4);
        _join(p3, dealId, 2);

        _rollToLatency(dealId, 3, 1);
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 0, 3, p1, PRICE, 1);
        _prove(p1, dealId, 0, 3);
        _prove(p2, dealId, 1, 3);
        vm.expectRevert(_err(IStorageMarket.StorageMarketPeriodSettled.selector, dealId, 2, 3, 4));
        _prove(p3, dealId, 2, 3);
        assertEq(_slot(dealId, 0).misses, 0);
        assertEq(_slot(dealId, 1).misses, 0);
    }

    function testFuzz_JoinDeal_FirstPeriodIsFirstUnchallenged(uint256 elapsed, uint256 periods) public {
        periods = _bound(periods, 1, 20);
        elapsed = _bound(elapsed, 0, C.UPLOAD_WINDOW_BLOCKS + 25 * C.PERIOD_BLOCKS);
        uint256 dealId = _createDeal(1, periods);
        vm.roll(START + elapsed);
        // Written independently of the market: walk the periods until a challenge block is still ahead.
        uint256 expected = 0;
        while (_challengeBlock(dealId, expected) <= block.number) ++expected;
        if (expected >= periods) {
            vm.expectRevert(_err(IStorageMarket.StorageMarketDealEnded.selector, dealId, periods));
            _join(p1, dealId, 0);
            return;
        }
        vm.expectEmit(address(market));
        emit IStorageMarket.SlotJoined(dealId, 0, p1, COLLATERAL, expected);
        _join(p1, dealId, 0);
        assertTrue(expected == market.currentPeriod(dealId) || expected == market.currentPeriod(dealId) + 1);
    }

    function test_UploadWindow_ViewsTopUpAndReportMissedBeforeStart() public {
        uint256 dealId = _createDeal(1, 10);
        _join(p1, dealId, 0);
        (uint256 start, uint256 challengeBlock, uint256 fastWindowEnd, uint256 deadline) = market.periodWindow(dealId, 0);
        assertEq(start, DEAL_START);
        assertEq(challengeBlock, DEAL_START + C.CHALLENGE_DELAY_BLOCKS);
        assertEq(fastWindowEnd, challengeBlock + C.FAST_WINDOW_BLOCKS);
        assertEq(deadline, challengeBlock + C.DEADLINE_BLOCKS);
        // Every block before the start is in period 0: no underflow.
        assertEq(market.currentPeriod(dealId), 0);
        vm.roll(DEAL_START - 1);
        assertEq(market.currentPeriod(dealId), 0);
        vm.expectRevert(
            abi.encodeWithSelector(IBlockhashRandomness.BlockhashRandomnessNotMined.selector, challengeBlock, block.number)
        );
        market.challengeSeed(dealId, 0, 0, p1);
        vm.expectRevert(_err(IStorageMarket.StorageMarketNothingToReport.selector, dealId, 0));
        market.reportMissed(dealId, 0);
        vm.expectRevert(_err(IStorageMarket.StorageMarketDealNotEnded.selector, dealId, _deadline(dealId, 9) + 1));
        market.closeDeal(dealId);
        vm.expectEmit(address(market));
        emit IStorageMarket.DealToppedUp(dealId, client, 2, 2 * PRICE, 12);
        vm.prank(client);
        market.topUp(dealId, 2);
        vm.roll(DEAL_START);
        assertEq(market.currentPeriod(dealId), 0);
        vm.roll(DEAL_START + C.PERIOD_BLOCKS);
        assertEq(market.currentPeriod(dealId), 1);
    }

    function test_UploadWindow_CancelKeepsPeriod0AndCloseReturnsItsUnpaidEscrow() public {
        uint256 dealId = _createDeal(2, 10);
        _join(p1, dealId, 0);
        // Cancelled in the upload window: the current period is 0, so the deal keeps period 0 only.
        uint256 refund = PRICE * 2 * 9;
        vm.expectEmit(address(market));
        emit IStorageMarket.DealCancelled(dealId, 1, refund);
        vm.prank(client);
        market.cancelDeal(dealId);
        assertEq(_deal(dealId).endPeriod, 1);
        assertEq(_deal(dealId).escrow, PRICE * 2);
        assertEq(market.credits(client), refund);
        vm.expectRevert(_err(IStorageMarket.StorageMarketDealCancelled.selector, dealId));
        _join(p2, dealId, 1);

        // Not closable before period 0's deadline has passed.
        uint256 closableAt = _deadline(dealId, 0) + 1;
        vm.expectRevert(_err(IStorageMarket.StorageMarketDealNotEnded.selector, dealId, closableAt));
        market.closeDeal(dealId);

        // The slot that joined in the window proves period 0; the empty slot's share returns at closing.
        _rollToLatency(dealId, 0, 1);
        _prove(p1, dealId, 0, 0);
        vm.roll(closableAt);
        vm.expectEmit(address(market));
        emit IStorageMarket.CollateralReturned(dealId, 0, p1, COLLATERAL);
        vm.expectEmit(address(market));
        emit IStorageMarket.DealClosed(dealId, PRICE, 0);
        market.closeDeal(dealId);
        assertEq(market.credits(client), refund + PRICE);
        assertEq(market.credits(p1), PRICE + COLLATERAL);
        assertEq(token.balanceOf(address(market)), refund + PRICE + PRICE + COLLATERAL);
    }

    // ------------------------------------------------------------------ withdraw

    function test_Withdraw_PaysCreditOnce() public {
        uint256 dealId = _activeDeal(1, 5);
        _rollToLatency(dealId, 0, 1);
        _prove(p1, dealId, 0, 0);
        uint256 before = token.balanceOf(p1);
        uint256 marketBefore = token.balanceOf(address(market));
        vm.expectEmit(address(market));
        emit IStorageMarket.Withdrawn(p1, PRICE);
        vm.prank(p1);
        market.withdraw();
        assertEq(token.balanceOf(p1), before + PRICE);
        assertEq(token.balanceOf(address(market)), marketBefore - PRICE);
        assertEq(market.credits(p1), 0);
        vm.expectRevert(abi.encodeWithSelector(IStorageMarket.StorageMarketNothingToWithdraw.selector, p1));
        vm.prank(p1);
        market.withdraw();
        vm.expectRevert(abi.encodeWithSelector(IStorageMarket.StorageMarketNothingToWithdraw.selector, reporter));
        vm.prank(reporter);
        market.withdraw();

        // Credit after a withdrawal works again.
        _rollToLatency(dealId, 1, 1);
        _prove(p1, dealId, 0, 1);
        assertEq(market.credits(p1), PRICE);
    }

    // ------------------------------------------------------------------ owner

    function test_Owner_SetsParameters() public {
        assertEq(market.bountyBps(), BOUNTY_BPS);
        assertEq(market.repairBps(), REPAIR_BPS);
        assertEq(market.collateralPeriods(), COLLATERAL_PERIODS);
        vm.startPrank(owner);
        vm.expectEmit(address(market));
        emit IStorageMarket.BountyBpsSet(500);
        market.setBountyBps(500);
        vm.expectEmit(address(market));
        emit IStorageMarket.RepairBpsSet(5_000);
        market.setRepairBps(5_000);
        vm.expectEmit(address(market));
        emit IStorageMarket.CollateralPeriodsSet(3);
        market.setCollateralPeriods(3);
        vm.stopPrank();
        assertEq(market.bountyBps(), 500);
        assertEq(market.repairBps(), 5_000);
        assertEq(market.collateralPeriods(), 3);

        uint256 dealId = _createDeal(1, 10);
        _join(p1, dealId, 0);
        assertEq(_slot(dealId, 0).collateral, 3 * PRICE);
    }

    function test_Owner_RevertsOnInvalidOrUnauthorised() public {
        vm.startPrank(owner);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidBps.selector, 5_001, 5_000));
        market.setBountyBps(5_001);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidBps.selector, 5_001, 5_000));
        market.setRepairBps(5_001);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidCollateralPeriods.selector, 0));
        market.setCollateralPeriods(0);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidCollateralPeriods.selector, 10_001));
        market.setCollateralPeriods(10_001);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, client));
        vm.prank(client);
        market.setBountyBps(1);
    }

    // ------------------------------------------------------------------ views

    function test_Views_RevertForUnknownDeal() public {
        vm.expectRevert(_err(IStorageMarket.StorageMarketUnknownDeal.selector, 0));
        market.deal(0);
        vm.expectRevert(_err(IStorageMarket.StorageMarketUnknownDeal.selector, 1));
        market.slot(1, 0);
        vm.expectRevert(_err(IStorageMarket.StorageMarketUnknownDeal.selector, 1));
        market.currentPeriod(1);
        vm.expectRevert(_err(IStorageMarket.StorageMarketUnknownDeal.selector, 1));
        market.periodWindow(1, 0);
        vm.expectRevert(_err(IStorageMarket.StorageMarketUnknownDeal.selector, 1));
        market.challengeSeed(1, 0, 0, p1);
    }

    function test_Views_PeriodWindowAndCurrentPeriod() public {
        uint256 dealId = _createDeal(1, 10);
        (uint256 start, uint256 challengeBlock, uint256 fastWindowEnd, uint256 deadline) = market.periodWindow(dealId, 4);
        assertEq(start, DEAL_START + 4 * C.PERIOD_BLOCKS);
        assertEq(challengeBlock, start + C.CHALLENGE_DELAY_BLOCKS);
        assertEq(fastWindowEnd, challengeBlock + C.FAST_WINDOW_BLOCKS);
        assertEq(deadline, challengeBlock + C.DEADLINE_BLOCKS);
        assertLt(deadline, start + C.PERIOD_BLOCKS + C.CHALLENGE_DELAY_BLOCKS, "deadline before next challenge");
        assertEq(market.currentPeriod(dealId), 0);
        vm.roll(DEAL_START + 4 * C.PERIOD_BLOCKS - 1);
        assertEq(market.currentPeriod(dealId), 3);
        vm.roll(DEAL_START + 4 * C.PERIOD_BLOCKS);
        assertEq(market.currentPeriod(dealId), 4);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidSlot.selector, dealId, 1, 1));
        market.slot(dealId, 1);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidSlot.selector, dealId, 1, 1));
        market.challengeSeed(dealId, 1, 0, p1);
    }

    function test_Constructor_RejectsZeroAddressesAndBadCollateral() public {
        vm.expectRevert(IStorageMarket.StorageMarketZeroAddress.selector);
        new StorageMarket(address(0), address(registry), address(verifier), address(randomness), owner, 1);
        vm.expectRevert(IStorageMarket.StorageMarketZeroAddress.selector);
        new StorageMarket(address(token), address(registry), address(0), address(randomness), owner, 1);
        vm.expectRevert(_err(IStorageMarket.StorageMarketInvalidCollateralPeriods.selector, 0));
        new StorageMarket(address(token), address(registry), address(verifier), address(randomness), owner, 0);
        StorageMarket other =
            new StorageMarket(address(token), address(registry), address(verifier), address(randomness), owner, 1);
        assertEq(other.storageRole(), keccak256("daios.storage"));
        assertEq(other.token(), address(token));
        assertEq(other.registry(), address(registry));
        assertEq(other.verifier(), address(verifier));
        assertEq(other.randomness(), address(randomness));
        assertEq(other.owner(), owner);
    }
}
