// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {StorageConstants as C} from "../../contracts/generated/ProtocolConstants.sol";
import {StorageMarket} from "../../contracts/storage/StorageMarket.sol";
import {IStorageMarket} from "../../contracts/interfaces/IStorageMarket.sol";
import {MockRandomnessSource} from "../../contracts/mocks/MockRandomnessSource.sol";
import {StorageFixture} from "./helpers/StorageFixture.sol";

/// @notice The market with a randomness source whose value and `knownAt` the test controls, like a beacon
///         whose round for a challenge block is relayed some blocks later: pay latency counts from `knownAt`,
///         the deadline from the challenge block, and a seed that is not available yet stops the proof.
contract StorageMarketSeedTest is StorageFixture {
    MockRandomnessSource internal source;
    bytes32 internal constant RANDOM = keccak256("beacon round");

    function setUp() public override {
        super.setUp();
        source = new MockRandomnessSource();
        market = new StorageMarket(
            address(token), address(registry), address(verifier), address(source), owner, COLLATERAL_PERIODS
        );
        address[4] memory accounts = [client, p1, p2, p3];
        for (uint256 i = 0; i < accounts.length; ++i) {
            vm.prank(accounts[i]);
            token.approve(address(market), type(uint256).max);
        }
    }

    function _dealWithSlot0() internal returns (uint256 dealId) {
        dealId = _createDeal(2, 10);
        _join(p1, dealId, 0);
        _join(p2, dealId, 1);
    }

    /// @dev Publishes the randomness of `period`'s challenge block `delay` blocks after it.
    function _publish(uint256 dealId, uint256 period, uint256 delay) internal returns (uint256 knownAt) {
        uint256 challengeBlock = _challengeBlock(dealId, period);
        knownAt = challengeBlock + delay;
        source.setSeed(challengeBlock, RANDOM, knownAt);
    }

    function _seedOf(uint256 dealId, uint256 slotIndex, uint256 period, address provider)
        internal
        view
        returns (uint256)
    {
        return uint256(
            keccak256(abi.encode(RANDOM, block.chainid, address(market), dealId, slotIndex, period, provider))
        ) % FIELD;
    }

    function test_LateSeed_FullPayCountsFromKnownAt() public {
        uint256 dealId = _dealWithSlot0();
        uint256 knownAt = _publish(dealId, 0, 8);

        // FAST_WINDOW_BLOCKS after the seed became public (18 after the challenge block): still full pay.
        vm.roll(knownAt + C.FAST_WINDOW_BLOCKS);
        assertGt(block.number, _challengeBlock(dealId, 0) + C.FAST_WINDOW_BLOCKS, "past the challenge block's fast window");
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 0, 0, p1, PRICE, C.FAST_WINDOW_BLOCKS);
        _prove(p1, dealId, 0, 0);

        // One block later the pay falls by one decay step, measured from knownAt too.
        vm.roll(knownAt + C.FAST_WINDOW_BLOCKS + 1);
        uint256 late = _expectedPay(PRICE, C.FAST_WINDOW_BLOCKS + 1);
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 1, 0, p2, late, C.FAST_WINDOW_BLOCKS + 1);
        _prove(p2, dealId, 1, 0);
        assertEq(market.credits(p1), PRICE);
        assertEq(market.credits(p2), late);
    }

    function test_LateSeed_SeedAndSignalsComeFromTheSource() public {
        uint256 dealId = _dealWithSlot0();
        uint256 knownAt = _publish(dealId, 0, 5);
        vm.roll(knownAt + 1);
        assertEq(market.challengeSeed(dealId, 0, 0, p1), _seedOf(dealId, 0, 0, p1));
        verifier.expectPublicSignals([ROOT, _seedOf(dealId, 0, 0, p1)]);
        _prove(p1, dealId, 0, 0);
        assertEq(market.credits(p1), PRICE);
    }

    function test_LateSeed_DeadlineStaysFixedToTheChallengeBlock() public {
        uint256 dealId = _dealWithSlot0();
        uint256 knownAt = _publish(dealId, 0, 20);
        uint256 deadline = _deadline(dealId, 0);
        assertEq(deadline, _challengeBlock(dealId, 0) + C.DEADLINE_BLOCKS);

        // At the deadline the seed is only 5 blocks old: full pay.
        vm.roll(deadline);
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 0, 0, p1, PRICE, deadline - knownAt);
        _prove(p1, dealId, 0, 0);

        // One block later nobody may prove, however late the seed was.
        vm.roll(deadline + 1);
        vm.expectRevert(_err(IStorageMarket.StorageMarketDeadlinePassed.selector, dealId, 0, deadline));
        _prove(p2, dealId, 1, 0);
    }

    function test_SeedNotYetAvailable_RevertsWithTheSourceErrorAndChangesNothing() public {
        uint256 dealId = _dealWithSlot0();
        uint256 challengeBlock = _challengeBlock(dealId, 0);
        vm.roll(challengeBlock + 3);
        uint256 escrow = _deal(dealId).escrow;
        uint256 balance = token.balanceOf(address(market));

        bytes memory notYet =
            abi.encodeWithSelector(MockRandomnessSource.MockRandomnessSourceNotYetAvailable.selector, challengeBlock);
        vm.expectRevert(notYet);
        _prove(p1, dealId, 0, 0);
        vm.expectRevert(notYet);
        market.challengeSeed(dealId, 0, 0, p1);

        assertEq(_slot(dealId, 0).nextPeriod, 0);
        assertEq(_slot(dealId, 0).misses, 0);
        assertEq(market.credits(p1), 0);
        assertEq(_deal(dealId).escrow, escrow);
        assertEq(token.balanceOf(address(market)), balance);

        // Once the round is relayed the same proof goes through, at full pay.
        source.setSeed(challengeBlock, RANDOM, block.number);
        vm.roll(block.number + 1);
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 0, 0, p1, PRICE, 1);
        _prove(p1, dealId, 0, 0);
    }

    function test_KnownAtOutsideTheWindowIsClamped() public {
        uint256 dealId = _dealWithSlot0();
        uint256 challengeBlock = _challengeBlock(dealId, 0);
        // A source claiming its value was public before the challenge block: latency still counts from it.
        source.setSeed(challengeBlock, RANDOM, 1);
        vm.roll(challengeBlock + C.DEADLINE_BLOCKS);
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 0, 0, p1, 0, C.DEADLINE_BLOCKS);
        _prove(p1, dealId, 0, 0);

        // A source claiming a block still ahead: latency 0, full pay, no underflow.
        source.setSeed(challengeBlock, RANDOM, block.number + 100);
        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 1, 0, p2, PRICE, 0);
        _prove(p2, dealId, 1, 0);
    }

    function testFuzz_PayCountsFromKnownAt(uint256 delay, uint256 latency, uint256 price) public {
        price = _bound(price, 1, 1e24);
        delay = _bound(delay, 0, C.DEADLINE_BLOCKS - 1);
        vm.prank(client);
        uint256 dealId = market.createDeal(ROOT, SIZE, 1, 10, price);
        _join(p1, dealId, 0);
        uint256 challengeBlock = _challengeBlock(dealId, 0);
        uint256 knownAt = _publish(dealId, 0, delay);
        // Any block after both the challenge block and knownAt, up to the deadline.
        uint256 first = knownAt > challengeBlock ? knownAt : challengeBlock + 1;
        vm.roll(_bound(latency, first, challengeBlock + C.DEADLINE_BLOCKS));
        uint256 expectedLatency = block.number - knownAt;
        uint256 pay = _expectedPay(price, expectedLatency);
        uint256 escrow = _deal(dealId).escrow;

        vm.expectEmit(address(market));
        emit IStorageMarket.ProofAccepted(dealId, 0, 0, p1, pay, expectedLatency);
        _prove(p1, dealId, 0, 0);
        assertEq(market.credits(p1), pay);
        assertEq(_deal(dealId).escrow, escrow - pay);
        assertGe(pay, _expectedPay(price, block.number - challengeBlock), "a late seed never lowers the pay");
    }
}
