// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {RevertData} from "./helpers/RevertData.sol";
import {DaiosToken} from "../../contracts/token/DaiosToken.sol";
import {ProviderRegistry} from "../../contracts/core/ProviderRegistry.sol";
import {MemoryRegistry} from "../../contracts/memory/MemoryRegistry.sol";
import {IMemoryRegistry} from "../../contracts/interfaces/IMemoryRegistry.sol";

/// @notice Builds sparse Merkle trees of up to a few leaves by the spec's rules, written out independently of
///         `MemoryProof`: roots and proofs (siblings top-down, terminal empty or leaf) for any key.
abstract contract SmtBuilder {
    function _leaf(bytes32 keyHash, bytes32 valueHash, uint64 seq, uint64 version)
        internal
        pure
        returns (IMemoryRegistry.Leaf memory)
    {
        return IMemoryRegistry.Leaf({keyHash: keyHash, valueHash: valueHash, seq: seq, version: version});
    }

    function _hashLeaf(IMemoryRegistry.Leaf memory l) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x00), l.keyHash, l.valueHash, l.seq, l.version));
    }

    function _hashNode(bytes32 left, bytes32 right) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x01), left, right));
    }

    function _bit(bytes32 keyHash, uint256 depth) internal pure returns (bool) {
        return uint256(keyHash) & (1 << (255 - depth)) != 0;
    }

    /// @dev The leaves whose path bit at `depth` is `side`.
    function _side(IMemoryRegistry.Leaf[] memory leaves, uint256 depth, bool side)
        internal
        pure
        returns (IMemoryRegistry.Leaf[] memory out)
    {
        uint256 n;
        for (uint256 i = 0; i < leaves.length; ++i) {
            if (_bit(leaves[i].keyHash, depth) == side) ++n;
        }
        out = new IMemoryRegistry.Leaf[](n);
        n = 0;
        for (uint256 i = 0; i < leaves.length; ++i) {
            if (_bit(leaves[i].keyHash, depth) == side) out[n++] = leaves[i];
        }
    }

    /// @dev Hash of the subtree at `depth` holding `leaves` (distinct keys sharing the first `depth` bits). Recurses
    ///      only where the leaves split (the EVM stack would not hold one frame per level); the levels above the
    ///      split are internal nodes with one empty child.
    function _subtree(IMemoryRegistry.Leaf[] memory leaves, uint256 depth) internal pure returns (bytes32 h) {
        if (leaves.length == 0) return bytes32(0);
        if (leaves.length == 1) return _hashLeaf(leaves[0]);
        uint256 split = depth;
        while (_side(leaves, split, true).length == 0 || _side(leaves, split, false).length == 0) {
            ++split;
        }
        h = _hashNode(_subtree(_side(leaves, split, false), split + 1), _subtree(_side(leaves, split, true), split + 1));
        bytes32 path = leaves[0].keyHash;
        for (uint256 d = split; d > depth; --d) {
            h = _bit(path, d - 1) ? _hashNode(bytes32(0), h) : _hashNode(h, bytes32(0));
        }
    }

    function _root(IMemoryRegistry.Leaf[] memory leaves) internal pure returns (bytes32) {
        return _subtree(leaves, 0);
    }

    /// @dev The proof for `keyHash` in the tree of `leaves`.
    function _prove(IMemoryRegistry.Leaf[] memory leaves, bytes32 keyHash)
        internal
        pure
        returns (IMemoryRegistry.Proof memory proof)
    {
        bytes32[] memory siblings = new bytes32[](256);
        uint256 depth;
        IMemoryRegistry.Leaf[] memory here = leaves;
        while (here.length > 1) {
            bool side = _bit(keyHash, depth);
            siblings[depth] = _subtree(_side(here, depth, !side), depth + 1);
            here = _side(here, depth, side);
            ++depth;
        }
        assembly ("memory-safe") {
            mstore(siblings, depth)
        }
        proof.siblings = siblings;
        if (here.length == 1) {
            proof.hasLeaf = true;
            proof.leaf = here[0];
        }
    }

    function _leaves1(IMemoryRegistry.Leaf memory a) internal pure returns (IMemoryRegistry.Leaf[] memory l) {
        l = new IMemoryRegistry.Leaf[](1);
        l[0] = a;
    }

    function _leaves2(IMemoryRegistry.Leaf memory a, IMemoryRegistry.Leaf memory b)
        internal
        pure
        returns (IMemoryRegistry.Leaf[] memory l)
    {
        l = new IMemoryRegistry.Leaf[](2);
        l[0] = a;
        l[1] = b;
    }

    function _leaves3(IMemoryRegistry.Leaf memory a, IMemoryRegistry.Leaf memory b, IMemoryRegistry.Leaf memory c)
        internal
        pure
        returns (IMemoryRegistry.Leaf[] memory l)
    {
        l = new IMemoryRegistry.Leaf[](3);
        l[0] = a;
        l[1] = b;
        l[2] = c;
    }

    function _leaves4(
        IMemoryRegistry.Leaf memory a,
        IMemoryRegistry.Leaf memory b,
        IMemoryRegistry.Leaf memory c,
        IMemoryRegistry.Leaf memory d
    ) internal pure returns (IMemoryRegistry.Leaf[] memory l) {
        l = new IMemoryRegistry.Leaf[](4);
        l[0] = a;
        l[1] = b;
        l[2] = c;
        l[3] = d;
    }
}

/// @notice Deploys the memory layer (real token, provider registry and memory registry) with one staked memory
///         node whose key signs receipts, a funded stream owner, a writer and a reporter, and offers helpers to
///         drive streams, sign receipts (EIP-712 digest written out independently) and post checkpoints.
abstract contract MemoryFixture is Test, RevertData, SmtBuilder {
    uint256 internal constant BPS = 10_000;
    uint256 internal constant COLLATERAL = 5e18;
    uint256 internal constant WINDOW = 3600;
    uint256 internal constant REPORTER_BPS = 2_000;
    uint256 internal constant MIN_STAKE = 10e18;
    uint256 internal constant NODE_STAKE = 20e18;
    uint256 internal constant DEPOSIT = 100e18;
    uint128 internal constant RATE = 1e15;
    uint256 internal constant FUNDS = 1e27;
    uint256 internal constant START_TIME = 1_800_000_000;
    uint256 internal constant NODE_KEY = 0x00de;
    uint256 internal constant OTHER_KEY = 0x0bad;

    address internal gov = makeAddr("gov");
    address internal alice = makeAddr("alice");
    address internal writer = makeAddr("writer");
    address internal reporter = makeAddr("reporter");
    address internal stranger = makeAddr("stranger");
    address internal node;

    DaiosToken internal token;
    ProviderRegistry internal registry;
    MemoryRegistry internal mem;
    bytes32 internal memoryRole;

    function setUp() public virtual {
        vm.warp(START_TIME);
        token = new DaiosToken(gov);
        registry = new ProviderRegistry(address(token), gov, 7 days);
        vm.prank(gov);
        mem = new MemoryRegistry(address(token), address(registry), gov, _config());
        memoryRole = registry.MEMORY_ROLE();
        vm.startPrank(gov);
        registry.setMinStake(memoryRole, MIN_STAKE);
        registry.setLayer(address(mem), memoryRole, true);
        vm.stopPrank();

        node = vm.addr(NODE_KEY);
        _fund(node);
        _fund(alice);
        _fund(reporter);
        vm.prank(node);
        registry.register(memoryRole, NODE_STAKE, "https://memory.example", 1);
    }

    function _config() internal pure returns (IMemoryRegistry.Config memory) {
        return IMemoryRegistry.Config({streamCollateral: COLLATERAL, checkpointWindow: WINDOW, reporterBps: REPORTER_BPS});
    }

    function _fund(address account) internal {
        vm.prank(gov);
        token.mint(account, FUNDS);
        vm.startPrank(account);
        token.approve(address(mem), type(uint256).max);
        token.approve(address(registry), type(uint256).max);
        vm.stopPrank();
    }

    function _writers1(address a) internal pure returns (address[] memory w) {
        w = new address[](1);
        w[0] = a;
    }

    /// @dev Alice creates a stream on the node with `writer` listed.
    function _create() internal returns (uint256 stream) {
        vm.prank(alice);
        stream = mem.createStream(node, _writers1(writer), DEPOSIT, RATE);
    }

    function _checkpoint(uint256 stream, bytes32 root, uint64 seq)
        internal
        returns (IMemoryRegistry.Checkpoint memory c)
    {
        c.index = mem.getStream(stream).checkpointCount;
        vm.prank(node);
        mem.checkpoint(stream, root, seq);
        c.root = root;
        c.seq = seq;
        c.timestamp = uint64(block.timestamp);
    }

    function _domain() internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("daios MemoryRegistry"),
                keccak256("1"),
                block.chainid,
                address(mem)
            )
        );
    }

    function _typed(bytes32 structHash) internal view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", _domain(), structHash));
    }

    function _receiptDigest(IMemoryRegistry.Receipt memory r) internal view returns (bytes32) {
        return _typed(
            keccak256(
                abi.encode(
                    keccak256("Receipt(uint256 stream,uint64 seq,bytes32 entriesHash,uint64 issuedAt)"),
                    r.stream,
                    r.seq,
                    r.entriesHash,
                    r.issuedAt
                )
            )
        );
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _entries(bytes32[] memory keyHashes, bytes32[] memory valueHashes) internal pure returns (bytes32 h) {
        bytes memory packed;
        for (uint256 i = 0; i < keyHashes.length; ++i) {
            packed = abi.encodePacked(packed, keyHashes[i], valueHashes[i]);
        }
        h = keccak256(packed);
    }

    function _receipt(uint256 stream, uint64 seq, bytes32[] memory keyHashes, bytes32[] memory valueHashes)
        internal
        view
        returns (IMemoryRegistry.Receipt memory r)
    {
        r = IMemoryRegistry.Receipt({
            stream: stream, seq: seq, entriesHash: _entries(keyHashes, valueHashes), issuedAt: uint64(block.timestamp)
        });
    }

    function _one(bytes32 a) internal pure returns (bytes32[] memory x) {
        x = new bytes32[](1);
        x[0] = a;
    }

    function _two(bytes32 a, bytes32 b) internal pure returns (bytes32[] memory x) {
        x = new bytes32[](2);
        x[0] = a;
        x[1] = b;
    }

    function _status(uint256 stream) internal view returns (IMemoryRegistry.Status) {
        return mem.getStream(stream).status;
    }

    function _errA(bytes4 selector, uint256 a, address b) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector, a, b);
    }

    /// @dev 21,000 + calldata cost (EIP-2028: 16 gas per non-zero byte, 4 per zero byte).
    function _intrinsic(bytes memory data) internal pure returns (uint256 gas) {
        gas = 21_000;
        for (uint256 i = 0; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }
}
