// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {DaConstants as C} from "../generated/ProtocolConstants.sol";

/// @title QuorumSampling
/// @notice Stake-weighted sampling of DA quorums and the Merkle tree of a quorum's members. Pure; the
///         TypeScript mirror `agents/src/sdk/da/quorum.ts` gives identical results (shared vectors in
///         test/vectors/quorum.json).
///
/// Sampling. Candidates are given in node-id order with their weights (all non-zero). Each quorum has
/// `Qe = min(quorumSize, floor(N / K))` members; when `Qe < MIN_QUORUM_SIZE` there are no quorums. Draws
/// are without replacement across all K quorums: draw j (0 <= j < K * Qe) takes
/// `x = uint256(keccak256(abi.encode(seed, j))) % remainingWeight` and picks the first remaining
/// candidate whose cumulative weight (over remaining candidates, in order) exceeds x; the pick leaves the
/// pool. Quorum q gets draws [q * Qe, (q + 1) * Qe), in draw order: member position p of quorum q is draw
/// q * Qe + p. The walk over cumulative weights is done with a Fenwick tree (O(log N) per draw).
///
/// Member tree. Leaf p = keccak256(abi.encode(nodeId, pkG1.x, pkG1.y, weight)) of the member at position
/// p; the leaves are padded with bytes32(0) to the next power of two (at least 1); a parent is
/// keccak256(abi.encodePacked(left, right)). The depth is ceil(log2(memberCount)); a proof lists the
/// siblings from the leaf up.
library QuorumSampling {
    /// @notice Most candidates one sampling accepts.
    uint256 internal constant MAX_CANDIDATES = 256;
    /// @notice Deepest member tree: ceil(log2(MAX_QUORUM_SIZE)); the length of fixed-size member proofs
    ///         (IDABlobs.NonSigner.proof repeats it as a literal).
    uint256 internal constant MAX_MEMBER_DEPTH = 5;

    /// @notice More than `MAX_CANDIDATES` candidates were given.
    error QuorumSamplingTooManyCandidates(uint256 count, uint256 max);
    /// @notice Candidate `index` has weight zero.
    error QuorumSamplingZeroWeight(uint256 index);
    /// @notice The quorum count is zero or above `MAX_QUORUMS`, or the size outside MIN..MAX_QUORUM_SIZE.
    error QuorumSamplingInvalidShape(uint256 quorums, uint256 quorumSize);
    /// @notice A member tree needs 1..MAX_QUORUM_SIZE leaves.
    error QuorumSamplingInvalidMemberCount(uint256 count);

    /// @notice Members per quorum for `candidates` candidates: min(quorumSize, candidates / quorums), or 0
    ///         (no quorums) when that is below `MIN_QUORUM_SIZE`.
    function membersPerQuorum(uint256 candidates, uint256 quorums, uint256 quorumSize)
        internal
        pure
        returns (uint256 size)
    {
        checkShape(quorums, quorumSize);
        size = candidates / quorums;
        if (size > quorumSize) size = quorumSize;
        if (size < C.MIN_QUORUM_SIZE) size = 0;
    }

    /// @notice Reverts unless 1 <= quorums <= MAX_QUORUMS and MIN_QUORUM_SIZE <= quorumSize <= MAX_QUORUM_SIZE.
    function checkShape(uint256 quorums, uint256 quorumSize) internal pure {
        if (
            quorums == 0 || quorums > C.MAX_QUORUMS || quorumSize < C.MIN_QUORUM_SIZE
                || quorumSize > C.MAX_QUORUM_SIZE
        ) revert QuorumSamplingInvalidShape(quorums, quorumSize);
    }

    /// @notice Samples `quorums` quorums from the candidates' `weights` (see the library notes).
    /// @param seed Randomness of the sampling.
    /// @param weights Candidate weights in node-id order; each non-zero; at most `MAX_CANDIDATES`.
    /// @param quorums Number of quorums K.
    /// @param quorumSize Wanted members per quorum.
    /// @return picks Candidate indices, `quorums * size` of them; quorum q is picks[q * size .. (q + 1) * size).
    /// @return size Members per quorum (`membersPerQuorum`); zero when there are no quorums.
    function sample(bytes32 seed, uint256[] memory weights, uint256 quorums, uint256 quorumSize)
        internal
        pure
        returns (uint256[] memory picks, uint256 size)
    {
        uint256 n = weights.length;
        if (n > MAX_CANDIDATES) revert QuorumSamplingTooManyCandidates(n, MAX_CANDIDATES);
        size = membersPerQuorum(n, quorums, quorumSize);
        // Fenwick tree over the weights, 1-based: tree[i] sums weights (i - lowbit(i), i].
        uint256[] memory tree = new uint256[](n + 1);
        uint256 remaining;
        for (uint256 i = 1; i <= n; ++i) {
            uint256 w = weights[i - 1];
            if (w == 0) revert QuorumSamplingZeroWeight(i - 1);
            remaining += w;
            tree[i] += w;
            uint256 parent = i + (i & (~i + 1));
            if (parent <= n) tree[parent] += tree[i];
        }
        // Cannot overflow: size <= n / quorums, so quorums * size <= n <= MAX_CANDIDATES.
        uint256 draws;
        unchecked {
            draws = quorums * size;
        }
        picks = new uint256[](draws);
        uint256 top = _highestPowerOfTwo(n);
        // Bounded: draws <= n <= MAX_CANDIDATES; the inner walks take log2(n) + 1 and log2(n) + 1 steps.
        for (uint256 j = 0; j < draws; ++j) {
            uint256 x = uint256(keccak256(abi.encode(seed, j))) % remaining;
            // Descend to the largest pos with prefix(pos) <= x; the pick is candidate pos (0-based).
            uint256 pos;
            for (uint256 step = top; step != 0; step >>= 1) {
                uint256 next = pos + step;
                if (next <= n && tree[next] <= x) {
                    pos = next;
                    x -= tree[next];
                }
            }
            picks[j] = pos;
            uint256 w = weights[pos];
            // Cannot underflow: w is part of `remaining` and of every tree node covering pos + 1.
            unchecked {
                remaining -= w;
                for (uint256 i = pos + 1; i <= n; i += i & (~i + 1)) {
                    tree[i] -= w;
                }
            }
        }
    }

    /// @notice Leaf of a member in the member tree.
    function memberLeaf(uint256 nodeId, uint256 pkX, uint256 pkY, uint256 weight) internal pure returns (bytes32 leaf) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, nodeId)
            mstore(add(ptr, 0x20), pkX)
            mstore(add(ptr, 0x40), pkY)
            mstore(add(ptr, 0x60), weight)
            leaf := keccak256(ptr, 0x80)
        }
    }

    /// @notice Depth of the member tree of `count` members: ceil(log2(count)).
    function memberDepth(uint256 count) internal pure returns (uint256 depth) {
        // Bounded: at most 256 steps; callers pass member or chunk counts (<= 2^MAX_TREE_DEPTH). Cannot
        // overflow: depth < 256 while 2^depth < count < 2^256.
        unchecked {
            while ((uint256(1) << depth) < count) ++depth;
        }
    }

    /// @notice Root of the member tree over `leaves` (1..MAX_QUORUM_SIZE members, in position order).
    function memberRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 count = leaves.length;
        if (count == 0 || count > C.MAX_QUORUM_SIZE) revert QuorumSamplingInvalidMemberCount(count);
        uint256 width = uint256(1) << memberDepth(count);
        bytes32[] memory level = new bytes32[](width);
        for (uint256 i = 0; i < count; ++i) {
            level[i] = leaves[i];
        }
        // Bounded: width <= 2 * MAX_QUORUM_SIZE and halves on every level.
        while (width > 1) {
            width >>= 1;
            for (uint256 i = 0; i < width; ++i) {
                level[i] = _hashPair(level[2 * i], level[2 * i + 1]);
            }
        }
        return level[0];
    }

    /// @notice True when `leaf` is the member at `position` of a tree of `count` members with root `root`.
    ///         The proof must have exactly `memberDepth(count)` siblings and `position < count`.
    function verifyMember(bytes32 root, uint256 count, uint256 position, bytes32 leaf, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        if (position >= count) return false;
        uint256 depth = proof.length;
        if (depth != memberDepth(count)) return false;
        bytes32 node = leaf;
        // Bounded: depth = memberDepth(count) and count is a quorum's member count.
        for (uint256 i = 0; i < depth; ++i) {
            bytes32 sibling = proof[i];
            node = (position >> i) & 1 == 0 ? _hashPair(node, sibling) : _hashPair(sibling, node);
        }
        return node == root;
    }

    /// @notice Root reached from `leaf` at `position` with the first `depth` siblings of a fixed-size proof
    ///         (entries from `depth` on are ignored). Callers check `position < count` and fix `depth` =
    ///         `memberDepth(count)` (at most MAX_MEMBER_DEPTH).
    function rootFromFixedProof(bytes32 leaf, uint256 position, uint256 depth, bytes32[5] calldata proof)
        internal
        pure
        returns (bytes32 node)
    {
        assembly ("memory-safe") {
            node := leaf
            // Bounded: depth <= MAX_MEMBER_DEPTH (callers), and proof has MAX_MEMBER_DEPTH words.
            for { let i := 0 } lt(i, depth) { i := add(i, 1) } {
                let sibling := calldataload(add(proof, shl(5, i)))
                switch and(shr(i, position), 1)
                case 0 {
                    mstore(0x00, node)
                    mstore(0x20, sibling)
                }
                default {
                    mstore(0x00, sibling)
                    mstore(0x20, node)
                }
                node := keccak256(0x00, 0x40)
            }
        }
    }

    function _hashPair(bytes32 left, bytes32 right) private pure returns (bytes32 parent) {
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            parent := keccak256(0x00, 0x40)
        }
    }

    function _highestPowerOfTwo(uint256 n) private pure returns (uint256 p) {
        if (n == 0) return 0;
        p = 1;
        // Bounded: n <= MAX_CANDIDATES.
        while (p << 1 <= n) p <<= 1;
    }
}
