// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title ShaMerkle
/// @notice Inclusion proofs of the SHA-256 Merkle tree that commits a DA blob's coded chunks
///         (agents/src/sdk/da/commitment.ts): leaf = sha256(0x00 || chunk), parent = sha256(0x01 || left ||
///         right). The domain bytes keep a leaf from being passed off as an inner node. Hashing goes through
///         the SHA-256 precompile (0x02), hence `view`.
library ShaMerkle {
    /// @notice The SHA-256 precompile failed (out of gas).
    error ShaMerklePrecompileFailed();

    /// @notice sha256(0x00 || chunk).
    function leafHash(bytes calldata chunk) internal view returns (bytes32 leaf) {
        bool ok;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x00)
            calldatacopy(add(ptr, 1), chunk.offset, chunk.length)
            ok := staticcall(gas(), 0x02, ptr, add(chunk.length, 1), 0x00, 0x20)
            leaf := mload(0x00)
        }
        if (!ok) revert ShaMerklePrecompileFailed();
    }

    /// @notice sha256(0x01 || left || right).
    function nodeHash(bytes32 left, bytes32 right) internal view returns (bytes32 parent) {
        bool ok;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            mstore(add(ptr, 0x01), left)
            mstore(add(ptr, 0x21), right)
            ok := staticcall(gas(), 0x02, ptr, 0x41, 0x00, 0x20)
            parent := mload(0x00)
        }
        if (!ok) revert ShaMerklePrecompileFailed();
    }

    /// @notice Root reached from `leaf` at `index` with `proof` (siblings from the leaf up); bits of `index`
    ///         above `proof.length` are ignored, so callers check `index < 2^proof.length` themselves.
    function computeRoot(bytes32 leaf, uint256 index, bytes32[] calldata proof) internal view returns (bytes32 node) {
        node = leaf;
        uint256 depth = proof.length;
        // Bounded by the caller, which fixes the expected depth of the tree.
        for (uint256 i = 0; i < depth; ++i) {
            node = (index >> i) & 1 == 0 ? nodeHash(node, proof[i]) : nodeHash(proof[i], node);
        }
    }

    /// @notice True when `chunk` is leaf `index` of the tree of depth `proof.length` with root `root`, and
    ///         `index < 2^proof.length`.
    function verify(bytes32 root, uint256 index, bytes calldata chunk, bytes32[] calldata proof)
        internal
        view
        returns (bool)
    {
        if (proof.length < 256 && index >> proof.length != 0) return false;
        return computeRoot(leafHash(chunk), index, proof) == root;
    }
}
