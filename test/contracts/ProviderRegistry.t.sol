// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {DaiosToken} from "../../contracts/token/DaiosToken.sol";
import {ProviderRegistry} from "../../contracts/core/ProviderRegistry.sol";
import {IProviderRegistry} from "../../contracts/interfaces/IProviderRegistry.sol";

contract ProviderRegistryTest is Test {
    uint256 internal constant MIN = 100e18;
    uint64 internal constant DELAY = 7 days;
    string internal constant ENDPOINT = "https://p1.example:8443";

    address internal owner = makeAddr("owner");
    address internal p1 = makeAddr("p1");
    address internal p2 = makeAddr("p2");
    address internal layer = makeAddr("layer");
    address internal otherLayer = makeAddr("otherLayer");
    address internal sink = makeAddr("sink");

    DaiosToken internal token;
    ProviderRegistry internal registry;
    bytes32 internal role;

    function setUp() public {
        token = new DaiosToken(owner);
        registry = new ProviderRegistry(address(token), owner, DELAY);
        role = registry.STORAGE_ROLE();
        vm.startPrank(owner);
        registry.setMinStake(role, MIN);
        registry.setLayer(layer, role, true);
        registry.setLayer(otherLayer, role, true);
        token.mint(p1, 1e24);
        token.mint(p2, 1e24);
        vm.stopPrank();
        vm.prank(p1);
        token.approve(address(registry), type(uint256).max);
        vm.prank(p2);
        token.approve(address(registry), type(uint256).max);
    }

    function _register(address provider, uint256 stake) internal {
        vm.prank(provider);
        registry.register(role, stake, ENDPOINT, 1 << 40);
    }

    function test_RoleIds() public view {
        assertEq(registry.STORAGE_ROLE(), keccak256("daios.storage"));
        assertEq(registry.DA_ROLE(), keccak256("daios.da"));
        assertEq(registry.COMPUTE_ROLE(), keccak256("daios.compute"));
        assertEq(registry.MEMORY_ROLE(), keccak256("daios.memory"));
        assertEq(registry.stakeToken(), address(token));
        assertEq(registry.unbondingDelay(), DELAY);
    }

    function test_Register_StoresProviderAndPullsStake() public {
        vm.warp(12345);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.ProviderRegistered(p1, role, MIN, ENDPOINT, 1 << 40);
        _register(p1, MIN);
        IProviderRegistry.Provider memory p = registry.provider(p1, role);
        assertEq(p.stake, MIN);
        assertEq(p.locked, 0);
        assertEq(p.unbonding, 0);
        assertEq(p.registeredAt, 12345);
        assertEq(p.stakeChangedAt, block.number);
        assertEq(p.capacity, 1 << 40);
        assertTrue(p.registered);
        assertEq(p.endpoint, ENDPOINT);
        assertEq(abi.encode(registry.getProvider(p1, role)), abi.encode(p), "getProvider is provider");
        assertTrue(registry.isActive(p1, role));
        assertFalse(registry.isActive(p1, registry.DA_ROLE()));
        assertEq(token.balanceOf(address(registry)), MIN);
        assertEq(registry.providerCount(role), 1);
    }

    function test_Register_Reverts() public {
        bytes32 da = registry.DA_ROLE();
        vm.startPrank(p1);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryUnknownRole.selector, da));
        registry.register(da, MIN, ENDPOINT, 1);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryStakeBelowMinimum.selector, MIN - 1, MIN));
        registry.register(role, MIN - 1, ENDPOINT, 1);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidEndpoint.selector, 0));
        registry.register(role, MIN, "", 1);
        string memory tooLong = string(new bytes(257));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidEndpoint.selector, 257));
        registry.register(role, MIN, tooLong, 1);
        registry.register(role, MIN, string(new bytes(256)), 1);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryAlreadyRegistered.selector, p1, role));
        registry.register(role, MIN, ENDPOINT, 1);
        vm.stopPrank();
    }

    function test_AddStakeAndUpdate() public {
        _register(p1, MIN);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.StakeAdded(p1, role, 5e18, MIN + 5e18);
        vm.prank(p1);
        registry.addStake(role, 5e18);
        assertEq(registry.provider(p1, role).stake, MIN + 5e18);
        assertEq(token.balanceOf(address(registry)), MIN + 5e18);

        vm.expectEmit(address(registry));
        emit IProviderRegistry.ProviderUpdated(p1, role, "tcp://new", 7);
        vm.prank(p1);
        registry.updateProvider(role, "tcp://new", 7);
        assertEq(registry.provider(p1, role).endpoint, "tcp://new");
        assertEq(registry.provider(p1, role).capacity, 7);

        vm.expectRevert(IProviderRegistry.ProviderRegistryZeroAmount.selector);
        vm.prank(p1);
        registry.addStake(role, 0);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryNotRegistered.selector, p2, role));
        vm.prank(p2);
        registry.addStake(role, 1);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryNotRegistered.selector, p2, role));
        vm.prank(p2);
        registry.updateProvider(role, "x", 1);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidEndpoint.selector, 0));
        vm.prank(p1);
        registry.updateProvider(role, "", 1);
    }

    function test_Unbond_DeactivatesBelowMinimumAndWithdrawsAfterDelay() public {
        _register(p1, MIN + 10e18);
        vm.warp(1_000);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.UnbondRequested(p1, role, 10e18, 1_000 + DELAY);
        vm.prank(p1);
        registry.requestUnbond(role, 10e18);
        assertTrue(registry.isActive(p1, role), "still at the minimum");

        vm.prank(p1);
        registry.requestUnbond(role, 1);
        assertFalse(registry.isActive(p1, role), "below the minimum");
        IProviderRegistry.Provider memory p = registry.provider(p1, role);
        assertEq(p.stake, MIN - 1);
        assertEq(p.unbonding, 10e18 + 1);
        assertEq(p.unbondingReadyAt, 1_000 + DELAY);

        vm.warp(1_000 + DELAY - 1);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryUnbondingNotReady.selector, 1_000 + DELAY));
        vm.prank(p1);
        registry.withdrawUnbonded(role);

        vm.warp(1_000 + DELAY);
        uint256 before = token.balanceOf(p1);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.UnbondedWithdrawn(p1, role, 10e18 + 1);
        vm.prank(p1);
        registry.withdrawUnbonded(role);
        assertEq(token.balanceOf(p1) - before, 10e18 + 1);
        assertEq(registry.provider(p1, role).unbonding, 0);

        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryNothingUnbonding.selector, p1, role));
        vm.prank(p1);
        registry.withdrawUnbonded(role);
        vm.expectRevert(IProviderRegistry.ProviderRegistryZeroAmount.selector);
        vm.prank(p1);
        registry.requestUnbond(role, 0);

        // Topping up restores activity.
        vm.prank(p1);
        registry.addStake(role, 1);
        assertTrue(registry.isActive(p1, role));
    }

    /// @notice stakeChangedAt is the block of the last change of `stake`: register, addStake, requestUnbond and
    ///         a slash of bonded stake set it; locking, unlocking, updating, withdrawing and a slash of
    ///         unbonding stake only leave it.
    function test_StakeChangedAt_TracksEveryStakeChange() public {
        vm.roll(100);
        _register(p1, MIN + 20e18);
        assertEq(registry.provider(p1, role).stakeChangedAt, 100, "register");

        vm.roll(110);
        vm.prank(p1);
        registry.addStake(role, 10e18);
        assertEq(registry.provider(p1, role).stakeChangedAt, 110, "addStake");

        vm.roll(120);
        vm.prank(p1);
        registry.updateProvider(role, "tcp://new", 7);
        vm.prank(otherLayer);
        registry.lockStake(p1, role, MIN);
        assertEq(registry.provider(p1, role).stakeChangedAt, 110, "update and lock leave it");

        vm.roll(130);
        vm.prank(p1);
        registry.requestUnbond(role, 30e18); // all the free stake
        assertEq(registry.provider(p1, role).stakeChangedAt, 130, "requestUnbond");

        // Nothing free and no own lock: this slash takes unbonding stake only, so `stake` stays.
        vm.roll(140);
        vm.prank(layer);
        assertEq(registry.slash(p1, role, 1e18, sink), 1e18);
        IProviderRegistry.Provider memory p = registry.provider(p1, role);
        assertEq(p.stake, MIN);
        assertEq(p.unbonding, 29e18);
        assertEq(p.stakeChangedAt, 130, "slash of unbonding stake leaves it");

        vm.roll(150);
        vm.warp(block.timestamp + DELAY);
        vm.prank(p1);
        registry.withdrawUnbonded(role);
        vm.prank(otherLayer);
        registry.unlockStake(p1, role, 10e18);
        assertEq(registry.provider(p1, role).stakeChangedAt, 130, "withdraw and unlock leave it");

        vm.roll(160);
        vm.prank(layer);
        assertEq(registry.slash(p1, role, 1e18, sink), 1e18);
        p = registry.provider(p1, role);
        assertEq(p.stake, MIN - 1e18);
        assertEq(p.stakeChangedAt, 160, "slash of free stake");

        // Per role: p1's DA record is untouched, and so is p2's.
        assertEq(registry.provider(p1, registry.DA_ROLE()).stakeChangedAt, 0);
        assertEq(registry.provider(p2, role).stakeChangedAt, 0);
    }

    function test_LockedStakeCannotBeUnbondedAndUnlockRestoresIt() public {
        _register(p1, MIN);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.StakeLocked(p1, role, layer, 60e18);
        vm.prank(layer);
        registry.lockStake(p1, role, 60e18);
        assertEq(registry.provider(p1, role).locked, 60e18);
        assertEq(registry.lockedBy(p1, role, layer), 60e18);

        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInsufficientFreeStake.selector, 41e18, 40e18)
        );
        vm.prank(p1);
        registry.requestUnbond(role, 41e18);
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInsufficientFreeStake.selector, 41e18, 40e18)
        );
        vm.prank(otherLayer);
        registry.lockStake(p1, role, 41e18);

        // A layer can only unlock what it locked.
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInsufficientLocked.selector, 1, 0));
        vm.prank(otherLayer);
        registry.unlockStake(p1, role, 1);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.StakeUnlocked(p1, role, layer, 60e18);
        vm.prank(layer);
        registry.unlockStake(p1, role, 60e18);
        vm.prank(p1);
        registry.requestUnbond(role, MIN);
        assertEq(registry.provider(p1, role).stake, 0);
    }

    function test_Slash_TakesOwnLockThenFreeThenUnbonding() public {
        _register(p1, MIN);
        vm.prank(layer);
        registry.lockStake(p1, role, 30e18);
        vm.prank(otherLayer);
        registry.lockStake(p1, role, 50e18);
        vm.prank(p1);
        registry.requestUnbond(role, 20e18); // free stake is 20e18: all of it unbonds
        // stake 80 (locked 30 by layer, 50 by otherLayer), unbonding 20.

        vm.expectEmit(address(registry));
        emit IProviderRegistry.StakeSlashed(p1, role, layer, 45e18, sink);
        vm.prank(layer);
        uint256 slashed = registry.slash(p1, role, 45e18, sink);
        assertEq(slashed, 45e18);
        IProviderRegistry.Provider memory p = registry.provider(p1, role);
        // 30 from its own lock, 0 free, 15 from unbonding; otherLayer's 50 untouched.
        assertEq(p.stake, 50e18);
        assertEq(p.locked, 50e18);
        assertEq(p.unbonding, 5e18);
        assertEq(registry.lockedBy(p1, role, layer), 0);
        assertEq(registry.lockedBy(p1, role, otherLayer), 50e18);
        assertEq(token.balanceOf(sink), 45e18);

        // Asking for more than is available slashes what there is.
        vm.expectEmit(address(registry));
        emit IProviderRegistry.StakeSlashed(p1, role, layer, 5e18, sink);
        vm.prank(layer);
        assertEq(registry.slash(p1, role, 100e18, sink), 5e18);
        assertEq(token.balanceOf(address(registry)), 50e18);
    }

    function test_LayerActions_RevertWhenUnauthorised() public {
        _register(p1, MIN);
        address stranger = makeAddr("stranger");
        bytes32 da = registry.DA_ROLE();
        vm.startPrank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryUnauthorisedLayer.selector, stranger, role));
        registry.lockStake(p1, role, 1);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryUnauthorisedLayer.selector, stranger, role));
        registry.unlockStake(p1, role, 1);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryUnauthorisedLayer.selector, stranger, role));
        registry.slash(p1, role, 1, stranger);
        vm.stopPrank();
        // Authorisation is per role.
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryUnauthorisedLayer.selector, layer, da));
        vm.prank(layer);
        registry.slash(p1, da, 1, sink);
        vm.startPrank(layer);
        vm.expectRevert(IProviderRegistry.ProviderRegistryZeroAddress.selector);
        registry.slash(p1, role, 1, address(0));
        vm.expectRevert(IProviderRegistry.ProviderRegistryZeroAmount.selector);
        registry.slash(p1, role, 0, sink);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryNotRegistered.selector, p2, role));
        registry.lockStake(p2, role, 1);
        vm.stopPrank();

        vm.expectEmit(address(registry));
        emit IProviderRegistry.LayerAuthorisationSet(layer, role, false);
        vm.prank(owner);
        registry.setLayer(layer, role, false);
        assertFalse(registry.isLayer(layer, role));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryUnauthorisedLayer.selector, layer, role));
        vm.prank(layer);
        registry.lockStake(p1, role, 1);
    }

    function test_Providers_Paginates() public {
        _register(p1, MIN);
        _register(p2, MIN);
        address[] memory page = registry.providers(role, 0, 1);
        assertEq(page.length, 1);
        assertEq(page[0], p1);
        page = registry.providers(role, 1, 100);
        assertEq(page.length, 1);
        assertEq(page[0], p2);
        assertEq(registry.providers(role, 2, 10).length, 0);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidPageSize.selector, 0));
        registry.providers(role, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidPageSize.selector, 101));
        registry.providers(role, 0, 101);
    }

    function test_Owner_SetsParameters() public {
        bytes32 da = registry.DA_ROLE();
        assertFalse(registry.roleEnabled(da));
        vm.startPrank(owner);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.MinStakeSet(da, 0);
        registry.setMinStake(da, 0);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.UnbondingDelaySet(90 days);
        registry.setUnbondingDelay(90 days);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInvalidUnbondingDelay.selector, 90 days + 1));
        registry.setUnbondingDelay(90 days + 1);
        vm.expectRevert(IProviderRegistry.ProviderRegistryZeroAddress.selector);
        registry.setLayer(address(0), role, true);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderRegistryAmountTooLarge.selector, uint256(1) << 128));
        registry.setMinStake(da, uint256(1) << 128);
        vm.stopPrank();
        assertTrue(registry.roleEnabled(da));
        assertEq(registry.minStake(da), 0);
        // A zero-minimum role accepts a zero stake.
        vm.prank(p2);
        registry.register(da, 0, ENDPOINT, 1);
        assertTrue(registry.isActive(p2, da));

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, p1));
        vm.prank(p1);
        registry.setMinStake(role, 1);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, p1));
        vm.prank(p1);
        registry.setLayer(p1, role, true);
    }

    /// @notice Whatever a provider and two layers do, the registry holds exactly stake + unbonding.
    function testFuzz_SlashAccounting(uint256 stake, uint256 lockA, uint256 lockB, uint256 unbond, uint256 amount)
        public
    {
        stake = _bound(stake, MIN, 1e24);
        _register(p1, stake);
        lockA = _bound(lockA, 1, stake);
        vm.prank(layer);
        registry.lockStake(p1, role, lockA);
        if (lockA < stake) {
            lockB = _bound(lockB, 1, stake - lockA);
            vm.prank(otherLayer);
            registry.lockStake(p1, role, lockB);
        } else {
            lockB = 0;
        }
        uint256 free = stake - lockA - lockB;
        if (free > 0) {
            unbond = _bound(unbond, 1, free);
            vm.prank(p1);
            registry.requestUnbond(role, unbond);
        } else {
            unbond = 0;
        }
        amount = _bound(amount, 1, 2e24);
        uint256 stakeBefore = registry.provider(p1, role).stake;
        uint256 changedBefore = registry.provider(p1, role).stakeChangedAt;
        vm.roll(block.number + 1);
        vm.prank(layer);
        uint256 slashed = registry.slash(p1, role, amount, sink);

        uint256 available = stake - lockB; // everything but the other layer's lock
        assertEq(slashed, amount < available ? amount : available);
        IProviderRegistry.Provider memory p = registry.provider(p1, role);
        assertEq(token.balanceOf(address(registry)), uint256(p.stake) + p.unbonding);
        assertEq(token.balanceOf(sink), slashed);
        assertEq(registry.lockedBy(p1, role, otherLayer), lockB, "other layer's lock untouched");
        assertGe(p.stake, p.locked);
        assertEq(p.locked, registry.lockedBy(p1, role, layer) + lockB);
        assertEq(p.stakeChangedAt, p.stake != stakeBefore ? block.number : changedBefore, "stakeChangedAt");
    }
}
