// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {StorageConstants as C} from "../../contracts/generated/ProtocolConstants.sol";
import {IStorageMarket} from "../../contracts/interfaces/IStorageMarket.sol";
import {StorageMarket} from "../../contracts/storage/StorageMarket.sol";
import {DaiosToken} from "../../contracts/token/DaiosToken.sol";
import {MockPoRAVerifier} from "../../contracts/mocks/MockPoRAVerifier.sol";
import {StorageFixture} from "./helpers/StorageFixture.sol";

/// @notice Drives the market with random sequences of every action. All calls come from a fixed set of
///         actors, so every credit lands on an address the invariants can sum.
contract StorageMarketHandler is Test {
    uint256 internal constant MAX_DEALS = 12;

    StorageMarket internal immutable _market;
    DaiosToken internal immutable _token;
    MockPoRAVerifier internal immutable _verifier;
    address[] internal _actors;

    /// @notice Tokens that entered the market (escrows, top-ups, collateral) and left it (withdrawals).
    uint256 public ghostDeposited;
    uint256 public ghostWithdrawn;
    /// @notice Successful calls per action, to see that sequences do reach every transition.
    mapping(bytes32 action => uint256) public calls;

    constructor(StorageMarket market_, DaiosToken token_, MockPoRAVerifier verifier_, address[] memory actors_) {
        _market = market_;
        _token = token_;
        _verifier = verifier_;
        _actors = actors_;
    }

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    function createDeal(uint256 actorSeed, uint256 replicas, uint256 periods, uint256 price) external {
        if (_market.dealCount() >= MAX_DEALS) return;
        address client = _actor(actorSeed);
        replicas = _bound(replicas, 1, C.MAX_REPLICAS);
        periods = _bound(periods, 1, 12);
        price = _bound(price, 1, 1e21);
        uint256 before = _token.balanceOf(address(_market));
        vm.prank(client);
        try _market.createDeal(uint256(keccak256(abi.encode(actorSeed))) % (1 << 250) + 1, 1 << 20, replicas, periods, price)
        {
            ghostDeposited += _token.balanceOf(address(_market)) - before;
            ++calls["createDeal"];
        } catch {}
    }

    function joinDeal(uint256 actorSeed, uint256 dealSeed, uint256 slotSeed) external {
        (bool ok, uint256 dealId, IStorageMarket.DealInfo memory d) = _pickDeal(dealSeed);
        if (!ok) return;
        uint256 before = _token.balanceOf(address(_market));
        vm.prank(_actor(actorSeed));
        try _market.joinDeal(dealId, slotSeed % d.replicas) {
            ghostDeposited += _token.balanceOf(address(_market)) - before;
            ++calls["joinDeal"];
        } catch {}
    }

    function submitProof(uint256 dealSeed, uint256 slotSeed, uint256 latencySeed, bool invalid) external {
        (bool ok, uint256 dealId, IStorageMarket.DealInfo memory d) = _pickDeal(dealSeed);
        if (!ok) return;
        uint256 slotIndex = slotSeed % d.replicas;
        IStorageMarket.SlotInfo memory s = _market.slot(dealId, slotIndex);
        if (s.provider == address(0)) return;
        // Prove the current period (the next one when its deadline has passed), but never one the slot
        // has settled; move into its proof window.
        uint256 period = _market.currentPeriod(dealId);
        (, uint256 challengeBlock,, uint256 deadline) = _market.periodWindow(dealId, period);
        if (block.number > deadline) ++period;
        if (period < s.nextPeriod) period = s.nextPeriod;
        (, challengeBlock,,) = _market.periodWindow(dealId, period);
        if (block.number <= challengeBlock) vm.roll(challengeBlock + 1 + latencySeed % C.DEADLINE_BLOCKS);
        uint256 before = _market.credits(s.provider);

        if (invalid) _verifier.setResult(false);
        uint256[2] memory a;
        uint256[2][2] memory b;
        vm.prank(s.provider);
        try _market.submitProof(dealId, slotIndex, period, a, b, a) {
            assertFalse(invalid, "an invalid proof was accepted");
            assertLe(_market.credits(s.provider) - before, d.pricePerPeriod + s.repairReserve, "overpaid");
            ++calls["submitProof"];
        } catch {}
        if (invalid) _verifier.setResult(true);
    }

    function reportMissed(uint256 actorSeed, uint256 dealSeed, uint256 slotSeed) external {
        (bool ok, uint256 dealId, IStorageMarket.DealInfo memory d) = _pickDeal(dealSeed);
        if (!ok) return;
        vm.prank(_actor(actorSeed));
        try _market.reportMissed(dealId, slotSeed % d.replicas) {
            ++calls["reportMissed"];
        } catch {}
    }

    function cancelDeal(uint256 dealSeed) external {
        (bool ok, uint256 dealId, IStorageMarket.DealInfo memory d) = _pickDeal(dealSeed);
        if (!ok) return;
        vm.prank(d.client);
        try _market.cancelDeal(dealId) {
            ++calls["cancelDeal"];
        } catch {}
    }

    function topUp(uint256 actorSeed, uint256 dealSeed, uint256 extraPeriods) external {
        (bool ok, uint256 dealId,) = _pickDeal(dealSeed);
        if (!ok) return;
        uint256 before = _token.balanceOf(address(_market));
        vm.prank(_actor(actorSeed));
        try _market.topUp(dealId, _bound(extraPeriods, 1, 6)) {
            ghostDeposited += _token.balanceOf(address(_market)) - before;
            ++calls["topUp"];
        } catch {}
    }

    function closeDeal(uint256 actorSeed, uint256 dealSeed) external {
        (bool ok, uint256 dealId,) = _pickDeal(dealSeed);
        if (!ok) return;
        vm.prank(_actor(actorSeed));
        try _market.closeDeal(dealId) {
            ++calls["closeDeal"];
        } catch {}
    }

    function withdraw(uint256 actorSeed) external {
        address account = _actor(actorSeed);
        uint256 credit = _market.credits(account);
        uint256 before = _token.balanceOf(account);
        vm.prank(account);
        try _market.withdraw() {
            assertEq(_token.balanceOf(account) - before, credit, "withdrawal differs from credit");
            assertEq(_market.credits(account), 0, "credit left after withdrawal");
            ghostWithdrawn += credit;
            ++calls["withdraw"];
        } catch {
            assertEq(credit, 0, "withdrawal of a positive credit failed");
        }
    }

    function roll(uint256 blocks) external {
        vm.roll(block.number + _bound(blocks, 1, 3 * C.PERIOD_BLOCKS));
        ++calls["roll"];
    }

    function _actor(uint256 seed) internal view returns (address) {
        return _actors[seed % _actors.length];
    }

    function _pickDeal(uint256 seed) internal view returns (bool ok, uint256 dealId, IStorageMarket.DealInfo memory d) {
        uint256 count = _market.dealCount();
        if (count == 0) return (false, 0, d);
        dealId = seed % count + 1;
        d = _market.deal(dealId);
        ok = true;
    }
}

contract StorageMarketInvariantTest is StorageFixture {
    StorageMarketHandler internal handler;
    address internal p4 = makeAddr("p4");
    uint256 internal supply;

    function setUp() public override {
        super.setUp();
        _fund(p4);
        _register(p4);
        address[] memory actors = new address[](6);
        actors[0] = client;
        actors[1] = reporter;
        actors[2] = p1;
        actors[3] = p2;
        actors[4] = p3;
        actors[5] = p4;
        handler = new StorageMarketHandler(market, token, verifier, actors);
        supply = token.totalSupply();
        targetContract(address(handler));
    }

    /// @notice The market holds exactly what it owes: escrows + collateral + repair reserves + credits.
    function invariant_BalanceEqualsLiabilities() public view {
        uint256 owed;
        uint256 count = market.dealCount();
        for (uint256 dealId = 1; dealId <= count; ++dealId) {
            IStorageMarket.DealInfo memory d = market.deal(dealId);
            owed += d.escrow;
            assertLe(d.escrow, d.pricePerPeriod * d.replicas * d.endPeriod, "escrow above what was paid in");
            for (uint256 i = 0; i < d.replicas; ++i) {
                IStorageMarket.SlotInfo memory s = market.slot(dealId, i);
                owed += s.collateral + s.repairReserve;
                if (d.status == IStorageMarket.DealStatus.Closed) {
                    assertEq(s.collateral + s.repairReserve, 0, "closed deal still holds tokens");
                }
                if (s.provider == address(0)) assertEq(s.collateral, 0, "free slot holds collateral");
                assertLt(s.misses, C.MAX_MISSES, "slot kept after MAX_MISSES");
            }
            if (d.status == IStorageMarket.DealStatus.Closed) assertEq(d.escrow, 0, "closed deal keeps escrow");
        }
        address[] memory actors = handler.actors();
        for (uint256 i = 0; i < actors.length; ++i) {
            owed += market.credits(actors[i]);
        }
        assertEq(token.balanceOf(address(market)), owed, "balance != escrow + collateral + reserves + credits");
    }

    /// @notice Tokens only move: the supply never changes and every token is with an actor, the market or
    ///         the registry; what entered the market minus what left it is its balance.
    function invariant_TokensAreNeverCreated() public view {
        assertEq(token.totalSupply(), supply, "supply changed");
        address[] memory actors = handler.actors();
        uint256 held = token.balanceOf(address(market)) + token.balanceOf(address(registry));
        for (uint256 i = 0; i < actors.length; ++i) {
            held += token.balanceOf(actors[i]);
        }
        assertEq(held, supply, "tokens appeared or vanished");
        assertEq(
            token.balanceOf(address(market)),
            handler.ghostDeposited() - handler.ghostWithdrawn(),
            "market balance differs from deposits minus withdrawals"
        );
    }

    /// @notice Test of the test: a long fixed sequence reaches every transition the handler offers.
    function test_HandlerReachesEveryAction() public {
        for (uint256 round = 0; round < 40; ++round) {
            handler.createDeal(round, 1 + round % 3, 4 + round % 6, 1e18);
            // A deal seed of dealCount - 1 picks the newest deal.
            uint256 newest = market.dealCount() - 1;
            if (round % 4 == 0) handler.topUp(round, newest, 2);
            handler.joinDeal(round, round, round);
            handler.joinDeal(round + 1, round, round + 1);
            handler.submitProof(round, round, round, round % 7 == 0);
            handler.submitProof(round, round + 1, round, false);
            if (round % 5 == 1) handler.cancelDeal(newest);
            handler.roll(round * 7);
            handler.reportMissed(round, round + 1, round);
            handler.closeDeal(round, round + 5);
            handler.withdraw(round);
            invariant_BalanceEqualsLiabilities();
            invariant_TokensAreNeverCreated();
        }
        assertGt(handler.calls("createDeal"), 0);
        assertGt(handler.calls("joinDeal"), 0);
        assertGt(handler.calls("submitProof"), 0);
        assertGt(handler.calls("reportMissed"), 0);
        assertGt(handler.calls("cancelDeal"), 0);
        assertGt(handler.calls("topUp"), 0);
        assertGt(handler.calls("closeDeal"), 0);
        assertGt(handler.calls("withdraw"), 0);
    }
}
