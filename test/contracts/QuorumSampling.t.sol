// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {DaConstants as C} from "../../contracts/generated/ProtocolConstants.sol";
import {QuorumSampling} from "../../contracts/libraries/QuorumSampling.sol";

/// @notice Calls the library with calldata proofs (verifyMember takes calldata) and exposes its errors.
contract QuorumSamplingHarness {
    function sample(bytes32 seed, uint256[] memory weights, uint256 quorums, uint256 quorumSize)
        external
        pure
        returns (uint256[] memory picks, uint256 size)
    {
        return QuorumSampling.sample(seed, weights, quorums, quorumSize);
    }

    function memberRoot(bytes32[] memory leaves) external pure returns (bytes32) {
        return QuorumSampling.memberRoot(leaves);
    }

    function verifyMember(bytes32 root, uint256 count, uint256 position, bytes32 leaf, bytes32[] calldata proof)
        external
        pure
        returns (bool)
    {
        return QuorumSampling.verifyMember(root, count, position, leaf, proof);
    }

    function rootFromFixedProof(bytes32 leaf, uint256 position, uint256 depth, bytes32[5] calldata proof)
        external
        pure
        returns (bytes32)
    {
        return QuorumSampling.rootFromFixedProof(leaf, position, depth, proof);
    }
}

contract QuorumSamplingTest is Test {
    string internal constant VECTORS = "test/vectors/quorum.json";

    QuorumSamplingHarness internal h;
    string internal json;

    function setUp() public {
        h = new QuorumSamplingHarness();
        json = vm.readFile(VECTORS);
    }

    // ------------------------------------------------------------------ shared vectors

    function test_Vectors_SamplingMatchesTypeScript() public view {
        uint256 cases = _count(".sampling", ".name");
        assertGt(cases, 5, "vectors present");
        for (uint256 c = 0; c < cases; ++c) {
            string memory base = string.concat(".sampling[", vm.toString(c), "]");
            bytes32 seed = vm.parseJsonBytes32(json, string.concat(base, ".seed"));
            uint256[] memory weights = _uintArray(string.concat(base, ".weights"));
            uint256 quorums = vm.parseJsonUint(json, string.concat(base, ".quorums"));
            uint256 quorumSize = vm.parseJsonUint(json, string.concat(base, ".quorumSize"));
            uint256[] memory expected = _uintArray(string.concat(base, ".picks"));
            (uint256[] memory picks, uint256 size) = h.sample(seed, weights, quorums, quorumSize);
            string memory name = vm.parseJsonString(json, string.concat(base, ".name"));
            assertEq(size, vm.parseJsonUint(json, string.concat(base, ".size")), name);
            assertEq(picks, expected, name);
        }
    }

    function test_Vectors_MemberTreesMatchTypeScript() public view {
        uint256 trees = _count(".trees", ".root");
        assertGt(trees, 4, "vectors present");
        for (uint256 t = 0; t < trees; ++t) {
            string memory base = string.concat(".trees[", vm.toString(t), "]");
            uint256[] memory ids = _uintArray(string.concat(base, ".nodeIds"));
            uint256[] memory xs = _uintArray(string.concat(base, ".pkX"));
            uint256[] memory ys = _uintArray(string.concat(base, ".pkY"));
            uint256[] memory ws = _uintArray(string.concat(base, ".weights"));
            bytes32 root = vm.parseJsonBytes32(json, string.concat(base, ".root"));
            bytes32[] memory leaves = new bytes32[](ids.length);
            for (uint256 p = 0; p < ids.length; ++p) {
                leaves[p] = QuorumSampling.memberLeaf(ids[p], xs[p], ys[p], ws[p]);
                assertEq(
                    leaves[p], vm.parseJsonBytes32(json, string.concat(base, ".leaves[", vm.toString(p), "]")), "leaf"
                );
            }
            bytes32[] memory copy = new bytes32[](leaves.length);
            for (uint256 p = 0; p < leaves.length; ++p) {
                copy[p] = leaves[p];
            }
            assertEq(h.memberRoot(copy), root, "root");
            for (uint256 p = 0; p < ids.length; ++p) {
                bytes32[] memory proof =
                    vm.parseJsonBytes32Array(json, string.concat(base, ".proofs[", vm.toString(p), "]"));
                assertTrue(h.verifyMember(root, ids.length, p, leaves[p], proof), "vector proof verifies");
                // The same proof fails for another position, another leaf, or a wrong count.
                if (ids.length > 1) {
                    assertFalse(h.verifyMember(root, ids.length, p ^ 1, leaves[p], proof), "other position");
                }
                assertFalse(h.verifyMember(root, ids.length, p, bytes32(uint256(leaves[p]) ^ 1), proof), "other leaf");
                assertFalse(h.verifyMember(root, ids.length, ids.length + p, leaves[p], proof), "position >= count");
            }
        }
    }

    function test_Vectors_EpochSeed() public view {
        bytes32 randomness = vm.parseJsonBytes32(json, ".epochSeed.randomness");
        uint256 chainId = vm.parseJsonUint(json, ".epochSeed.chainId");
        address registry = vm.parseJsonAddress(json, ".epochSeed.registry");
        uint256 epoch = vm.parseJsonUint(json, ".epochSeed.epoch");
        assertEq(
            keccak256(abi.encode(randomness, chainId, registry, epoch)),
            vm.parseJsonBytes32(json, ".epochSeed.seed"),
            "DARegistry derives the epoch seed like quorum.ts"
        );
    }

    // ------------------------------------------------------------------ properties

    /// @notice Picks are distinct, in range, and the count is K * Qe; equals a linear-walk reference.
    function testFuzz_Sample_MatchesLinearWalk(
        bytes32 seed,
        uint256 n,
        uint256 quorums,
        uint256 quorumSize,
        uint256 wSeed
    ) public view {
        n = bound(n, 0, 80);
        quorums = bound(quorums, 1, C.MAX_QUORUMS);
        quorumSize = bound(quorumSize, C.MIN_QUORUM_SIZE, C.MAX_QUORUM_SIZE);
        uint256[] memory weights = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            // Mix tiny and huge weights (up to 2^128, a stake's range).
            uint256 r = uint256(keccak256(abi.encode(wSeed, i)));
            weights[i] = (r & 1 == 0) ? (r >> 8) % 5 + 1 : (r >> 8) % (uint256(1) << 128) + 1;
        }
        (uint256[] memory picks, uint256 size) = h.sample(seed, weights, quorums, quorumSize);
        uint256 expectedSize = n / quorums < quorumSize ? n / quorums : quorumSize;
        if (expectedSize < C.MIN_QUORUM_SIZE) expectedSize = 0;
        assertEq(size, expectedSize, "members per quorum");
        assertEq(picks.length, quorums * size, "draws");
        assertEq(picks, _linearWalk(seed, weights, quorums * size), "Fenwick == linear walk");
        bool[] memory seen = new bool[](n);
        for (uint256 j = 0; j < picks.length; ++j) {
            assertLt(picks[j], n, "in range");
            assertFalse(seen[picks[j]], "without replacement");
            seen[picks[j]] = true;
        }
    }

    function test_Sample_HeavyCandidateIsAlmostAlwaysDrawnFirst() public view {
        uint256[] memory weights = new uint256[](10);
        for (uint256 i = 0; i < 10; ++i) {
            weights[i] = 1;
        }
        weights[6] = 1e30;
        uint256 first;
        for (uint256 s = 0; s < 20; ++s) {
            (uint256[] memory picks,) = h.sample(bytes32(s), weights, 1, 4);
            if (picks[0] == 6) ++first;
        }
        assertEq(first, 20, "a candidate with nearly all the weight is drawn first");
    }

    function test_Sample_RevertsOnBadInput() public {
        uint256[] memory weights = new uint256[](5);
        for (uint256 i = 0; i < 5; ++i) {
            weights[i] = 1;
        }
        weights[2] = 0;
        vm.expectRevert(abi.encodeWithSelector(QuorumSampling.QuorumSamplingZeroWeight.selector, 2));
        h.sample(0, weights, 1, 4);

        uint256[] memory many = new uint256[](QuorumSampling.MAX_CANDIDATES + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                QuorumSampling.QuorumSamplingTooManyCandidates.selector,
                QuorumSampling.MAX_CANDIDATES + 1,
                QuorumSampling.MAX_CANDIDATES
            )
        );
        h.sample(0, many, 1, 4);

        weights[2] = 1;
        vm.expectRevert(abi.encodeWithSelector(QuorumSampling.QuorumSamplingInvalidShape.selector, 0, 4));
        h.sample(0, weights, 0, 4);
        vm.expectRevert(
            abi.encodeWithSelector(QuorumSampling.QuorumSamplingInvalidShape.selector, C.MAX_QUORUMS + 1, 4)
        );
        h.sample(0, weights, C.MAX_QUORUMS + 1, 4);
        vm.expectRevert(
            abi.encodeWithSelector(QuorumSampling.QuorumSamplingInvalidShape.selector, 1, C.MIN_QUORUM_SIZE - 1)
        );
        h.sample(0, weights, 1, C.MIN_QUORUM_SIZE - 1);
        vm.expectRevert(
            abi.encodeWithSelector(QuorumSampling.QuorumSamplingInvalidShape.selector, 1, C.MAX_QUORUM_SIZE + 1)
        );
        h.sample(0, weights, 1, C.MAX_QUORUM_SIZE + 1);
    }

    function test_Sample_MaxCandidatesGas() public view {
        uint256[] memory weights = new uint256[](QuorumSampling.MAX_CANDIDATES);
        for (uint256 i = 0; i < weights.length; ++i) {
            weights[i] = 1e18 + i;
        }
        uint256 before = gasleft();
        (uint256[] memory picks,) = h.sample(keccak256("gas"), weights, C.MAX_QUORUMS, C.MAX_QUORUM_SIZE);
        uint256 used = before - gasleft();
        assertEq(picks.length, QuorumSampling.MAX_CANDIDATES);
        assertLt(used, 2_000_000, "sampling 256 of 256 stays cheap");
    }

    function testFuzz_MemberTree_EveryPositionVerifies(uint256 count, bytes32 salt) public view {
        count = bound(count, 1, C.MAX_QUORUM_SIZE);
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 p = 0; p < count; ++p) {
            leaves[p] = QuorumSampling.memberLeaf(p + 1, uint256(keccak256(abi.encode(salt, p))), p, 1e18);
        }
        bytes32[] memory copy = new bytes32[](count);
        for (uint256 p = 0; p < count; ++p) {
            copy[p] = leaves[p];
        }
        bytes32 root = h.memberRoot(copy);
        uint256 depth = QuorumSampling.memberDepth(count);
        for (uint256 p = 0; p < count; ++p) {
            bytes32[] memory proof = _proof(leaves, p, depth);
            assertTrue(h.verifyMember(root, count, p, leaves[p], proof), "member verifies");
            bytes32[5] memory fixedProof;
            for (uint256 i = 0; i < depth; ++i) {
                fixedProof[i] = proof[i];
            }
            fixedProof[4] = depth < 5 ? salt : fixedProof[4]; // past the depth: ignored
            assertEq(h.rootFromFixedProof(leaves[p], p, depth, fixedProof), root, "fixed-size proof");
            if (count > 1) {
                assertTrue(h.rootFromFixedProof(leaves[p], p ^ 1, depth, fixedProof) != root, "other position");
            }
            if (depth > 0) {
                bytes32[] memory short = new bytes32[](depth - 1);
                for (uint256 i = 0; i + 1 < depth; ++i) {
                    short[i] = proof[i];
                }
                assertFalse(h.verifyMember(root, count, p, leaves[p], short), "short proof");
            }
        }
    }

    function test_MemberDepth_FitsFixedProofs() public pure {
        assertEq(QuorumSampling.memberDepth(C.MAX_QUORUM_SIZE), QuorumSampling.MAX_MEMBER_DEPTH);
        assertEq(QuorumSampling.memberDepth(1), 0);
        assertEq(QuorumSampling.memberDepth(2), 1);
        assertEq(QuorumSampling.memberDepth(5), 3);
    }

    function test_MemberRoot_RevertsOnBadCount() public {
        vm.expectRevert(abi.encodeWithSelector(QuorumSampling.QuorumSamplingInvalidMemberCount.selector, 0));
        h.memberRoot(new bytes32[](0));
        vm.expectRevert(
            abi.encodeWithSelector(QuorumSampling.QuorumSamplingInvalidMemberCount.selector, C.MAX_QUORUM_SIZE + 1)
        );
        h.memberRoot(new bytes32[](C.MAX_QUORUM_SIZE + 1));
    }

    // ------------------------------------------------------------------ helpers

    /// @dev The specification, literally: walk cumulative weights of the remaining candidates.
    function _linearWalk(bytes32 seed, uint256[] memory weights, uint256 draws)
        internal
        pure
        returns (uint256[] memory picks)
    {
        uint256 n = weights.length;
        uint256[] memory left = new uint256[](n);
        uint256 remaining;
        for (uint256 i = 0; i < n; ++i) {
            left[i] = weights[i];
            remaining += weights[i];
        }
        picks = new uint256[](draws);
        for (uint256 j = 0; j < draws; ++j) {
            uint256 x = uint256(keccak256(abi.encode(seed, j))) % remaining;
            uint256 cumulative;
            for (uint256 i = 0; i < n; ++i) {
                cumulative += left[i];
                if (cumulative > x) {
                    picks[j] = i;
                    remaining -= left[i];
                    left[i] = 0;
                    break;
                }
            }
        }
    }

    function _proof(bytes32[] memory leaves, uint256 position, uint256 depth)
        internal
        pure
        returns (bytes32[] memory proof)
    {
        uint256 width = uint256(1) << depth;
        bytes32[] memory level = new bytes32[](width);
        for (uint256 i = 0; i < leaves.length; ++i) {
            level[i] = leaves[i];
        }
        proof = new bytes32[](depth);
        for (uint256 d = 0; d < depth; ++d) {
            proof[d] = level[position ^ 1];
            width >>= 1;
            for (uint256 i = 0; i < width; ++i) {
                level[i] = keccak256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
            }
            position >>= 1;
        }
    }

    function _uintArray(string memory key) internal view returns (uint256[] memory values) {
        // parseJsonUintArray does not accept an empty array of strings, so read element by element.
        uint256 n = _length(key);
        values = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            values[i] = vm.parseJsonUint(json, string.concat(key, "[", vm.toString(i), "]"));
        }
    }

    function _length(string memory key) internal view returns (uint256 n) {
        while (vm.keyExistsJson(json, string.concat(key, "[", vm.toString(n), "]"))) ++n;
    }

    function _count(string memory key, string memory field) internal view returns (uint256 n) {
        while (vm.keyExistsJson(json, string.concat(key, "[", vm.toString(n), "]", field))) ++n;
    }
}
