// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {MemoryRegistry} from "../../contracts/memory/MemoryRegistry.sol";
import {ProviderRegistry} from "../../contracts/core/ProviderRegistry.sol";
import {DaiosToken} from "../../contracts/token/DaiosToken.sol";
import {IMemoryRegistry} from "../../contracts/interfaces/IMemoryRegistry.sol";
import {MemoryFixture} from "./MemoryRegistryFixture.t.sol";

/// @notice Drives the memory registry with random sequences of every action: streams created, topped up,
///         settled, checkpointed, closed by owner or node, slashed for lateness (also after the close, within the
///         slashing window) or for a contradicting checkpoint, collateral released, credits withdrawn, the
///         configuration changed and time passing. Every call comes from a fixed set of
///         actors, so every credit lands on an address the invariants can sum.
contract MemoryRegistryHandler is Test {
    uint256 internal constant MAX_STREAMS = 16;
    bytes32 internal constant KEY = keccak256("key");

    MemoryRegistry internal immutable _mem;
    address internal immutable _gov;
    address[] internal _owners;
    uint256[] internal _nodeKeys;
    address[] internal _actors;

    /// @notice Successful calls per action, to see that sequences do reach every transition.
    mapping(bytes32 action => uint256) public calls;

    constructor(MemoryRegistry mem_, address gov_, address[] memory owners_, uint256[] memory nodeKeys_, address[] memory actors_) {
        _mem = mem_;
        _gov = gov_;
        _owners = owners_;
        _nodeKeys = nodeKeys_;
        _actors = actors_;
    }

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    function createStream(uint256 ownerSeed, uint256 nodeSeed, uint256 deposit, uint256 rate) external {
        if (_mem.streamCount() >= MAX_STREAMS) return;
        address owner = _owners[ownerSeed % _owners.length];
        address node = vm.addr(_nodeKeys[nodeSeed % _nodeKeys.length]);
        vm.prank(owner);
        try _mem.createStream(node, new address[](0), _bound(deposit, 1, 1_000e18), uint128(_bound(rate, 1, 1e16))) {
            ++calls["createStream"];
        } catch {}
    }

    function topUp(uint256 streamSeed, uint256 amount) external {
        (bool ok, uint256 stream, IMemoryRegistry.StreamInfo memory s) = _pick(streamSeed);
        if (!ok) return;
        vm.prank(s.owner);
        try _mem.topUp(stream, _bound(amount, 1, 100e18)) {
            ++calls["topUp"];
        } catch {}
    }

    function settle(uint256 streamSeed) external {
        (bool ok, uint256 stream,) = _pick(streamSeed);
        if (!ok) return;
        try _mem.settle(stream) {
            ++calls["settle"];
        } catch {}
    }

    function checkpoint(uint256 streamSeed, uint64 step, bytes32 root) external {
        (bool ok, uint256 stream, IMemoryRegistry.StreamInfo memory s) = _pick(streamSeed);
        if (!ok) return;
        vm.prank(s.node);
        try _mem.checkpoint(stream, root, s.seq + uint64(_bound(step, 1, 5))) {
            ++calls["checkpoint"];
        } catch {}
    }

    function closeStream(uint256 streamSeed, bool byNode) external {
        (bool ok, uint256 stream, IMemoryRegistry.StreamInfo memory s) = _pick(streamSeed);
        if (!ok) return;
        vm.prank(byNode ? s.node : s.owner);
        try _mem.closeStream(stream) {
            ++calls[byNode ? bytes32("closeStreamByNode") : bytes32("closeStream")];
        } catch {}
    }

    function slashUncheckpointed(uint256 streamSeed, uint256 reporterSeed) external {
        uint256 count = _mem.streamCount();
        if (count == 0) return;
        uint256 stream = 1 + streamSeed % count;
        IMemoryRegistry.StreamInfo memory s = _mem.getStream(stream);
        bool closed = s.status == IMemoryRegistry.Status.Closed;
        if (s.status != IMemoryRegistry.Status.Active && !closed) return;
        // A receipt of the next write, issued long enough ago.
        uint256 window = s.checkpointWindow;
        if (block.timestamp <= window + 1) return;
        IMemoryRegistry.Receipt memory r = IMemoryRegistry.Receipt({
            stream: stream, seq: s.seq + 1, entriesHash: keccak256("entries"), issuedAt: uint64(block.timestamp - window - 1)
        });
        bytes memory sig = _signByNode(s.node, _mem.receiptDigest(r.stream, r.seq, r.entriesHash, r.issuedAt));
        vm.prank(_actors[reporterSeed % _actors.length]);
        try _mem.slashUncheckpointed(stream, r, sig) {
            ++calls[closed ? bytes32("slashAfterClose") : bytes32("slashUncheckpointed")];
        } catch {}
    }

    function releaseCollateral(uint256 streamSeed, uint256 actorSeed) external {
        uint256 count = _mem.streamCount();
        if (count == 0) return;
        vm.prank(_actors[actorSeed % _actors.length]);
        try _mem.releaseCollateral(1 + streamSeed % count) {
            ++calls["releaseCollateral"];
        } catch {}
    }

    /// @dev The node promised KEY -> "v1" at the next seq, then checkpointed a map holding KEY -> "v2" there.
    function slashContradiction(uint256 streamSeed, uint256 reporterSeed) external {
        (bool ok, uint256 stream, IMemoryRegistry.StreamInfo memory s) = _pick(streamSeed);
        if (!ok) return;
        uint64 seq = s.seq + 1;
        bytes32[] memory keys = new bytes32[](1);
        bytes32[] memory values = new bytes32[](1);
        keys[0] = KEY;
        values[0] = keccak256("v1");
        IMemoryRegistry.Receipt memory r = IMemoryRegistry.Receipt({
            stream: stream, seq: seq, entriesHash: keccak256(abi.encodePacked(KEY, values[0])), issuedAt: uint64(block.timestamp)
        });
        bytes memory sig = _signByNode(s.node, _mem.receiptDigest(r.stream, r.seq, r.entriesHash, r.issuedAt));
        IMemoryRegistry.Proof memory proof;
        proof.hasLeaf = true;
        proof.leaf = IMemoryRegistry.Leaf({keyHash: KEY, valueHash: keccak256("v2"), seq: seq, version: 1});
        bytes32 root = _mem.leafHash(proof.leaf);
        vm.prank(s.node);
        _mem.checkpoint(stream, root, seq);
        IMemoryRegistry.Checkpoint memory posted =
            IMemoryRegistry.Checkpoint({index: s.checkpointCount, root: root, seq: seq, timestamp: uint64(block.timestamp)});
        vm.prank(_actors[reporterSeed % _actors.length]);
        _mem.slashContradiction(stream, r, sig, keys, values, 0, posted, proof);
        ++calls["slashContradiction"];
    }

    function withdraw(uint256 actorSeed) external {
        vm.prank(_actors[actorSeed % _actors.length]);
        try _mem.withdraw() {
            ++calls["withdraw"];
        } catch {}
    }

    function setConfig(uint256 collateral, uint256 reporterBps, uint256 window) external {
        IMemoryRegistry.Config memory c = IMemoryRegistry.Config({
            streamCollateral: _bound(collateral, 0, 20e18),
            checkpointWindow: _bound(window, 1, 2 days),
            reporterBps: _bound(reporterBps, 0, 10_000)
        });
        vm.prank(_gov);
        _mem.setConfig(c);
        ++calls["setConfig"];
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + _bound(seconds_, 1, 3 days));
        ++calls["warp"];
    }

    function _signByNode(address node, bytes32 digest) internal view returns (bytes memory) {
        for (uint256 i = 0; i < _nodeKeys.length; ++i) {
            if (vm.addr(_nodeKeys[i]) == node) {
                (uint8 v, bytes32 r, bytes32 s) = vm.sign(_nodeKeys[i], digest);
                return abi.encodePacked(r, s, v);
            }
        }
        revert("unknown node");
    }

    function _pick(uint256 seed) internal view returns (bool ok, uint256 stream, IMemoryRegistry.StreamInfo memory s) {
        uint256 count = _mem.streamCount();
        if (count == 0) return (false, 0, s);
        stream = 1 + seed % count;
        s = _mem.getStream(stream);
        ok = s.status == IMemoryRegistry.Status.Active;
    }
}

contract MemoryRegistryInvariantTest is MemoryFixture {
    uint256 internal constant N1_KEY = 0xa11;
    uint256 internal constant N2_KEY = 0xb22;

    MemoryRegistryHandler internal handler;
    address internal bob = makeAddr("bob");
    address[] internal nodes;
    uint256 internal supply;

    function setUp() public override {
        super.setUp();
        _fund(bob);
        uint256[] memory keys = new uint256[](2);
        keys[0] = N1_KEY;
        keys[1] = N2_KEY;
        for (uint256 i = 0; i < keys.length; ++i) {
            address n = vm.addr(keys[i]);
            nodes.push(n);
            _fund(n);
            vm.prank(n);
            registry.register(memoryRole, 1_000e18, "https://memory.example", 1);
        }
        address[] memory owners = new address[](2);
        owners[0] = alice;
        owners[1] = bob;
        address[] memory actors = new address[](5);
        actors[0] = alice;
        actors[1] = bob;
        actors[2] = reporter;
        actors[3] = nodes[0];
        actors[4] = nodes[1];
        handler = new MemoryRegistryHandler(mem, gov, owners, keys, actors);
        targetContract(address(handler));
        supply = token.totalSupply();
    }

    /// @dev The registry holds exactly the unearned deposits of active streams plus the unpaid credits.
    function invariant_BalanceEqualsDepositsPlusCredits() public view {
        uint256 owed;
        uint256 count = mem.streamCount();
        for (uint256 i = 1; i <= count; ++i) {
            IMemoryRegistry.StreamInfo memory s = mem.getStream(i);
            if (s.status == IMemoryRegistry.Status.Active) owed += s.balance;
            else assertEq(s.balance, 0, "a closed or slashed stream keeps no deposit");
        }
        address[] memory actors = handler.actors();
        for (uint256 i = 0; i < actors.length; ++i) {
            owed += mem.credits(actors[i]);
        }
        assertEq(token.balanceOf(address(mem)), owed, "balance != unearned deposits + credits");
    }

    /// @dev The stake locked for this registry is the collateral of the active streams and of the closed ones
    ///      not released yet, per node.
    function invariant_LockEqualsUnreleasedCollateral() public view {
        uint256 count = mem.streamCount();
        for (uint256 k = 0; k < nodes.length; ++k) {
            uint256 locked;
            for (uint256 i = 1; i <= count; ++i) {
                IMemoryRegistry.StreamInfo memory s = mem.getStream(i);
                bool holds = s.status == IMemoryRegistry.Status.Active || s.status == IMemoryRegistry.Status.Closed;
                if (s.node == nodes[k] && holds) locked += s.collateral;
            }
            assertEq(registry.lockedBy(nodes[k], memoryRole, address(mem)), locked, "lock != collateral of active and unreleased closed streams");
        }
    }

    function invariant_TokensAreNeverCreated() public view {
        assertEq(token.totalSupply(), supply);
    }

    /// @dev A fixed long sequence that reaches every action, then everyone settles up.
    function test_HandlerReachesEveryActionAndEverythingSettles() public {
        for (uint256 round = 0; round < 6; ++round) {
            // Streams a (large deposit) and b (spent within 10 s); a pick seed is the id minus one.
            uint256 a = 2 * round;
            uint256 b = a + 1;
            handler.createStream(round, round, 50e18, 1e15);
            handler.createStream(round + 1, round + 1, 1e16, 1e15);
            assertEq(mem.streamCount(), b + 1);
            handler.checkpoint(a, 1, keccak256(abi.encode(round)));
            handler.topUp(a, 1e18);
            handler.warp(600);
            handler.settle(b);
            handler.closeStream(b, true);
            if (round % 3 == 0) {
                handler.slashContradiction(a, round);
            } else if (round % 3 == 1) {
                handler.warp(2 days);
                handler.slashUncheckpointed(a, round);
            } else {
                // Closing does not escape a late receipt: it is slashed within the window after the close.
                handler.closeStream(a, false);
                handler.slashUncheckpointed(a, round);
                assertTrue(mem.getStream(a + 1).status == IMemoryRegistry.Status.Slashed, "slashed after the close");
            }
            assertTrue(mem.getStream(a + 1).status != IMemoryRegistry.Status.Active, "stream a ended");
            assertTrue(mem.getStream(b + 1).status == IMemoryRegistry.Status.Closed, "the node closed stream b");
            handler.setConfig(round * 1e18, round * 1_000, 3600);
            handler.withdraw(round);
            // Stream b's slashing window (twice a window of at most 2 days) ends; its collateral goes back.
            handler.warp(3 days);
            handler.warp(3 days);
            handler.releaseCollateral(b, round);
            assertEq(mem.getStream(b + 1).collateral, 0, "stream b's collateral released");
        }
        string[14] memory names = [
            "createStream",
            "topUp",
            "settle",
            "checkpoint",
            "closeStream",
            "closeStreamByNode",
            "slashUncheckpointed",
            "slashContradiction",
            "slashAfterClose",
            "releaseCollateral",
            "withdraw",
            "setConfig",
            "warp",
            "createStream"
        ];
        for (uint256 i = 0; i < names.length; ++i) {
            assertGt(handler.calls(bytes32(bytes(names[i]))), 0, names[i]);
        }
        invariant_BalanceEqualsDepositsPlusCredits();
        invariant_LockEqualsUnreleasedCollateral();

        // Close what is still open, and everyone withdraws: nothing stays behind.
        uint256 count = mem.streamCount();
        for (uint256 i = 1; i <= count; ++i) {
            IMemoryRegistry.StreamInfo memory s = mem.getStream(i);
            if (s.status != IMemoryRegistry.Status.Active) continue;
            vm.prank(s.owner);
            mem.closeStream(i);
        }
        vm.warp(block.timestamp + 5 days);
        for (uint256 i = 1; i <= count; ++i) {
            if (mem.releasableAt(i) != 0) mem.releaseCollateral(i);
        }
        address[] memory actors = handler.actors();
        for (uint256 i = 0; i < actors.length; ++i) {
            if (mem.credits(actors[i]) == 0) continue;
            vm.prank(actors[i]);
            mem.withdraw();
        }
        assertEq(token.balanceOf(address(mem)), 0, "everyone withdrew: the registry holds nothing");
        for (uint256 k = 0; k < nodes.length; ++k) {
            assertEq(registry.lockedBy(nodes[k], memoryRole, address(mem)), 0);
        }
    }
}
