// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Vm} from "forge-std/Test.sol";
import {DaConstants as C} from "../../contracts/generated/ProtocolConstants.sol";
import {BN254} from "../../contracts/libraries/BN254.sol";
import {QuorumSampling} from "../../contracts/libraries/QuorumSampling.sol";
import {IDARegistry} from "../../contracts/interfaces/IDARegistry.sol";
import {IBlockhashRandomness} from "../../contracts/interfaces/IBlockhashRandomness.sol";
import {DARegistry} from "../../contracts/da/DARegistry.sol";
import {DAFixture, TestG2} from "./DAFixture.t.sol";

contract DARegistryTest is DAFixture {
    // ------------------------------------------------------------------ registerKeys

    function test_RegisterKeys_StoresKeysAndIds() public view {
        assertEq(da.nodeCount(), QUORUM_SIZE);
        for (uint256 i = 0; i < QUORUM_SIZE; ++i) {
            assertEq(da.nodeIdOf(nodes[i]), i + 1, "ids follow registration order");
            IDARegistry.NodeInfo memory n = da.node(i + 1);
            assertEq(n.account, nodes[i]);
            assertEq(n.keysBlock, START);
            BN254.G1Point memory pk1 = BN254.mul(BN254.g1(), _sk(i));
            assertEq(n.pkG1.x, pk1.x);
            assertEq(n.pkG1.y, pk1.y);
            BN254.G2Point memory pk2 = TestG2.mulGen(_sk(i));
            assertEq(keccak256(abi.encode(n.pkG2)), keccak256(abi.encode(pk2)));
        }
        assertEq(da.nodeIdOf(client), 0);
    }

    function test_TestG2_MatchesGenerator() public view {
        BN254.G2Point memory g = BN254.g2();
        BN254.G2Point memory one = TestG2.mulGen(1);
        assertEq(keccak256(abi.encode(one)), keccak256(abi.encode(g)));
        // 2 * g2 pairs like g2 with 2 * g1: e(2 g1, -g2) e(g1, 2 g2) == 1.
        assertTrue(
            BN254.pairing2(BN254.negate(BN254.mul(BN254.g1(), 2)), g, BN254.g1(), TestG2.mulGen(2)), "2 g2"
        );
    }

    function test_RegisterKeys_EmitsEvent() public {
        address account = makeAddr("fresh");
        _fund(account);
        vm.prank(account);
        registry.register(daRole, MIN_STAKE, "https://da.example", 1);
        (BN254.G1Point memory pk1, BN254.G2Point memory pk2, BN254.G1Point memory pop) = _keys(account, 777);
        vm.expectEmit(address(da));
        emit IDARegistry.KeysRegistered(account, QUORUM_SIZE + 1, pk1, pk2);
        vm.prank(account);
        assertEq(da.registerKeys(pk1, pk2, pop), QUORUM_SIZE + 1);
    }

    function test_RegisterKeys_RevertsWhenNotActiveOrRegistered() public {
        address account = makeAddr("fresh");
        _fund(account);
        (BN254.G1Point memory pk1, BN254.G2Point memory pk2, BN254.G1Point memory pop) = _keys(account, 777);
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IDARegistry.DARegistryNotActive.selector, account));
        da.registerKeys(pk1, pk2, pop);

        (pk1, pk2, pop) = _keys(nodes[0], 777);
        vm.prank(nodes[0]);
        vm.expectRevert(abi.encodeWithSelector(IDARegistry.DARegistryKeysAlreadyRegistered.selector, nodes[0], 1));
        da.registerKeys(pk1, pk2, pop);
    }

    function test_RegisterKeys_RevertsOnBadKeysOrProof() public {
        address account = makeAddr("fresh");
        _fund(account);
        vm.prank(account);
        registry.register(daRole, MIN_STAKE, "https://da.example", 1);
        (BN254.G1Point memory pk1, BN254.G2Point memory pk2, BN254.G1Point memory pop) = _keys(account, 777);

        // A G1 key off the curve, or the point at infinity.
        vm.startPrank(account);
        vm.expectRevert(IDARegistry.DARegistryInvalidKey.selector);
        da.registerKeys(BN254.G1Point(pk1.x, pk1.y + 1), pk2, pop);
        vm.expectRevert(IDARegistry.DARegistryInvalidKey.selector);
        da.registerKeys(BN254.G1Point(0, 0), pk2, pop);
        // A G2 key off the twist.
        BN254.G2Point memory bad2 = BN254.G2Point(pk2.x1, pk2.x0, pk2.y1, pk2.y0 + 1);
        vm.expectRevert(IDARegistry.DARegistryInvalidKey.selector);
        da.registerKeys(pk1, bad2, pop);

        bytes memory invalidPop =
            abi.encodeWithSelector(IDARegistry.DARegistryInvalidProofOfPossession.selector, account);
        // pkG2 of another secret key (the G1 and G2 keys do not match). Precompile calls made while
        // building arguments would count as "the next call" of expectRevert, so build them first.
        BN254.G2Point memory otherPk2 = TestG2.mulGen(778);
        BN254.G1Point memory otherPk1 = BN254.mul(BN254.g1(), 778);
        (,, BN254.G1Point memory otherPop) = _keys(account, 778);
        vm.expectRevert(invalidPop);
        da.registerKeys(pk1, otherPk2, pop);
        // pkG1 of another secret key.
        vm.expectRevert(invalidPop);
        da.registerKeys(otherPk1, pk2, pop);
        // A proof of possession by another key, and one off the curve.
        vm.expectRevert(invalidPop);
        da.registerKeys(pk1, pk2, otherPop);
        vm.expectRevert(invalidPop);
        da.registerKeys(pk1, pk2, BN254.G1Point(pop.x, pop.y + 1));
        vm.stopPrank();

        // A proof of possession made for another account cannot be replayed.
        address other = makeAddr("other");
        _fund(other);
        vm.prank(other);
        registry.register(daRole, MIN_STAKE, "https://da.example", 1);
        vm.prank(other);
        vm.expectRevert(abi.encodeWithSelector(IDARegistry.DARegistryInvalidProofOfPossession.selector, other));
        da.registerKeys(pk1, pk2, pop);

        // The genuine one passes.
        vm.prank(account);
        da.registerKeys(pk1, pk2, pop);
    }

    // ------------------------------------------------------------------ sampleEpoch

    function test_SampleEpoch_MatchesLibraryAndStoresQuorum() public {
        vm.roll(START + 1);
        bytes32 seed = keccak256(abi.encode(blockhash(START), block.chainid, address(da), EPOCH));
        uint256[] memory weights = new uint256[](QUORUM_SIZE);
        for (uint256 i = 0; i < QUORUM_SIZE; ++i) {
            weights[i] = _stakeOf(i);
        }
        (uint256[] memory picks, uint256 size) = QuorumSampling.sample(seed, weights, 1, QUORUM_SIZE);
        assertEq(size, QUORUM_SIZE);

        vm.recordLogs();
        da.sampleEpoch(EPOCH);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        IDARegistry.EpochInfo memory e = da.epochInfo(EPOCH);
        assertTrue(e.sampled);
        assertEq(e.seed, seed);
        assertEq(e.quorumCount, 1);
        assertEq(e.quorumSize, QUORUM_SIZE);
        assertEq(e.candidates, QUORUM_SIZE);

        uint256[] memory ids = da.quorumMembers(EPOCH, 0);
        bytes32[] memory leaves = new bytes32[](size);
        BN254.G1Point memory apk = BN254.G1Point(0, 0);
        uint256 total;
        for (uint256 p = 0; p < size; ++p) {
            assertEq(ids[p], picks[p] + 1, "members in draw order");
            BN254.G1Point memory pk = BN254.mul(BN254.g1(), _sk(picks[p]));
            leaves[p] = QuorumSampling.memberLeaf(ids[p], pk.x, pk.y, weights[picks[p]]);
            apk = BN254.add(apk, pk);
            total += weights[picks[p]];
            (uint256 nodeId, address account) = da.memberAt(EPOCH, 0, p);
            assertEq(nodeId, ids[p]);
            assertEq(account, nodes[picks[p]]);
            (bool found, uint256 position) = da.positionOf(EPOCH, 0, ids[p]);
            assertTrue(found);
            assertEq(position, p);
        }
        IDARegistry.QuorumInfo memory q = da.quorum(EPOCH, 0);
        assertEq(q.apk.x, apk.x);
        assertEq(q.apk.y, apk.y);
        assertEq(q.totalWeight, total);
        assertEq(q.memberCount, size);
        assertEq(q.memberRoot, QuorumSampling.memberRoot(leaves));

        _checkSampledEvents(logs, q, ids, weights, picks);
        (bool absent,) = da.positionOf(EPOCH, 0, 999);
        assertFalse(absent);
    }

    /// @dev QuorumSampled with ids and weights, then EpochSampled.
    function _checkSampledEvents(
        Vm.Log[] memory logs,
        IDARegistry.QuorumInfo memory q,
        uint256[] memory ids,
        uint256[] memory weights,
        uint256[] memory picks
    ) internal pure {
        assertEq(logs.length, 2);
        assertEq(logs[0].topics[0], IDARegistry.QuorumSampled.selector);
        assertEq(uint256(logs[0].topics[1]), EPOCH);
        assertEq(uint256(logs[0].topics[2]), 0);
        (
            bytes32 root,
            BN254.G1Point memory apk,
            uint256 totalWeight,
            uint256[] memory evIds,
            uint256[] memory evWeights
        ) = abi.decode(logs[0].data, (bytes32, BN254.G1Point, uint256, uint256[], uint256[]));
        assertEq(root, q.memberRoot);
        assertEq(apk.x, q.apk.x);
        assertEq(totalWeight, q.totalWeight);
        assertEq(evIds, ids);
        for (uint256 p = 0; p < ids.length; ++p) {
            assertEq(evWeights[p], weights[picks[p]]);
        }
        assertEq(logs[1].topics[0], IDARegistry.EpochSampled.selector);
    }

    function test_SampleEpoch_Timing() public {
        // Epoch 12 (seeded by block 1,100) cannot be sampled in epoch 10; epoch 9 is past.
        vm.roll(START + 1);
        vm.expectRevert(_err(IDARegistry.DARegistryEpochNotSampleable.selector, EPOCH + 1, 10));
        da.sampleEpoch(EPOCH + 1);
        vm.expectRevert(_err(IDARegistry.DARegistryEpochNotSampleable.selector, 9, 10));
        da.sampleEpoch(9);
        // In the seed block itself the randomness is not known yet.
        vm.roll(START);
        vm.expectRevert(_err(IBlockhashRandomness.BlockhashRandomnessNotMined.selector, START, START));
        da.sampleEpoch(EPOCH);
        // The current epoch can still be sampled late.
        vm.roll(EPOCH * C.EPOCH_BLOCKS + 5);
        da.sampleEpoch(EPOCH);
        vm.expectRevert(_err(IDARegistry.DARegistryEpochAlreadySampled.selector, EPOCH));
        da.sampleEpoch(EPOCH);
    }

    function test_SampleEpoch_Epoch0And1UseBlock0AndHaveNoEligibleNodes() public {
        assertEq(da.seedBlock(0), 0);
        assertEq(da.seedBlock(1), 0);
        assertEq(da.seedBlock(2), C.EPOCH_BLOCKS);
        // Keys registered at block 1,000 are not eligible for epoch 10 (seeded by block 900).
        vm.roll(START + 1);
        da.sampleEpoch(10);
        IDARegistry.EpochInfo memory e = da.epochInfo(10);
        assertTrue(e.sampled);
        assertEq(e.candidates, 0);
        assertEq(e.quorumCount, 0);
        vm.expectRevert(_err(IDARegistry.DARegistryUnknownQuorum.selector, 10, 0, 0));
        da.quorum(10, 0);
    }

    function test_SampleEpoch_SkipsInactiveAndLateNodes() public {
        // Node 0 drops below the minimum stake; a node registered after the seed block is not eligible.
        vm.prank(nodes[0]);
        registry.requestUnbond(daRole, 1);
        vm.roll(START + 1);
        _addNode(QUORUM_SIZE);
        da.sampleEpoch(EPOCH);
        IDARegistry.EpochInfo memory e = da.epochInfo(EPOCH);
        assertEq(e.candidates, QUORUM_SIZE - 1);
        assertEq(e.quorumSize, QUORUM_SIZE - 1);
        (bool found,) = da.positionOf(EPOCH, 0, 1);
        assertFalse(found, "inactive node not sampled");
        (found,) = da.positionOf(EPOCH, 0, QUORUM_SIZE + 1);
        assertFalse(found, "late node not sampled");
    }

    /// @notice Weights are the stakes as of the seed block: a node that adds stake or requests unbonding after
    ///         the seed block (when the seed may be public) sits that epoch out, and is a candidate again, with
    ///         its new stake, in the first epoch seeded after the change. A change in the seed block counts.
    function test_SampleEpoch_SkipsNodesWhoseStakeChangedAfterTheSeedBlock() public {
        // In the seed block of EPOCH: node 2 tops up (eligible with the new stake).
        vm.prank(nodes[2]);
        registry.addStake(daRole, 7e18);
        // After it: node 0 tops up, node 1 unbonds down to exactly the minimum (still active).
        vm.roll(START + 1);
        vm.prank(nodes[0]);
        registry.addStake(daRole, 1_000e18);
        vm.prank(nodes[1]);
        registry.requestUnbond(daRole, 1e18);
        assertTrue(registry.isActive(nodes[1], daRole));
        assertEq(registry.getProvider(nodes[0], daRole).stakeChangedAt, START + 1);

        da.sampleEpoch(EPOCH);
        IDARegistry.EpochInfo memory e = da.epochInfo(EPOCH);
        assertEq(e.candidates, QUORUM_SIZE - 2);
        assertEq(e.quorumSize, QUORUM_SIZE - 2);
        (bool found,) = da.positionOf(EPOCH, 0, 1);
        assertFalse(found, "node that added stake after the seed block is not sampled");
        (found,) = da.positionOf(EPOCH, 0, 2);
        assertFalse(found, "node that unbonded after the seed block is not sampled");
        uint256 expected = _stakeOf(2) + 7e18;
        for (uint256 i = 3; i < QUORUM_SIZE; ++i) {
            expected += _stakeOf(i);
        }
        assertEq(da.quorum(EPOCH, 0).totalWeight, expected, "every other node, node 2 with its new stake");

        // EPOCH + 1 is seeded by the first block of EPOCH, after both changes: all are back with new stakes.
        vm.roll(EPOCH * C.EPOCH_BLOCKS + 1);
        da.sampleEpoch(EPOCH + 1);
        e = da.epochInfo(EPOCH + 1);
        assertEq(e.candidates, QUORUM_SIZE);
        (found,) = da.positionOf(EPOCH + 1, 0, 1);
        assertTrue(found, "node 0 is back");
        (found,) = da.positionOf(EPOCH + 1, 0, 2);
        assertTrue(found, "node 1 is back");
        expected += _stakeOf(0) + 1_000e18 + _stakeOf(1) - 1e18;
        assertEq(da.quorum(EPOCH + 1, 0).totalWeight, expected);
    }

    function test_SampleEpoch_SeveralQuorumsAreDisjoint() public {
        _deploy(3, 8, 26);
        vm.roll(START + 1);
        da.sampleEpoch(EPOCH);
        IDARegistry.EpochInfo memory e = da.epochInfo(EPOCH);
        assertEq(e.quorumCount, 3);
        assertEq(e.quorumSize, 8);
        bool[] memory seen = new bool[](27);
        for (uint256 q = 0; q < 3; ++q) {
            uint256[] memory ids = da.quorumMembers(EPOCH, q);
            assertEq(ids.length, 8);
            for (uint256 p = 0; p < ids.length; ++p) {
                assertFalse(seen[ids[p]], "a node sits in one quorum only");
                seen[ids[p]] = true;
            }
        }
        vm.expectRevert(_err(IDARegistry.DARegistryUnknownQuorum.selector, EPOCH, 3, 3));
        da.quorumMembers(EPOCH, 3);
        vm.expectRevert(_err(IDARegistry.DARegistryInvalidPosition.selector, 8, 8));
        da.memberAt(EPOCH, 0, 8);
    }

    function test_SampleEpoch_TooFewNodesGivesNoQuorums() public {
        _deploy(2, 4, 7);
        vm.roll(START + 1);
        da.sampleEpoch(EPOCH);
        IDARegistry.EpochInfo memory e = da.epochInfo(EPOCH);
        assertEq(e.candidates, 7);
        assertEq(e.quorumCount, 0);
        assertEq(e.quorumSize, 0);
    }

    function test_Views_RevertOnUnknown() public {
        vm.expectRevert(_err(IDARegistry.DARegistryUnknownNode.selector, 0));
        da.node(0);
        vm.expectRevert(_err(IDARegistry.DARegistryUnknownNode.selector, QUORUM_SIZE + 1));
        da.node(QUORUM_SIZE + 1);
        vm.expectRevert(_err(IDARegistry.DARegistryEpochNotSampled.selector, EPOCH));
        da.quorum(EPOCH, 0);
        assertEq(da.currentEpoch(), START / C.EPOCH_BLOCKS);
        assertEq(da.epochStartBlock(EPOCH), EPOCH * C.EPOCH_BLOCKS);
        assertEq(da.quorumCount(), 1);
        assertEq(da.quorumSize(), QUORUM_SIZE);
        assertEq(da.registry(), address(registry));
        assertEq(da.randomness(), address(randomness));
        assertEq(da.daRole(), daRole);
    }

    function test_Constructor_RevertsOnBadShape() public {
        vm.expectRevert(IDARegistry.DARegistryZeroAddress.selector);
        new DARegistry(address(0), address(randomness), 1, 4);
        vm.expectRevert(_err(IDARegistry.DARegistryInvalidShape.selector, 0, 4));
        new DARegistry(address(registry), address(randomness), 0, 4);
        vm.expectRevert(_err(IDARegistry.DARegistryInvalidShape.selector, C.MAX_QUORUMS + 1, 4));
        new DARegistry(address(registry), address(randomness), C.MAX_QUORUMS + 1, 4);
        vm.expectRevert(_err(IDARegistry.DARegistryInvalidShape.selector, 1, C.MIN_QUORUM_SIZE - 1));
        new DARegistry(address(registry), address(randomness), 1, C.MIN_QUORUM_SIZE - 1);
        vm.expectRevert(_err(IDARegistry.DARegistryInvalidShape.selector, 1, C.MAX_QUORUM_SIZE + 1));
        new DARegistry(address(registry), address(randomness), 1, C.MAX_QUORUM_SIZE + 1);
    }

    // ------------------------------------------------------------------ gas

    /// @notice sampleEpoch gas for N nodes (K quorums of Q): the hot loop reads every node's registry record.
    function test_Gas_SampleEpoch() public {
        uint256[4] memory ns = [uint256(16), 64, 128, 256];
        for (uint256 t = 0; t < ns.length; ++t) {
            uint256 quorums = ns[t] >= 256 ? C.MAX_QUORUMS : 2;
            _deploy(quorums, C.MAX_QUORUM_SIZE, ns[t]);
            vm.roll(START + 1);
            uint256 before = gasleft();
            da.sampleEpoch(EPOCH);
            uint256 used = before - gasleft();
            IDARegistry.EpochInfo memory e = da.epochInfo(EPOCH);
            emit log_named_uint(
                string.concat(
                    "sampleEpoch gas, N=", vm.toString(ns[t]), " K=", vm.toString(e.quorumCount), " Q=",
                    vm.toString(e.quorumSize)
                ),
                used
            );
            assertLt(used, 8_000_000, "sampling stays well inside a block");
        }
    }

    function test_RegisterKeys_TooManyNodes() public {
        _deploy(1, 4, da.MAX_NODES());
        address account = makeAddr("one-too-many");
        _fund(account);
        vm.prank(account);
        registry.register(daRole, MIN_STAKE, "https://da.example", 1);
        (BN254.G1Point memory pk1, BN254.G2Point memory pk2, BN254.G1Point memory pop) = _keys(account, 777);
        uint256 max = da.MAX_NODES();
        assertEq(da.nodeCount(), max);
        vm.prank(account);
        vm.expectRevert(_err(IDARegistry.DARegistryTooManyNodes.selector, max));
        da.registerKeys(pk1, pk2, pop);
    }
}
