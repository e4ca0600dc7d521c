// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {console} from "forge-std/Test.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IMemoryRegistry} from "../../contracts/interfaces/IMemoryRegistry.sol";
import {IProviderRegistry} from "../../contracts/interfaces/IProviderRegistry.sol";
import {MemoryRegistry} from "../../contracts/memory/MemoryRegistry.sol";
import {MemoryProof} from "../../contracts/libraries/MemoryProof.sol";
import {DaiosToken} from "../../contracts/token/DaiosToken.sol";
import {MemoryFixture} from "./MemoryRegistryFixture.t.sol";

/// @dev Exposes the library's internal functions, so that reverts surface at a call boundary.
contract MemoryProofHarness {
    function verify(bytes32 root, bytes32 keyHash, IMemoryRegistry.Proof memory proof)
        external
        pure
        returns (bool, IMemoryRegistry.Leaf memory)
    {
        return MemoryProof.verify(root, keyHash, proof);
    }

    function decode(bytes memory encoded) external pure returns (IMemoryRegistry.Proof memory) {
        return MemoryProof.decode(encoded);
    }

    function encode(IMemoryRegistry.Proof memory proof) external pure returns (bytes memory) {
        return MemoryProof.encode(proof);
    }
}

contract MemoryRegistryTest is MemoryFixture {
    // Key hashes chosen by their path bits (most significant first).
    bytes32 internal constant KA = bytes32(uint256(1)); // 0000...0001
    bytes32 internal constant KE = bytes32(uint256(1) << 252); // 0001 0000...
    bytes32 internal constant KB = bytes32(uint256(1) << 255); // 1000...
    bytes32 internal constant KC = bytes32(uint256(1) << 254); // 0100...: absent, empty terminal in _tree()
    bytes32 internal constant KD = bytes32(uint256(3) << 254); // 1100...: absent, KB's leaf terminal in _tree()
    bytes32 internal constant V1 = keccak256("v1");
    bytes32 internal constant V2 = keccak256("v2");

    MemoryProofHarness internal lib;

    function setUp() public override {
        super.setUp();
        lib = new MemoryProofHarness();
    }

    /// @dev KA written at seq `seqA` with `valueA`, KE at 1, KB at 2.
    function _tree(uint64 seqA, bytes32 valueA) internal pure returns (IMemoryRegistry.Leaf[] memory) {
        return _leaves3(_leaf(KA, valueA, seqA, 1), _leaf(KE, V2, 1, 1), _leaf(KB, V2, 2, 1));
    }

    // ------------------------------------------------------------------ construction and configuration

    function test_Constructor_SetsViews() public view {
        assertEq(mem.token(), address(token));
        assertEq(mem.providerRegistry(), address(registry));
        assertEq(mem.memoryRole(), keccak256("daios.memory"));
        assertEq(mem.owner(), gov);
        IMemoryRegistry.Config memory c = mem.config();
        assertEq(c.streamCollateral, COLLATERAL);
        assertEq(c.checkpointWindow, WINDOW);
        assertEq(c.reporterBps, REPORTER_BPS);
        assertEq(mem.streamCount(), 0);
        assertEq(mem.MAX_WRITERS(), 64);
        assertEq(mem.MAX_KEY_BYTES(), 256);
        assertEq(mem.MAX_VALUE_BYTES(), 65_536);
        assertEq(mem.BPS(), BPS);
        assertEq(mem.WRITE_TYPEHASH(), keccak256("Write(uint256 stream,address writer,uint64 nonce,bytes32 opsHash)"));
        assertEq(
            mem.RECEIPT_TYPEHASH(), keccak256("Receipt(uint256 stream,uint64 seq,bytes32 entriesHash,uint64 issuedAt)")
        );
        assertEq(mem.ROOT_TYPEHASH(), keccak256("Root(uint256 stream,uint64 seq,bytes32 root)"));
    }

    function test_Constructor_Reverts() public {
        IMemoryRegistry.Config memory c = _config();
        vm.expectRevert(IMemoryRegistry.MemoryRegistryZeroAddress.selector);
        new MemoryRegistry(address(0), address(registry), gov, c);
        vm.expectRevert(IMemoryRegistry.MemoryRegistryZeroAddress.selector);
        new MemoryRegistry(address(token), address(0), gov, c);
        DaiosToken other = new DaiosToken(gov);
        vm.expectRevert(
            abi.encodeWithSelector(IMemoryRegistry.MemoryRegistryTokenMismatch.selector, address(other), address(token))
        );
        new MemoryRegistry(address(other), address(registry), gov, c);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new MemoryRegistry(address(token), address(registry), address(0), c);
    }

    function test_SetConfig_ValidatesAndEmits() public {
        IMemoryRegistry.Config memory c = _config();
        c.streamCollateral = uint256(type(uint96).max) + 1;
        vm.expectRevert(
            abi.encodeWithSelector(IMemoryRegistry.MemoryRegistryInvalidConfig.selector, "streamCollateral", c.streamCollateral)
        );
        vm.prank(gov);
        mem.setConfig(c);
        c = _config();
        c.checkpointWindow = 0;
        vm.expectRevert(abi.encodeWithSelector(IMemoryRegistry.MemoryRegistryInvalidConfig.selector, "checkpointWindow", 0));
        vm.prank(gov);
        mem.setConfig(c);
        c.checkpointWindow = 30 days + 1;
        vm.expectRevert(
            abi.encodeWithSelector(IMemoryRegistry.MemoryRegistryInvalidConfig.selector, "checkpointWindow", 30 days + 1)
        );
        vm.prank(gov);
        mem.setConfig(c);
        c = _config();
        c.reporterBps = BPS + 1;
        vm.expectRevert(abi.encodeWithSelector(IMemoryRegistry.MemoryRegistryInvalidConfig.selector, "reporterBps", BPS + 1));
        vm.prank(gov);
        mem.setConfig(c);

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        mem.setConfig(_config());

        c = IMemoryRegistry.Config({streamCollateral: 0, checkpointWindow: 30 days, reporterBps: BPS});
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.ConfigSet(0, 30 days, BPS);
        vm.prank(gov);
        mem.setConfig(c);
        assertEq(mem.config().checkpointWindow, 30 days);
    }

    // ------------------------------------------------------------------ createStream

    function test_CreateStream_LocksCollateralPullsDepositAndListsWriters() public {
        address[] memory writers = new address[](3);
        writers[0] = writer;
        writers[1] = alice;
        writers[2] = writer; // listed once
        uint256 before = token.balanceOf(alice);
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.StreamCreated(1, alice, node, DEPOSIT, RATE, COLLATERAL, WINDOW);
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.WriterGranted(1, writer);
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.WriterGranted(1, alice);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.StakeLocked(node, memoryRole, address(mem), COLLATERAL);
        vm.prank(alice);
        uint256 stream = mem.createStream(node, writers, DEPOSIT, RATE);
        assertEq(stream, 1);
        assertEq(mem.streamCount(), 1);
        assertEq(token.balanceOf(alice), before - DEPOSIT);
        assertEq(token.balanceOf(address(mem)), DEPOSIT);
        assertEq(registry.lockedBy(node, memoryRole, address(mem)), COLLATERAL);

        IMemoryRegistry.StreamInfo memory s = mem.getStream(stream);
        assertEq(s.owner, alice);
        assertEq(s.node, node);
        assertEq(uint256(s.status), uint256(IMemoryRegistry.Status.Active));
        assertEq(s.createdAt, block.timestamp);
        assertEq(s.collateral, COLLATERAL);
        assertEq(s.checkpointWindow, WINDOW);
        assertEq(s.ratePerSecond, RATE);
        assertEq(s.balance, DEPOSIT);
        assertEq(s.settledAt, block.timestamp);
        assertEq(s.root, bytes32(0));
        assertEq(s.seq, 0);
        assertEq(s.checkpointCount, 0);
        assertTrue(mem.isWriter(stream, writer));
        assertTrue(mem.isWriter(stream, alice));
        assertFalse(mem.isWriter(stream, stranger));
        (bytes32 root, uint64 seq, uint64 timestamp, uint256 index) = mem.latestCheckpoint(stream);
        assertEq(root, bytes32(0));
        assertEq(seq + timestamp + index, 0);
        assertEq(_create(), 2, "ids count up");
    }

    function test_CreateStream_Reverts() public {
        address[] memory none = new address[](0);
        vm.startPrank(alice);
        vm.expectRevert(IMemoryRegistry.MemoryRegistryZeroAddress.selector);
        mem.createStream(address(0), none, DEPOSIT, RATE);
        vm.expectRevert(abi.encodeWithSelector(IMemoryRegistry.MemoryRegistryNodeNotActive.selector, stranger));
        mem.createStream(stranger, none, DEPOSIT, RATE);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryTooManyWriters.selector, 65, 64));
        mem.createStream(node, new address[](65), DEPOSIT, RATE);
        vm.expectRevert(IMemoryRegistry.MemoryRegistryZeroAddress.selector);
        mem.createStream(node, new address[](64), DEPOSIT, RATE);
        vm.expectRevert(IMemoryRegistry.MemoryRegistryZeroAmount.selector);
        mem.createStream(node, none, 0, RATE);
        vm.expectRevert(IMemoryRegistry.MemoryRegistryZeroRate.selector);
        mem.createStream(node, none, DEPOSIT, 0);
        uint256 huge = uint256(type(uint128).max) + 1;
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryAmountTooLarge.selector, huge));
        mem.createStream(node, none, huge, RATE);
        // Four streams lock all 20 of the node's stake; the fifth finds no free stake.
        for (uint256 i = 0; i < 4; ++i) {
            mem.createStream(node, none, DEPOSIT, RATE);
        }
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.ProviderRegistryInsufficientFreeStake.selector, COLLATERAL, 0)
        );
        mem.createStream(node, none, DEPOSIT, RATE);
        vm.stopPrank();
    }

    function test_CreateStream_WithoutCollateralLocksNothing() public {
        vm.prank(gov);
        mem.setConfig(IMemoryRegistry.Config({streamCollateral: 0, checkpointWindow: WINDOW, reporterBps: REPORTER_BPS}));
        uint256 stream = _create();
        assertEq(registry.lockedBy(node, memoryRole, address(mem)), 0);
        assertEq(mem.getStream(stream).collateral, 0);
        vm.prank(alice);
        mem.closeStream(stream);
        assertEq(uint256(_status(stream)), uint256(IMemoryRegistry.Status.Closed));
    }

    // ------------------------------------------------------------------ writers

    function test_Writers_GrantAndRevoke() public {
        uint256 stream = _create();
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.WriterGranted(stream, stranger);
        vm.prank(alice);
        mem.grantWriter(stream, stranger);
        assertTrue(mem.isWriter(stream, stranger));
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.WriterRevoked(stream, stranger);
        vm.prank(alice);
        mem.revokeWriter(stream, stranger);
        assertFalse(mem.isWriter(stream, stranger));
    }

    function test_Writers_Reverts() public {
        uint256 stream = _create();
        vm.expectRevert(_errA(IMemoryRegistry.MemoryRegistryNotOwner.selector, stream, writer));
        vm.prank(writer);
        mem.grantWriter(stream, stranger);
        vm.expectRevert(_errA(IMemoryRegistry.MemoryRegistryNotOwner.selector, stream, writer));
        vm.prank(writer);
        mem.revokeWriter(stream, writer);
        vm.startPrank(alice);
        vm.expectRevert(IMemoryRegistry.MemoryRegistryZeroAddress.selector);
        mem.grantWriter(stream, address(0));
        vm.expectRevert(_errA(IMemoryRegistry.MemoryRegistryWriterAlreadyGranted.selector, stream, writer));
        mem.grantWriter(stream, writer);
        vm.expectRevert(_errA(IMemoryRegistry.MemoryRegistryNotWriter.selector, stream, stranger));
        mem.revokeWriter(stream, stranger);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryUnknownStream.selector, 9));
        mem.grantWriter(9, stranger);
        mem.closeStream(stream);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemoryRegistry.MemoryRegistryStreamNotActive.selector, stream, IMemoryRegistry.Status.Closed
            )
        );
        mem.grantWriter(stream, stranger);
        vm.stopPrank();
        assertFalse(mem.isWriter(stream, writer), "a closed stream has no writers");
    }

    // ------------------------------------------------------------------ payment

    function test_Settle_CreditsEarningsUpToTheDeposit() public {
        uint256 stream = _create();
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryNothingToSettle.selector, stream));
        mem.settle(stream);
        skip(1000);
        assertEq(mem.earned(stream), 1000 * uint256(RATE));
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.EarningsSettled(stream, node, 1000 * uint256(RATE));
        vm.prank(stranger);
        assertEq(mem.settle(stream), 1000 * uint256(RATE));
        assertEq(mem.credits(node), 1000 * uint256(RATE));
        assertEq(mem.getStream(stream).balance, DEPOSIT - 1000 * uint256(RATE));
        assertEq(mem.earned(stream), 0);
        // The deposit lasts DEPOSIT / RATE = 100,000 s.
        skip(1_000_000);
        assertEq(mem.earned(stream), DEPOSIT - 1000 * uint256(RATE));
        mem.settle(stream);
        assertEq(mem.credits(node), DEPOSIT);
        assertEq(mem.getStream(stream).balance, 0);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryUnknownStream.selector, 7));
        mem.settle(7);
    }

    function test_TopUp_SettlesFirstAndAddsToTheDeposit() public {
        uint256 stream = _create();
        skip(200_000); // the deposit ran out after 100,000 s
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.EarningsSettled(stream, node, DEPOSIT);
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.StreamToppedUp(stream, 10e18, 10e18);
        vm.prank(alice);
        mem.topUp(stream, 10e18);
        assertEq(mem.earned(stream), 0, "the time without deposit is not owed");
        skip(10);
        assertEq(mem.earned(stream), 10 * uint256(RATE));
        assertEq(token.balanceOf(address(mem)), DEPOSIT + 10e18);

        vm.expectRevert(IMemoryRegistry.MemoryRegistryZeroAmount.selector);
        vm.prank(alice);
        mem.topUp(stream, 0);
        vm.expectRevert(_errA(IMemoryRegistry.MemoryRegistryNotOwner.selector, stream, stranger));
        vm.prank(stranger);
        mem.topUp(stream, 1);
        uint256 huge = uint256(type(uint128).max);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryAmountTooLarge.selector, huge + 10e18 - 10 * uint256(RATE)));
        vm.prank(alice);
        mem.topUp(stream, huge);
    }

    function testFuzz_Earned_IsRateTimesTimeCappedByDeposit(uint256 deposit, uint128 rate, uint32 elapsed) public {
        deposit = bound(deposit, 1, 1e30);
        rate = uint128(bound(rate, 1, 1e30));
        vm.prank(gov);
        token.mint(alice, deposit);
        vm.prank(alice);
        uint256 stream = mem.createStream(node, new address[](0), deposit, rate);
        skip(elapsed);
        uint256 expected = uint256(rate) * elapsed;
        if (expected > deposit) expected = deposit;
        assertEq(mem.earned(stream), expected);
        vm.prank(alice);
        mem.closeStream(stream);
        assertEq(mem.credits(node), expected);
        assertEq(mem.credits(alice), deposit - expected);
        assertEq(token.balanceOf(address(mem)), deposit);
    }

    function test_Withdraw_PaysCredits() public {
        uint256 stream = _create();
        skip(100);
        mem.settle(stream);
        uint256 before = token.balanceOf(node);
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.Withdrawn(node, 100 * uint256(RATE));
        vm.prank(node);
        mem.withdraw();
        assertEq(token.balanceOf(node), before + 100 * uint256(RATE));
        assertEq(mem.credits(node), 0);
        vm.expectRevert(abi.encodeWithSelector(IMemoryRegistry.MemoryRegistryNothingToWithdraw.selector, node));
        vm.prank(node);
        mem.withdraw();
    }

    // ------------------------------------------------------------------ closeStream

    function test_Close_ByOwnerRefundsAndKeepsTheCollateralForTheSlashingWindow() public {
        uint256 stream = _create();
        skip(1000);
        uint256 pay = 1000 * uint256(RATE);
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.EarningsSettled(stream, node, pay);
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.StreamClosed(stream, alice, DEPOSIT - pay, COLLATERAL);
        vm.recordLogs();
        vm.prank(alice);
        mem.closeStream(stream);
        assertEq(vm.getRecordedLogs().length, 2, "settled and closed; no stake unlocked");
        assertEq(uint256(_status(stream)), uint256(IMemoryRegistry.Status.Closed));
        assertEq(mem.credits(node), pay);
        assertEq(mem.credits(alice), DEPOSIT - pay);
        assertEq(mem.getStream(stream).balance, 0);
        assertEq(mem.earned(stream), 0);
        assertEq(registry.lockedBy(node, memoryRole, address(mem)), COLLATERAL);
        assertEq(mem.releasableAt(stream), block.timestamp + 2 * WINDOW);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemoryRegistry.MemoryRegistryStreamNotActive.selector, stream, IMemoryRegistry.Status.Closed
            )
        );
        vm.prank(alice);
        mem.closeStream(stream);
    }

    function test_Close_ByNodeOnlyOnceTheDepositIsSpent() public {
        uint256 stream = _create();
        skip(1000);
        vm.expectRevert(
            _err(IMemoryRegistry.MemoryRegistryDepositNotSpent.selector, stream, DEPOSIT - 1000 * uint256(RATE))
        );
        vm.prank(node);
        mem.closeStream(stream);
        vm.expectRevert(_errA(IMemoryRegistry.MemoryRegistryNotOwner.selector, stream, stranger));
        vm.prank(stranger);
        mem.closeStream(stream);
        skip(100_000);
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.StreamClosed(stream, node, 0, COLLATERAL);
        vm.prank(node);
        mem.closeStream(stream);
        assertEq(mem.credits(node), DEPOSIT);
        assertEq(registry.lockedBy(node, memoryRole, address(mem)), COLLATERAL);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryUnknownStream.selector, 5));
        mem.closeStream(5);
    }

    // ------------------------------------------------------------------ releaseCollateral

    function test_ReleaseCollateral_OnlyAfterTheSlashingWindowOnce() public {
        uint256 stream = _create();
        assertEq(mem.releasableAt(stream), 0, "an active stream");
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemoryRegistry.MemoryRegistryStreamNotClosed.selector, stream, IMemoryRegistry.Status.Active
            )
        );
        mem.releaseCollateral(stream);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryUnknownStream.selector, 9));
        mem.releaseCollateral(9);

        vm.prank(alice);
        mem.closeStream(stream);
        uint256 until = block.timestamp + 2 * WINDOW;
        skip(2 * WINDOW - 1);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistrySlashWindowOpen.selector, stream, until));
        mem.releaseCollateral(stream);
        assertEq(registry.lockedBy(node, memoryRole, address(mem)), COLLATERAL);

        skip(1);
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.CollateralReleased(stream, node, COLLATERAL);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.StakeUnlocked(node, memoryRole, address(mem), COLLATERAL);
        vm.prank(stranger);
        mem.releaseCollateral(stream);
        assertEq(registry.lockedBy(node, memoryRole, address(mem)), 0);
        assertEq(mem.getStream(stream).collateral, 0);
        assertEq(mem.releasableAt(stream), 0, "nothing left to release");
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryNothingToRelease.selector, stream));
        mem.releaseCollateral(stream);
        assertEq(uint256(_status(stream)), uint256(IMemoryRegistry.Status.Closed));
    }

    /// @dev A stream slashed for a receipt of seq 1 never checkpointed.
    function _slashedForLateness() internal returns (uint256 stream) {
        stream = _create();
        IMemoryRegistry.Receipt memory r = _receipt(stream, 1, _one(KA), _one(V1));
        bytes memory sig = _sign(NODE_KEY, _receiptDigest(r));
        skip(WINDOW + 1);
        mem.slashUncheckpointed(stream, r, sig);
    }

    function test_ReleaseCollateral_RefusesASlashedStream() public {
        uint256 stream = _slashedForLateness();
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemoryRegistry.MemoryRegistryStreamNotClosed.selector, stream, IMemoryRegistry.Status.Slashed
            )
        );
        mem.releaseCollateral(stream);
    }

    /// @dev The escape this window closes: the deposit runs out, the node closes the stream at once, and a
    ///      receipt it never checkpointed (or one a checkpoint contradicts) can still be slashed.
    function test_Slash_AClosedStreamWithinItsWindow() public {
        uint256 stream = _create();
        _checkpoint(stream, keccak256("root"), 2);
        skip(DEPOSIT / RATE);
        // A write acknowledged at the close, never checkpointed although the node could for one window.
        IMemoryRegistry.Receipt memory r = _receipt(stream, 3, _one(KA), _one(V1));
        bytes memory sig = _sign(NODE_KEY, _receiptDigest(r));
        vm.prank(node);
        mem.closeStream(stream);
        skip(WINDOW);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryNotLate.selector, stream, r.issuedAt + WINDOW));
        mem.slashUncheckpointed(stream, r, sig);
        skip(1);
        uint256 share = COLLATERAL * REPORTER_BPS / BPS;
        vm.expectEmit(address(registry));
        emit IProviderRegistry.StakeSlashed(node, memoryRole, address(mem), COLLATERAL, address(mem));
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.StreamSlashed(stream, reporter, IMemoryRegistry.SlashReason.Uncheckpointed, 3, COLLATERAL, share, 0);
        vm.prank(reporter);
        mem.slashUncheckpointed(stream, r, sig);
        assertEq(uint256(_status(stream)), uint256(IMemoryRegistry.Status.Slashed));
        assertEq(mem.credits(reporter), share);
        assertEq(mem.credits(alice), COLLATERAL - share);
        assertEq(mem.credits(node), DEPOSIT);
        assertEq(registry.lockedBy(node, memoryRole, address(mem)), 0);
        assertEq(token.balanceOf(address(mem)), DEPOSIT + COLLATERAL);
    }

    /// @dev A receipt the node signed for seq 3 (one put), then the owner closes the stream.
    function _receiptThenOwnerClose(uint256 stream)
        internal
        returns (IMemoryRegistry.Receipt memory r, bytes memory sig)
    {
        r = _receipt(stream, 3, _one(KA), _one(V1));
        sig = _sign(NODE_KEY, _receiptDigest(r));
        vm.prank(alice);
        mem.closeStream(stream);
    }

    /// @dev An honest node covers the writes it acknowledged up to the close within the window after it.
    function test_Slash_RefusedForAWriteCheckpointedAfterTheClose() public {
        uint256 stream = _create();
        (IMemoryRegistry.Receipt memory r, bytes memory sig) = _receiptThenOwnerClose(stream);
        skip(WINDOW - 10);
        _checkpoint(stream, keccak256("root"), 3);
        skip(11);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryReceiptCheckpointed.selector, stream, 3, 3));
        mem.slashUncheckpointed(stream, r, sig);
    }

    function test_Slash_AtTheLastSecondOfTheWindow() public {
        uint256 stream = _create();
        (IMemoryRegistry.Receipt memory r, bytes memory sig) = _receiptThenOwnerClose(stream);
        skip(2 * WINDOW - 1);
        vm.prank(reporter);
        mem.slashUncheckpointed(stream, r, sig);
        assertEq(uint256(_status(stream)), uint256(IMemoryRegistry.Status.Slashed));
        assertEq(registry.lockedBy(node, memoryRole, address(mem)), 0);
    }

    function test_Slash_NothingToSlashOnAClosedStreamWithoutCollateral() public {
        vm.prank(gov);
        mem.setConfig(IMemoryRegistry.Config({streamCollateral: 0, checkpointWindow: WINDOW, reporterBps: REPORTER_BPS}));
        uint256 stream = _create();
        (IMemoryRegistry.Receipt memory r, bytes memory sig) = _receiptThenOwnerClose(stream);
        assertEq(mem.releasableAt(stream), 0);
        skip(WINDOW + 1);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryNothingToSlash.selector, stream));
        mem.slashUncheckpointed(stream, r, sig);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryNothingToRelease.selector, stream));
        mem.releaseCollateral(stream);
    }

    function test_Slash_AContradictionOnAClosedStreamWithinItsWindow() public {
        Case memory c = _case(KA, V1, 3, _tree(2, V1), 3);
        vm.prank(alice);
        mem.closeStream(c.stream);
        vm.prank(reporter);
        _slash(c, 0);
        assertEq(uint256(_status(c.stream)), uint256(IMemoryRegistry.Status.Slashed));
        assertEq(mem.credits(reporter), COLLATERAL * REPORTER_BPS / BPS);
    }

    function test_Slash_RefusedOnceTheWindowIsOver() public {
        uint256 stream = _create();
        (IMemoryRegistry.Receipt memory r, bytes memory sig) = _receiptThenOwnerClose(stream);
        uint256 until = block.timestamp + 2 * WINDOW;
        skip(2 * WINDOW);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistrySlashWindowOver.selector, stream, until));
        mem.slashUncheckpointed(stream, r, sig);
        mem.releaseCollateral(stream);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistrySlashWindowOver.selector, stream, until));
        mem.slashUncheckpointed(stream, r, sig);
        assertEq(uint256(_status(stream)), uint256(IMemoryRegistry.Status.Closed));
    }

    // ------------------------------------------------------------------ checkpoint

    function test_Checkpoint_StoresHistoryAndEmits() public {
        uint256 stream = _create();
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.Checkpointed(stream, 0, bytes32(uint256(11)), 3, uint64(block.timestamp));
        vm.prank(node);
        mem.checkpoint(stream, bytes32(uint256(11)), 3);
        uint64 first = uint64(block.timestamp);
        skip(60);
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.Checkpointed(stream, 1, bytes32(uint256(22)), 4, uint64(block.timestamp));
        vm.prank(node);
        mem.checkpoint(stream, bytes32(uint256(22)), 4);

        (bytes32 root, uint64 seq, uint64 timestamp, uint256 index) = mem.latestCheckpoint(stream);
        assertEq(root, bytes32(uint256(22)));
        assertEq(seq, 4);
        assertEq(timestamp, block.timestamp);
        assertEq(index, 1);
        assertEq(mem.checkpointHash(stream, 0), keccak256(abi.encodePacked(bytes32(uint256(11)), uint64(3), first)));
        assertEq(
            mem.checkpointHash(stream, 1),
            keccak256(abi.encodePacked(bytes32(uint256(22)), uint64(4), uint64(block.timestamp)))
        );
        assertEq(mem.checkpointHash(stream, 2), bytes32(0));
        IMemoryRegistry.StreamInfo memory s = mem.getStream(stream);
        assertEq(s.checkpointCount, 2);
        assertEq(s.checkpointedAt, block.timestamp);
    }

    function test_Checkpoint_Reverts() public {
        uint256 stream = _create();
        vm.expectRevert(_errA(IMemoryRegistry.MemoryRegistryNotNode.selector, stream, alice));
        vm.prank(alice);
        mem.checkpoint(stream, bytes32(uint256(1)), 1);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryUnknownStream.selector, 2));
        vm.prank(node);
        mem.checkpoint(2, bytes32(uint256(1)), 1);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistrySeqNotIncreasing.selector, stream, 0, 0));
        vm.prank(node);
        mem.checkpoint(stream, bytes32(uint256(1)), 0);
        _checkpoint(stream, bytes32(uint256(1)), 5);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistrySeqNotIncreasing.selector, stream, 5, 5));
        vm.prank(node);
        mem.checkpoint(stream, bytes32(uint256(2)), 5);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistrySeqNotIncreasing.selector, stream, 4, 5));
        vm.prank(node);
        mem.checkpoint(stream, bytes32(uint256(2)), 4);
        vm.prank(alice);
        mem.closeStream(stream);
        // One window of grace after the close, then no more checkpoints.
        uint256 until = block.timestamp + WINDOW;
        skip(WINDOW - 1);
        vm.expectRevert(_errA(IMemoryRegistry.MemoryRegistryNotNode.selector, stream, alice));
        vm.prank(alice);
        mem.checkpoint(stream, bytes32(uint256(2)), 6);
        vm.prank(node);
        mem.checkpoint(stream, bytes32(uint256(2)), 6);
        assertEq(uint256(_status(stream)), uint256(IMemoryRegistry.Status.Closed), "still Closed");
        skip(1);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryCheckpointingOver.selector, stream, until));
        vm.prank(node);
        mem.checkpoint(stream, bytes32(uint256(3)), 7);
    }

    function test_Checkpoint_RefusedOnASlashedStream() public {
        uint256 stream = _slashedForLateness();
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemoryRegistry.MemoryRegistryStreamNotActive.selector, stream, IMemoryRegistry.Status.Slashed
            )
        );
        vm.prank(node);
        mem.checkpoint(stream, bytes32(uint256(2)), 2);
    }

    function test_Gas_RepeatedCheckpoint() public {
        uint256 stream = _create();
        _checkpoint(stream, keccak256("root 1"), 1);
        skip(60);
        bytes32 root = keccak256("root 2");
        vm.cool(address(mem));
        uint256 before = gasleft();
        vm.prank(node);
        mem.checkpoint(stream, root, 2);
        uint256 used = before - gasleft();
        uint256 intrinsic = _intrinsic(abi.encodeCall(mem.checkpoint, (stream, root, 2)));
        // The measured execution includes a cold access to the registry (2,600) that a real transaction, whose
        // target is warm from the start, does not pay.
        uint256 total = used + intrinsic - 2_600;
        console.log("checkpoint (repeated): execution gas", used, "+ intrinsic", intrinsic);
        console.log("  estimated transaction gas (memory.checkpoint.gas)", total);
        assertLe(total, 80_000, "repeated checkpoint within its budget");
    }

    // ------------------------------------------------------------------ snapshots

    function test_RecordSnapshot() public {
        uint256 stream = _create();
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryInvalidSnapshotSeq.selector, stream, 1, 0));
        vm.prank(node);
        mem.recordSnapshot(stream, 1, 77, 3);
        _checkpoint(stream, bytes32(uint256(1)), 5);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryInvalidSnapshotSeq.selector, stream, 0, 5));
        vm.prank(node);
        mem.recordSnapshot(stream, 0, 77, 3);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryInvalidSnapshotSeq.selector, stream, 6, 5));
        vm.prank(node);
        mem.recordSnapshot(stream, 6, 77, 3);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryZeroStorageRoot.selector, stream));
        vm.prank(node);
        mem.recordSnapshot(stream, 5, 0, 3);
        vm.expectRevert(_errA(IMemoryRegistry.MemoryRegistryNotNode.selector, stream, alice));
        vm.prank(alice);
        mem.recordSnapshot(stream, 5, 77, 3);

        vm.expectEmit(address(mem));
        emit IMemoryRegistry.SnapshotRecorded(stream, 5, 77, 3);
        vm.prank(node);
        mem.recordSnapshot(stream, 5, 77, 3);
        IMemoryRegistry.Snapshot memory snap = mem.latestSnapshot(stream);
        assertEq(snap.seq, 5);
        assertEq(snap.storageRoot, 77);
        assertEq(snap.dealId, 3);
        assertEq(snap.recordedAt, block.timestamp);
    }

    // ------------------------------------------------------------------ digests and hashes

    function test_Digests_MatchIndependentEncoding() public view {
        bytes32 ops = keccak256("ops");
        assertEq(
            mem.writeDigest(7, writer, 42, ops),
            _typed(
                keccak256(
                    abi.encode(
                        keccak256("Write(uint256 stream,address writer,uint64 nonce,bytes32 opsHash)"),
                        uint256(7),
                        writer,
                        uint64(42),
                        ops
                    )
                )
            )
        );
        IMemoryRegistry.Receipt memory r = IMemoryRegistry.Receipt({stream: 7, seq: 3, entriesHash: ops, issuedAt: 99});
        assertEq(mem.receiptDigest(7, 3, ops, 99), _receiptDigest(r));
        assertEq(
            mem.rootDigest(7, 3, ops),
            _typed(keccak256(abi.encode(keccak256("Root(uint256 stream,uint64 seq,bytes32 root)"), uint256(7), uint64(3), ops)))
        );
        assertEq(mem.opHash(1, KA, 0, -1), keccak256(abi.encode(uint8(1), KA, bytes32(0), int64(-1))));
        assertEq(mem.opsHash(_two(V1, V2)), keccak256(abi.encodePacked(V1, V2)));
        assertEq(mem.entriesHash(_two(KA, KB), _two(V1, V2)), keccak256(abi.encodePacked(KA, V1, KB, V2)));
        assertEq(mem.leafHash(_leaf(KA, V1, 3, 2)), keccak256(abi.encodePacked(bytes1(0), KA, V1, uint64(3), uint64(2))));
    }

    function test_EntriesHash_RevertsOnLengthMismatch() public {
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryEntriesLengthMismatch.selector, 2, 1));
        mem.entriesHash(_two(KA, KB), _one(V1));
    }

    // ------------------------------------------------------------------ proofs

    function test_Proof_Member() public view {
        IMemoryRegistry.Leaf[] memory leaves = _tree(3, V1);
        bytes32 root = _root(leaves);
        for (uint256 i = 0; i < leaves.length; ++i) {
            IMemoryRegistry.Proof memory p = _prove(leaves, leaves[i].keyHash);
            (bool member, IMemoryRegistry.Leaf memory leaf) = mem.proveLeaf(root, leaves[i].keyHash, p);
            assertTrue(member);
            assertEq(_hashLeaf(leaf), _hashLeaf(leaves[i]));
            (member, leaf) = mem.proveLeafEncoded(root, leaves[i].keyHash, lib.encode(p));
            assertTrue(member);
            assertEq(leaf.seq, leaves[i].seq);
            assertEq(leaf.version, leaves[i].version);
        }
        // KB sits alone under the root's right child: one sibling.
        assertEq(_prove(leaves, KB).siblings.length, 1);
    }

    function test_Proof_AbsentEmptyTerminal() public view {
        IMemoryRegistry.Leaf[] memory leaves = _tree(3, V1);
        IMemoryRegistry.Proof memory p = _prove(leaves, KC);
        assertFalse(p.hasLeaf, "KC's path ends in an empty subtree");
        assertEq(p.siblings.length, 2);
        (bool member, IMemoryRegistry.Leaf memory leaf) = mem.proveLeaf(_root(leaves), KC, p);
        assertFalse(member);
        assertEq(leaf.keyHash, bytes32(0));
        (member,) = mem.proveLeafEncoded(_root(leaves), KC, lib.encode(p));
        assertFalse(member);
    }

    function test_Proof_AbsentOtherLeaf() public view {
        IMemoryRegistry.Leaf[] memory leaves = _tree(3, V1);
        IMemoryRegistry.Proof memory p = _prove(leaves, KD);
        assertTrue(p.hasLeaf);
        assertEq(p.leaf.keyHash, KB);
        (bool member, IMemoryRegistry.Leaf memory leaf) = mem.proveLeaf(_root(leaves), KD, p);
        assertFalse(member);
        assertEq(leaf.keyHash, KB);
    }

    function test_Proof_EmptyAndSingleLeafTrees() public view {
        IMemoryRegistry.Proof memory p;
        (bool member,) = mem.proveLeaf(bytes32(0), KA, p);
        assertFalse(member, "the empty map holds nothing");
        IMemoryRegistry.Leaf[] memory one = _leaves1(_leaf(KA, V1, 1, 1));
        assertEq(_root(one), _hashLeaf(one[0]), "a single leaf is the root");
        (member,) = mem.proveLeaf(_root(one), KA, _prove(one, KA));
        assertTrue(member);
        (member,) = mem.proveLeaf(_root(one), KB, _prove(one, KB));
        assertFalse(member, "another key's leaf at depth 0");
        assertEq(_root(new IMemoryRegistry.Leaf[](0)), bytes32(0));
    }

    function test_Proof_RejectsWrongRootAndWrongSibling() public {
        IMemoryRegistry.Leaf[] memory leaves = _tree(3, V1);
        bytes32 root = _root(leaves);
        IMemoryRegistry.Proof memory p = _prove(leaves, KA);
        bytes32 wrongRoot = keccak256("other");
        vm.expectRevert(abi.encodeWithSelector(IMemoryRegistry.MemoryProofRootMismatch.selector, root, wrongRoot));
        mem.proveLeaf(wrongRoot, KA, p);
        p.siblings[0] = keccak256("forged");
        vm.expectPartialRevert(IMemoryRegistry.MemoryProofRootMismatch.selector);
        mem.proveLeaf(root, KA, p);
        // A non-empty root with the empty map's proof.
        IMemoryRegistry.Proof memory empty;
        vm.expectRevert(abi.encodeWithSelector(IMemoryRegistry.MemoryProofRootMismatch.selector, bytes32(0), root));
        mem.proveLeaf(root, KA, empty);
        // A leaf changed (value, seq or version) no longer hashes to the root.
        p = _prove(leaves, KA);
        p.leaf.version = 2;
        vm.expectPartialRevert(IMemoryRegistry.MemoryProofRootMismatch.selector);
        mem.proveLeaf(root, KA, p);
    }

    function test_Proof_RejectsLeafOffPath() public {
        IMemoryRegistry.Leaf[] memory leaves = _tree(3, V1);
        // KB's leaf presented at depth 1 on KA's side of the tree: it does not share KA's first bit.
        IMemoryRegistry.Proof memory p = _prove(leaves, KB);
        vm.expectRevert(abi.encodeWithSelector(IMemoryRegistry.MemoryProofLeafOffPath.selector, KA, KB, 1));
        mem.proveLeaf(_root(leaves), KA, p);
    }

    function test_Proof_FullDepthAndTooDeep() public {
        // Two keys that differ only in the last bit split at depth 255: their proofs have 256 siblings.
        bytes32 k0 = bytes32(uint256(2));
        bytes32 k1 = bytes32(uint256(3));
        IMemoryRegistry.Leaf[] memory leaves = _leaves2(_leaf(k0, V1, 1, 1), _leaf(k1, V2, 2, 1));
        bytes32 root = _root(leaves);
        IMemoryRegistry.Proof memory p = _prove(leaves, k1);
        assertEq(p.siblings.length, 256);
        (bool member,) = mem.proveLeaf(root, k1, p);
        assertTrue(member);
        (member,) = mem.proveLeafEncoded(root, k1, lib.encode(p));
        assertTrue(member);

        bytes32[] memory deeper = new bytes32[](257);
        for (uint256 i = 0; i < 256; ++i) {
            deeper[i] = p.siblings[i];
        }
        p.siblings = deeper;
        vm.expectRevert(_err(IMemoryRegistry.MemoryProofTooDeep.selector, 257));
        mem.proveLeaf(root, k1, p);
        bytes memory encoded = lib.encode(p);
        vm.expectRevert(_err(IMemoryRegistry.MemoryProofTooDeep.selector, 257));
        mem.proveLeafEncoded(root, k1, encoded);
    }

    function test_Proof_EncodingLayoutAndMalformed() public {
        IMemoryRegistry.Leaf[] memory leaves = _tree(3, V1);
        IMemoryRegistry.Proof memory p = _prove(leaves, KA);
        bytes memory encoded = lib.encode(p);
        uint256 d = p.siblings.length;
        assertEq(encoded.length, 32 * d + 80 + 3, "32 d + leaf + uint16 d + flag");
        assertEq(uint8(encoded[0]), 0);
        assertEq(uint8(encoded[1]), d);
        assertEq(uint8(encoded[2 + 32 * d]), 1);
        // seq and version big-endian at the end.
        assertEq(uint8(encoded[encoded.length - 9]), 3, "seq 3");
        assertEq(uint8(encoded[encoded.length - 1]), 1, "version 1");
        IMemoryRegistry.Proof memory back = lib.decode(encoded);
        assertEq(keccak256(abi.encode(back)), keccak256(abi.encode(p)));
        IMemoryRegistry.Proof memory absent = _prove(leaves, KC);
        bytes memory encodedAbsent = lib.encode(absent);
        assertEq(encodedAbsent.length, 32 * absent.siblings.length + 3);
        assertEq(keccak256(abi.encode(lib.decode(encodedAbsent))), keccak256(abi.encode(absent)));

        vm.expectRevert(_err(IMemoryRegistry.MemoryProofMalformed.selector, 2));
        mem.proveLeafEncoded(bytes32(0), KA, hex"0000");
        vm.expectRevert(_err(IMemoryRegistry.MemoryProofMalformed.selector, 34));
        mem.proveLeafEncoded(bytes32(0), KA, abi.encodePacked(uint16(1), bytes32(0)));
        vm.expectRevert(_err(IMemoryRegistry.MemoryProofInvalidFlag.selector, 2));
        mem.proveLeafEncoded(bytes32(0), KA, hex"000002");
        vm.expectRevert(_err(IMemoryRegistry.MemoryProofMalformed.selector, 4));
        mem.proveLeafEncoded(bytes32(0), KA, hex"00000000");
        vm.expectRevert(_err(IMemoryRegistry.MemoryProofMalformed.selector, encoded.length - 1));
        mem.proveLeafEncoded(_root(leaves), KA, _trim(encoded));
        (bool member,) = mem.proveLeafEncoded(bytes32(0), KA, hex"000000");
        assertFalse(member, "d = 0, no leaf: the empty map");
    }

    /// @dev Random sets of up to four distinct keys: every key proves membership, any other key absence, by the
    ///      library, the registry and the wire encoding alike.
    function testFuzz_Proof_BuiltTreesVerify(bytes32[4] memory keys, uint8 count, bytes32 probe) public view {
        count = uint8(bound(count, 1, 4));
        IMemoryRegistry.Leaf[] memory leaves = new IMemoryRegistry.Leaf[](count);
        for (uint256 i = 0; i < count; ++i) {
            for (uint256 j = 0; j < i; ++j) {
                vm.assume(keys[i] != keys[j]);
            }
            leaves[i] = _leaf(keys[i], keccak256(abi.encode(i)), uint64(i + 1), uint64(i + 2));
        }
        bytes32 root = _root(leaves);
        for (uint256 i = 0; i < count; ++i) {
            (bool member, IMemoryRegistry.Leaf memory leaf) = lib.verify(root, keys[i], _prove(leaves, keys[i]));
            assertTrue(member);
            assertEq(leaf.seq, i + 1);
        }
        bool isMember;
        for (uint256 i = 0; i < count; ++i) {
            if (keys[i] == probe) isMember = true;
        }
        IMemoryRegistry.Proof memory p = _prove(leaves, probe);
        (bool m1,) = mem.proveLeaf(root, probe, p);
        (bool m2,) = mem.proveLeafEncoded(root, probe, lib.encode(p));
        assertEq(m1, isMember);
        assertEq(m2, isMember);
    }

    function _trim(bytes memory b) internal pure returns (bytes memory out) {
        out = new bytes(b.length - 1);
        for (uint256 i = 0; i < out.length; ++i) {
            out[i] = b[i];
        }
    }

    // ------------------------------------------------------------------ slashing: contradiction

    struct Case {
        uint256 stream;
        IMemoryRegistry.Receipt receipt;
        bytes signature;
        bytes32[] keyHashes;
        bytes32[] valueHashes;
        IMemoryRegistry.Checkpoint posted;
        IMemoryRegistry.Proof proof;
    }

    /// @dev A stream whose node signed a receipt of (key -> value) at `receiptSeq` and then checkpointed `leaves`
    ///      at `checkpointSeq`; the proof is for `key`.
    function _case(
        bytes32 key,
        bytes32 value,
        uint64 receiptSeq,
        IMemoryRegistry.Leaf[] memory leaves,
        uint64 checkpointSeq
    ) internal returns (Case memory c) {
        c.stream = _create();
        c.keyHashes = _one(key);
        c.valueHashes = _one(value);
        c.receipt = _receipt(c.stream, receiptSeq, c.keyHashes, c.valueHashes);
        c.signature = _sign(NODE_KEY, _receiptDigest(c.receipt));
        skip(30);
        c.posted = _checkpoint(c.stream, _root(leaves), checkpointSeq);
        c.proof = _prove(leaves, key);
        skip(100);
    }

    function _copy(Case memory c) internal pure returns (Case memory d) {
        d.stream = c.stream;
        d.receipt = c.receipt;
        d.signature = c.signature;
        d.keyHashes = c.keyHashes;
        d.valueHashes = c.valueHashes;
        d.posted = c.posted;
        d.proof = c.proof;
    }

    function _slash(Case memory c, uint256 index) internal {
        mem.slashContradiction(
            c.stream, c.receipt, c.signature, c.keyHashes, c.valueHashes, index, c.posted, c.proof
        );
    }

    // ------------------------------------------------------------------ slashing: a signed root

    function _rootDigest(uint256 stream, uint64 seq, bytes32 root) internal view returns (bytes32) {
        return _typed(keccak256(abi.encode(keccak256("Root(uint256 stream,uint64 seq,bytes32 root)"), stream, seq, root)));
    }

    /// @dev A stream whose node receipted (KA -> V1) at seq 3 and then signed (not posted) a root of `leaves` at `rootSeq`.
    function _signedCase(IMemoryRegistry.Leaf[] memory leaves, uint64 rootSeq, uint256 rootKey)
        internal
        returns (Case memory c, IMemoryRegistry.SignedRoot memory signed)
    {
        c.stream = _create();
        c.keyHashes = _one(KA);
        c.valueHashes = _one(V1);
        c.receipt = _receipt(c.stream, 3, c.keyHashes, c.valueHashes);
        c.signature = _sign(NODE_KEY, _receiptDigest(c.receipt));
        c.proof = _prove(leaves, KA);
        bytes32 root = _root(leaves);
        signed = IMemoryRegistry.SignedRoot({root: root, seq: rootSeq, signature: _sign(rootKey, _rootDigest(c.stream, rootSeq, root))});
        skip(130);
    }

    function _slashSigned(Case memory c, IMemoryRegistry.SignedRoot memory signed) internal {
        mem.slashSignedRoot(c.stream, c.receipt, c.signature, c.keyHashes, c.valueHashes, 0, signed, c.proof);
    }

    function test_SlashSignedRoot_AnOlderWriteUnderASignedRoot() public {
        (Case memory c, IMemoryRegistry.SignedRoot memory signed) = _signedCase(_tree(2, V1), 4, NODE_KEY);
        _expectSlashed(c, IMemoryRegistry.SlashReason.SignedRoot);
        vm.prank(reporter);
        _slashSigned(c, signed);
        _assertSlashed(c);
    }

    function test_SlashSignedRoot_RefusesAnotherSignerAnEarlierSeqAndAgreement() public {
        (Case memory c, IMemoryRegistry.SignedRoot memory signed) = _signedCase(_tree(2, V1), 4, 0xbad);
        vm.expectRevert(
            abi.encodeWithSelector(IMemoryRegistry.MemoryRegistryWrongSigner.selector, c.stream, vm.addr(0xbad), node)
        );
        _slashSigned(c, signed);

        (c, signed) = _signedCase(_tree(2, V1), 2, NODE_KEY);
        vm.expectRevert(
            abi.encodeWithSelector(IMemoryRegistry.MemoryRegistryCheckpointBeforeReceipt.selector, c.stream, 2, 3)
        );
        _slashSigned(c, signed);

        (c, signed) = _signedCase(_tree(3, V1), 3, NODE_KEY);
        vm.expectRevert(abi.encodeWithSelector(IMemoryRegistry.MemoryRegistryNoContradiction.selector, c.stream, KA));
        _slashSigned(c, signed);

        signed.signature = hex"00";
        vm.expectRevert(abi.encodeWithSelector(IMemoryRegistry.MemoryRegistryInvalidSignature.selector, c.stream));
        _slashSigned(c, signed);
        assertEq(uint256(_status(c.stream)), uint256(IMemoryRegistry.Status.Active));
    }

    function _expectSlashed(Case memory c, IMemoryRegistry.SlashReason reason) internal {
        uint256 pay = 130 * uint256(RATE);
        uint256 share = COLLATERAL * REPORTER_BPS / BPS;
        vm.expectEmit(address(registry));
        emit IProviderRegistry.StakeSlashed(node, memoryRole, address(mem), COLLATERAL, address(mem));
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.StreamSlashed(c.stream, reporter, reason, c.receipt.seq, COLLATERAL, share, DEPOSIT - pay);
    }

    function _assertSlashed(Case memory c) internal view {
        uint256 pay = 130 * uint256(RATE);
        uint256 share = COLLATERAL * REPORTER_BPS / BPS;
        assertEq(uint256(_status(c.stream)), uint256(IMemoryRegistry.Status.Slashed));
        assertEq(mem.credits(reporter), share);
        assertEq(mem.credits(alice), DEPOSIT - pay + COLLATERAL - share);
        assertEq(mem.credits(node), pay);
        assertEq(registry.getProvider(node, memoryRole).stake, NODE_STAKE - COLLATERAL);
        assertEq(registry.lockedBy(node, memoryRole, address(mem)), 0);
        assertEq(token.balanceOf(address(mem)), DEPOSIT + COLLATERAL);
        assertFalse(mem.isWriter(c.stream, writer));
    }

    function test_SlashContradiction_KeyAbsentEmptyTerminal() public {
        Case memory c = _case(KC, V1, 3, _tree(2, V1), 3);
        assertFalse(c.proof.hasLeaf);
        _expectSlashed(c, IMemoryRegistry.SlashReason.Contradiction);
        vm.prank(reporter);
        _slash(c, 0);
        _assertSlashed(c);
    }

    function test_SlashContradiction_KeyAbsentOtherLeaf() public {
        Case memory c = _case(KD, V1, 3, _tree(2, V1), 4);
        assertEq(c.proof.leaf.keyHash, KB);
        _expectSlashed(c, IMemoryRegistry.SlashReason.Contradiction);
        vm.prank(reporter);
        _slash(c, 0);
        _assertSlashed(c);
    }

    function test_SlashContradiction_OlderWrite() public {
        Case memory c = _case(KA, V1, 3, _tree(2, V1), 3);
        _expectSlashed(c, IMemoryRegistry.SlashReason.Contradiction);
        vm.prank(reporter);
        _slash(c, 0);
        _assertSlashed(c);
    }

    function test_SlashContradiction_SameSeqOtherValue() public {
        Case memory c = _case(KA, V1, 3, _tree(3, V2), 3);
        _expectSlashed(c, IMemoryRegistry.SlashReason.Contradiction);
        vm.prank(reporter);
        _slash(c, 0);
        _assertSlashed(c);
    }

    function test_SlashContradiction_TombstoneContradictsAPut() public {
        Case memory c = _case(KA, V1, 3, _tree(3, bytes32(0)), 3);
        vm.prank(reporter);
        _slash(c, 0);
        assertEq(uint256(_status(c.stream)), uint256(IMemoryRegistry.Status.Slashed));
    }

    function test_SlashContradiction_RefusesLaterWriteAndAgreement() public {
        Case memory c = _case(KA, V1, 3, _tree(5, V2), 5);
        vm.expectRevert(abi.encodeWithSelector(IMemoryRegistry.MemoryRegistryNoContradiction.selector, c.stream, KA));
        vm.prank(reporter);
        _slash(c, 0);
        Case memory ok = _case(KA, V1, 3, _tree(3, V1), 3);
        vm.expectRevert(abi.encodeWithSelector(IMemoryRegistry.MemoryRegistryNoContradiction.selector, ok.stream, KA));
        vm.prank(reporter);
        _slash(ok, 0);
        assertEq(uint256(_status(ok.stream)), uint256(IMemoryRegistry.Status.Active));
    }

    function test_SlashContradiction_BatchUsesTheKeysLastOp() public {
        // One request put KA -> V2 then KA -> V1: the tree holds V1 at the request's seq.
        uint256 stream = _create();
        bytes32[] memory keys = _two(KA, KA);
        bytes32[] memory values = _two(V2, V1);
        IMemoryRegistry.Receipt memory r = _receipt(stream, 3, keys, values);
        bytes memory sig = _sign(NODE_KEY, _receiptDigest(r));
        IMemoryRegistry.Leaf[] memory leaves = _tree(3, V1);
        IMemoryRegistry.Checkpoint memory posted = _checkpoint(stream, _root(leaves), 3);
        IMemoryRegistry.Proof memory p = _prove(leaves, KA);
        for (uint256 i = 0; i < 2; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IMemoryRegistry.MemoryRegistryNoContradiction.selector, stream, KA));
            mem.slashContradiction(stream, r, sig, keys, values, i, posted, p);
        }
        // The same request in the other order promised V2, which the tree does not hold.
        keys = _two(KA, KA);
        values = _two(V1, V2);
        r = _receipt(stream, 3, keys, values);
        sig = _sign(NODE_KEY, _receiptDigest(r));
        mem.slashContradiction(stream, r, sig, keys, values, 0, posted, p);
        assertEq(uint256(_status(stream)), uint256(IMemoryRegistry.Status.Slashed));
    }

    function test_SlashContradiction_NodeReportingItselfEarnsNoBounty() public {
        Case memory c = _case(KC, V1, 3, _tree(2, V1), 3);
        vm.prank(node);
        _slash(c, 0);
        assertEq(mem.credits(node), 130 * uint256(RATE), "earnings only");
        assertEq(mem.credits(alice), DEPOSIT - 130 * uint256(RATE) + COLLATERAL);
    }

    function test_SlashContradiction_RevertsOnBadReceipt() public {
        Case memory c = _case(KC, V1, 3, _tree(2, V1), 3);
        // Signed by another key.
        Case memory bad = _copy(c);
        bad.signature = _sign(OTHER_KEY, _receiptDigest(c.receipt));
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemoryRegistry.MemoryRegistryWrongSigner.selector, c.stream, vm.addr(OTHER_KEY), node
            )
        );
        _slash(bad, 0);
        // Malformed signature.
        bad.signature = hex"1234";
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryInvalidSignature.selector, c.stream));
        _slash(bad, 0);
        // A receipt changed after signing recovers another address.
        bad.signature = c.signature;
        bad.receipt = IMemoryRegistry.Receipt(c.stream, 4, c.receipt.entriesHash, c.receipt.issuedAt);
        vm.expectPartialRevert(IMemoryRegistry.MemoryRegistryWrongSigner.selector);
        _slash(bad, 0);
        // Receipt of another stream.
        bad.receipt = IMemoryRegistry.Receipt(c.stream + 1, 3, c.receipt.entriesHash, c.receipt.issuedAt);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryReceiptWrongStream.selector, c.stream, c.stream + 1));
        _slash(bad, 0);
        // Seq zero.
        bad.receipt = IMemoryRegistry.Receipt(c.stream, 0, c.receipt.entriesHash, c.receipt.issuedAt);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryReceiptSeqZero.selector, c.stream));
        _slash(bad, 0);
        // Unknown stream.
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryUnknownStream.selector, 99));
        mem.slashContradiction(99, c.receipt, c.signature, c.keyHashes, c.valueHashes, 0, c.posted, c.proof);
    }

    function test_SlashContradiction_RevertsOnBadEntries() public {
        Case memory c = _case(KC, V1, 3, _tree(2, V1), 3);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryEntryIndexOutOfRange.selector, 1, 1));
        _slash(c, 1);
        Case memory bad = _copy(c);
        bad.valueHashes = _two(V1, V2);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryEntriesLengthMismatch.selector, 1, 2));
        _slash(bad, 0);
        bad.keyHashes = new bytes32[](0);
        bad.valueHashes = new bytes32[](0);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryInvalidEntryCount.selector, 0, 1024));
        _slash(bad, 0);
        bad.keyHashes = new bytes32[](1025);
        bad.valueHashes = new bytes32[](1025);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryInvalidEntryCount.selector, 1025, 1024));
        _slash(bad, 0);
        bad.keyHashes = _one(KC);
        bad.valueHashes = _one(V2);
        bytes32 computed = keccak256(abi.encodePacked(KC, V2));
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemoryRegistry.MemoryRegistryEntriesHashMismatch.selector, computed, c.receipt.entriesHash
            )
        );
        _slash(bad, 0);
    }

    function test_SlashContradiction_RevertsOnBadCheckpointOrProof() public {
        Case memory c = _case(KC, V1, 3, _tree(2, V1), 3);
        Case memory bad = _copy(c);
        bad.posted = IMemoryRegistry.Checkpoint(1, c.posted.root, c.posted.seq, c.posted.timestamp);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryUnknownCheckpoint.selector, c.stream, 1, 1));
        _slash(bad, 0);
        // A forged root (say, one without the key) is not the posted checkpoint.
        bad.posted = IMemoryRegistry.Checkpoint(0, keccak256("forged"), c.posted.seq, c.posted.timestamp);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryCheckpointMismatch.selector, c.stream, 0));
        _slash(bad, 0);
        bad.posted = IMemoryRegistry.Checkpoint(0, c.posted.root, c.posted.seq, c.posted.timestamp + 1);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryCheckpointMismatch.selector, c.stream, 0));
        _slash(bad, 0);
        // A proof that does not verify against the posted root.
        bad.posted = c.posted;
        bad.proof = _prove(_tree(2, V1), KA);
        vm.expectRevert(abi.encodeWithSelector(IMemoryRegistry.MemoryProofLeafOffPath.selector, KC, KA, 4));
        _slash(bad, 0);
        bad.proof = _prove(_tree(2, V1), KC);
        bad.proof.siblings[1] = keccak256("wrong sibling");
        vm.expectPartialRevert(IMemoryRegistry.MemoryProofRootMismatch.selector);
        _slash(bad, 0);

        // A checkpoint before the receipt's seq cannot contain its write.
        uint256 stream = c.stream;
        IMemoryRegistry.Receipt memory later = _receipt(stream, 9, c.keyHashes, c.valueHashes);
        bytes memory sig = _sign(NODE_KEY, _receiptDigest(later));
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryCheckpointBeforeReceipt.selector, stream, 3, 9));
        mem.slashContradiction(stream, later, sig, c.keyHashes, c.valueHashes, 0, c.posted, c.proof);

        // Once slashed, the stream is final.
        _slash(c, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemoryRegistry.MemoryRegistryStreamNotActive.selector, stream, IMemoryRegistry.Status.Slashed
            )
        );
        _slash(c, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemoryRegistry.MemoryRegistryStreamNotActive.selector, stream, IMemoryRegistry.Status.Slashed
            )
        );
        vm.prank(node);
        mem.checkpoint(stream, bytes32(uint256(1)), 10);
    }

    function test_SlashContradiction_AnOlderCheckpointStillCounts() public {
        // The contradicting checkpoint is not the latest: history keeps it presentable.
        Case memory c = _case(KC, V1, 3, _tree(2, V1), 3);
        _checkpoint(c.stream, keccak256("later root"), 4);
        vm.prank(reporter);
        _slash(c, 0);
        assertEq(uint256(_status(c.stream)), uint256(IMemoryRegistry.Status.Slashed));
    }

    // ------------------------------------------------------------------ slashing: lateness

    function test_SlashUncheckpointed_AfterTheWindow() public {
        uint256 stream = _create();
        IMemoryRegistry.Receipt memory r = _receipt(stream, 3, _one(KA), _one(V1));
        bytes memory sig = _sign(NODE_KEY, _receiptDigest(r));
        _checkpoint(stream, keccak256("root"), 2);
        skip(WINDOW);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryNotLate.selector, stream, r.issuedAt + WINDOW));
        mem.slashUncheckpointed(stream, r, sig);
        skip(1);
        uint256 pay = (WINDOW + 1) * uint256(RATE);
        uint256 share = COLLATERAL * REPORTER_BPS / BPS;
        vm.expectEmit(address(mem));
        emit IMemoryRegistry.StreamSlashed(
            stream, reporter, IMemoryRegistry.SlashReason.Uncheckpointed, 3, COLLATERAL, share, DEPOSIT - pay
        );
        vm.prank(reporter);
        mem.slashUncheckpointed(stream, r, sig);
        assertEq(uint256(_status(stream)), uint256(IMemoryRegistry.Status.Slashed));
        assertEq(mem.credits(reporter), share);
        assertEq(mem.credits(alice), DEPOSIT - pay + COLLATERAL - share);
        assertEq(mem.credits(node), pay);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemoryRegistry.MemoryRegistryStreamNotActive.selector, stream, IMemoryRegistry.Status.Slashed
            )
        );
        mem.slashUncheckpointed(stream, r, sig);
    }

    function test_SlashUncheckpointed_RefusedWhenCheckpointedOrBadReceipt() public {
        uint256 stream = _create();
        IMemoryRegistry.Receipt memory r = _receipt(stream, 3, _one(KA), _one(V1));
        bytes memory sig = _sign(NODE_KEY, _receiptDigest(r));
        _checkpoint(stream, keccak256("root"), 3);
        skip(WINDOW + 1);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryReceiptCheckpointed.selector, stream, 3, 3));
        mem.slashUncheckpointed(stream, r, sig);
        IMemoryRegistry.Receipt memory r4 = _receipt(stream, 4, _one(KA), _one(V1));
        r4.issuedAt = r.issuedAt;
        vm.expectRevert(
            abi.encodeWithSelector(IMemoryRegistry.MemoryRegistryWrongSigner.selector, stream, vm.addr(OTHER_KEY), node)
        );
        mem.slashUncheckpointed(stream, r4, _sign(OTHER_KEY, _receiptDigest(r4)));
        uint256 other = _create();
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryReceiptWrongStream.selector, other, stream));
        mem.slashUncheckpointed(other, r4, sig);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryUnknownStream.selector, 99));
        mem.slashUncheckpointed(99, r4, sig);
    }

    function test_SlashUncheckpointed_UsesTheWindowOfTheStreamsCreation() public {
        uint256 stream = _create();
        vm.prank(gov);
        mem.setConfig(IMemoryRegistry.Config({streamCollateral: COLLATERAL, checkpointWindow: 10, reporterBps: REPORTER_BPS}));
        IMemoryRegistry.Receipt memory r = _receipt(stream, 1, _one(KA), _one(V1));
        bytes memory sig = _sign(NODE_KEY, _receiptDigest(r));
        skip(11);
        vm.expectRevert(_err(IMemoryRegistry.MemoryRegistryNotLate.selector, stream, r.issuedAt + WINDOW));
        mem.slashUncheckpointed(stream, r, sig);
    }

    function test_Slash_ReporterShareFollowsTheConfig() public {
        vm.prank(gov);
        mem.setConfig(IMemoryRegistry.Config({streamCollateral: COLLATERAL, checkpointWindow: WINDOW, reporterBps: BPS}));
        uint256 stream = _create();
        IMemoryRegistry.Receipt memory r = _receipt(stream, 1, _one(KA), _one(V1));
        bytes memory sig = _sign(NODE_KEY, _receiptDigest(r));
        skip(WINDOW + 1);
        vm.prank(reporter);
        mem.slashUncheckpointed(stream, r, sig);
        assertEq(mem.credits(reporter), COLLATERAL);
        vm.prank(reporter);
        mem.withdraw();
        assertEq(mem.credits(reporter), 0);
    }
}

/// @notice Differential test on the vectors the TypeScript reference writes (test/vectors/memory.json): leaf
///         hashes, tree roots (rebuilt here by the spec's rules) and every proof, given as a struct and in the
///         wire encoding, verify with the kind (member or absent) the reference gives.
contract MemoryRegistryVectorsTest is MemoryFixture {
    string internal constant VECTORS = "test/vectors/memory.json";

    function _p(string memory prefix, string memory key) internal pure returns (string memory) {
        return string.concat(prefix, key);
    }

    function _jsonLeaf(string memory json, string memory at) internal pure returns (IMemoryRegistry.Leaf memory) {
        return IMemoryRegistry.Leaf({
            keyHash: vm.parseJsonBytes32(json, _p(at, ".keyHash")),
            valueHash: vm.parseJsonBytes32(json, _p(at, ".valueHash")),
            seq: uint64(vm.parseJsonUint(json, _p(at, ".seq"))),
            version: uint64(vm.parseJsonUint(json, _p(at, ".version")))
        });
    }

    function test_Vectors_LeafHashes() public view {
        string memory json = vm.readFile(VECTORS);
        uint256 i;
        for (; vm.keyExistsJson(json, string.concat(".leafHashes[", vm.toString(i), "]")); ++i) {
            string memory at = string.concat(".leafHashes[", vm.toString(i), "]");
            IMemoryRegistry.Leaf memory leaf = _jsonLeaf(json, at);
            bytes32 expected = vm.parseJsonBytes32(json, _p(at, ".hash"));
            assertEq(mem.leafHash(leaf), expected, at);
            assertEq(_hashLeaf(leaf), expected, at);
        }
        assertGt(i, 0, "no leaf vectors");
    }

    function test_Vectors_RootsAndProofs() public view {
        string memory json = vm.readFile(VECTORS);
        uint256 t;
        uint256 checked;
        for (; vm.keyExistsJson(json, string.concat(".trees[", vm.toString(t), "]")); ++t) {
            string memory tree = string.concat(".trees[", vm.toString(t), "]");
            bytes32 root = vm.parseJsonBytes32(json, _p(tree, ".root"));
            uint256 n;
            while (vm.keyExistsJson(json, string.concat(tree, ".leaves[", vm.toString(n), "]"))) ++n;
            if (n <= 16) {
                IMemoryRegistry.Leaf[] memory leaves = new IMemoryRegistry.Leaf[](n);
                for (uint256 i = 0; i < n; ++i) {
                    leaves[i] = _jsonLeaf(json, string.concat(tree, ".leaves[", vm.toString(i), "]"));
                }
                assertEq(_root(leaves), root, string.concat(tree, ": root rebuilt by the spec's rules"));
            }
            for (uint256 k = 0; vm.keyExistsJson(json, string.concat(tree, ".proofs[", vm.toString(k), "]")); ++k) {
                _checkProof(json, root, string.concat(tree, ".proofs[", vm.toString(k), "]"));
                ++checked;
            }
        }
        assertGt(checked, 0, "no proof vectors");
    }

    function _checkProof(string memory json, bytes32 root, string memory at) internal view {
        bytes32 keyHash = vm.parseJsonBytes32(json, _p(at, ".keyHash"));
        IMemoryRegistry.Proof memory proof;
        proof.siblings = vm.parseJsonBytes32Array(json, _p(at, ".siblings"));
        proof.hasLeaf = vm.parseJsonBool(json, _p(at, ".hasLeaf"));
        if (proof.hasLeaf) proof.leaf = _jsonLeaf(json, _p(at, ".leaf"));
        bool member = keccak256(bytes(vm.parseJsonString(json, _p(at, ".kind")))) == keccak256("member");
        bytes memory encoded = vm.parseJsonBytes(json, _p(at, ".encoded"));
        assertEq(encoded.length, vm.parseJsonUint(json, _p(at, ".bytes")), at);

        (bool m1, IMemoryRegistry.Leaf memory l1) = mem.proveLeaf(root, keyHash, proof);
        (bool m2, IMemoryRegistry.Leaf memory l2) = mem.proveLeafEncoded(root, keyHash, encoded);
        assertEq(m1, member, at);
        assertEq(m2, member, at);
        assertEq(keccak256(abi.encode(l1)), keccak256(abi.encode(l2)), at);
        if (member) assertEq(l1.keyHash, keyHash, at);
    }
}
