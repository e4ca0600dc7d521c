// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {RevertData} from "./RevertData.sol";
import {StorageConstants as C} from "../../../contracts/generated/ProtocolConstants.sol";
import {DaiosToken} from "../../../contracts/token/DaiosToken.sol";
import {ProviderRegistry} from "../../../contracts/core/ProviderRegistry.sol";
import {BlockhashRandomness} from "../../../contracts/randomness/BlockhashRandomness.sol";
import {MockPoRAVerifier} from "../../../contracts/mocks/MockPoRAVerifier.sol";
import {StorageMarket} from "../../../contracts/storage/StorageMarket.sol";
import {IStorageMarket} from "../../../contracts/interfaces/IStorageMarket.sol";

/// @notice Deploys the storage layer (real token, registry, randomness and market; mock verifier) and
///         offers helpers to drive deals through their periods.
abstract contract StorageFixture is Test, RevertData {
    uint256 internal constant PRICE = 1e18;
    uint256 internal constant COLLATERAL_PERIODS = 10;
    uint256 internal constant COLLATERAL = PRICE * COLLATERAL_PERIODS;
    uint256 internal constant MIN_STAKE = 100e18;
    uint256 internal constant FUNDS = 1e27;
    uint256 internal constant ROOT = 0x0badc0ffee0ddf00d;
    uint256 internal constant SIZE = 1 << 20;
    uint256 internal constant FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant BPS = 10_000;
    uint256 internal constant BOUNTY_BPS = 1_000;
    uint256 internal constant REPAIR_BPS = 2_000;
    /// @dev Block of setUp, where the tests create their deals.
    uint256 internal constant START = 1_000;
    /// @dev Start block (first block of period 0) of a deal created at START.
    uint256 internal constant DEAL_START = START + C.UPLOAD_WINDOW_BLOCKS;

    address internal owner = makeAddr("owner");
    address internal client = makeAddr("client");
    address internal p1 = makeAddr("p1");
    address internal p2 = makeAddr("p2");
    address internal p3 = makeAddr("p3");
    address internal reporter = makeAddr("reporter");

    DaiosToken internal token;
    ProviderRegistry internal registry;
    MockPoRAVerifier internal verifier;
    BlockhashRandomness internal randomness;
    StorageMarket internal market;
    bytes32 internal storageRole;

    uint256[2] internal pA;
    uint256[2][2] internal pB;
    uint256[2] internal pC;

    function setUp() public virtual {
        vm.roll(START);
        token = new DaiosToken(owner);
        registry = new ProviderRegistry(address(token), owner, 7 days);
        verifier = new MockPoRAVerifier();
        randomness = new BlockhashRandomness();
        market = new StorageMarket(
            address(token), address(registry), address(verifier), address(randomness), owner, COLLATERAL_PERIODS
        );
        storageRole = registry.STORAGE_ROLE();
        vm.prank(owner);
        registry.setMinStake(storageRole, MIN_STAKE);
        _fund(client);
        _fund(reporter);
        _fund(p1);
        _fund(p2);
        _fund(p3);
        _register(p1);
        _register(p2);
        _register(p3);
    }

    function _fund(address account) internal {
        vm.prank(owner);
        token.mint(account, FUNDS);
        vm.startPrank(account);
        token.approve(address(market), type(uint256).max);
        token.approve(address(registry), type(uint256).max);
        vm.stopPrank();
    }

    function _register(address provider) internal {
        vm.prank(provider);
        registry.register(storageRole, MIN_STAKE, "https://provider.example", 1 << 40);
    }

    function _createDeal(uint256 replicas, uint256 periods) internal returns (uint256 dealId) {
        vm.prank(client);
        dealId = market.createDeal(ROOT, SIZE, replicas, periods, PRICE);
    }

    function _join(address provider, uint256 dealId, uint256 slotIndex) internal {
        vm.prank(provider);
        market.joinDeal(dealId, slotIndex);
    }

    function _challengeBlock(uint256 dealId, uint256 period) internal view returns (uint256 challengeBlock) {
        (, challengeBlock,,) = market.periodWindow(dealId, period);
    }

    function _deadline(uint256 dealId, uint256 period) internal view returns (uint256 deadline) {
        (,,, deadline) = market.periodWindow(dealId, period);
    }

    /// @dev Rolls to `latency` blocks after the period's challenge block.
    function _rollToLatency(uint256 dealId, uint256 period, uint256 latency) internal {
        vm.roll(_challengeBlock(dealId, period) + latency);
    }

    function _prove(address provider, uint256 dealId, uint256 slotIndex, uint256 period) internal {
        vm.prank(provider);
        market.submitProof(dealId, slotIndex, period, pA, pB, pC);
    }

    /// @dev The pay curve, written independently of the market: full up to the fast window, then linear to 0.
    function _expectedPay(uint256 price, uint256 latency) internal pure returns (uint256) {
        if (latency <= C.FAST_WINDOW_BLOCKS) return price;
        return price * (C.DEADLINE_BLOCKS - latency) / (C.DEADLINE_BLOCKS - C.FAST_WINDOW_BLOCKS);
    }

    function _expectedSeed(uint256 dealId, uint256 slotIndex, uint256 period, address provider)
        internal
        view
        returns (uint256)
    {
        bytes32 random = blockhash(_challengeBlock(dealId, period));
        return uint256(
            keccak256(abi.encode(random, block.chainid, address(market), dealId, slotIndex, period, provider))
        ) % FIELD;
    }

    function _deal(uint256 dealId) internal view returns (IStorageMarket.DealInfo memory) {
        return market.deal(dealId);
    }

    function _slot(uint256 dealId, uint256 slotIndex) internal view returns (IStorageMarket.SlotInfo memory) {
        return market.slot(dealId, slotIndex);
    }
}
