// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IMemoryRegistry} from "../interfaces/IMemoryRegistry.sol";

/// @title MemoryProof
/// @notice Proofs of the sparse Merkle tree with shortcut leaves that commits to a memory stream's map.
///
/// The path of a key is the 256 bits of keyHash = keccak256(key), most significant bit first. Node hashes:
///   empty subtree  bytes32(0)
///   leaf           keccak256(abi.encodePacked(bytes1(0x00), keyHash, valueHash, uint64 seq, uint64 version))
///   internal       keccak256(abi.encodePacked(bytes1(0x01), left, right))
/// A subtree with no leaf is empty, one with exactly one leaf is that leaf, one with two or more is an internal
/// node whose children are the subtrees of the next path bit (0 left, 1 right). The root of the empty map is 0.
///
/// A proof lists the sibling hashes along the key's path, top-down, and ends at a terminal node at depth
/// d = siblings.length: empty (the key is absent), the key's own leaf (membership), or another key's leaf whose
/// path shares the first d bits (the key is absent).
library MemoryProof {
    /// @notice Longest path: one bit per bit of keyHash.
    uint256 internal constant MAX_DEPTH = 256;
    /// @dev Bytes of an encoded leaf: keyHash, valueHash, uint64 seq, uint64 version.
    uint256 private constant LEAF_BYTES = 80;

    /// @notice keccak256(abi.encodePacked(bytes1(0x00), keyHash, valueHash, seq, version)): 81 bytes.
    function leafHash(IMemoryRegistry.Leaf memory leaf) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x00), leaf.keyHash, leaf.valueHash, leaf.seq, leaf.version));
    }

    /// @notice keccak256(abi.encodePacked(bytes1(0x01), left, right)): 65 bytes.
    function nodeHash(bytes32 left, bytes32 right) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            // Scratch use of free memory: nothing is allocated, the free memory pointer stays.
            let p := mload(0x40)
            mstore8(p, 0x01)
            mstore(add(p, 1), left)
            mstore(add(p, 33), right)
            h := keccak256(p, 65)
        }
    }

    /// @notice Bit `i` (0 = most significant) of `keyHash`: the branch taken at depth `i`.
    function bit(bytes32 keyHash, uint256 i) internal pure returns (uint256) {
        return (uint256(keyHash) >> (255 - i)) & 1;
    }

    /// @notice Verifies `proof` for `keyHash` against `root`; reverts with the failing check.
    /// @return member True when the terminal node is the key's own leaf.
    /// @return leaf The terminal leaf (the key's, another key's, or all zero for an empty terminal).
    function verify(bytes32 root, bytes32 keyHash, IMemoryRegistry.Proof memory proof)
        internal
        pure
        returns (bool member, IMemoryRegistry.Leaf memory leaf)
    {
        bytes32[] memory siblings = proof.siblings;
        uint256 depth = siblings.length;
        if (depth > MAX_DEPTH) revert IMemoryRegistry.MemoryProofTooDeep(depth);
        bytes32 h;
        if (proof.hasLeaf) {
            leaf = proof.leaf;
            if (leaf.keyHash == keyHash) {
                member = true;
            } else if (depth != 0 && (uint256(leaf.keyHash ^ keyHash) >> (MAX_DEPTH - depth)) != 0) {
                // The other key's leaf must sit on the queried key's path: same first `depth` bits.
                revert IMemoryRegistry.MemoryProofLeafOffPath(keyHash, leaf.keyHash, depth);
            }
            h = leafHash(leaf);
        }
        // Bounded: depth <= MAX_DEPTH.
        for (uint256 i = depth; i != 0;) {
            // Cannot underflow: i != 0.
            unchecked {
                --i;
            }
            h = bit(keyHash, i) == 0 ? nodeHash(h, siblings[i]) : nodeHash(siblings[i], h);
        }
        if (h != root) revert IMemoryRegistry.MemoryProofRootMismatch(h, root);
    }

    /// @notice Decodes the wire encoding: uint16 d (big-endian), d x 32-byte siblings, a flag byte (0 no leaf,
    ///         1 leaf), then for a leaf keyHash, valueHash, uint64 seq, uint64 version (big-endian).
    function decode(bytes memory encoded) internal pure returns (IMemoryRegistry.Proof memory proof) {
        uint256 length = encoded.length;
        if (length < 3) revert IMemoryRegistry.MemoryProofMalformed(length);
        uint256 depth = (uint256(uint8(encoded[0])) << 8) | uint8(encoded[1]);
        // Cannot overflow: depth < 2^16.
        uint256 flagAt;
        unchecked {
            flagAt = 2 + 32 * depth;
        }
        if (length <= flagAt) revert IMemoryRegistry.MemoryProofMalformed(length);
        uint256 flag = uint8(encoded[flagAt]);
        if (flag > 1) revert IMemoryRegistry.MemoryProofInvalidFlag(flag);
        // Cannot overflow: flagAt < 2^22.
        uint256 expected;
        unchecked {
            expected = flagAt + 1 + (flag == 1 ? LEAF_BYTES : 0);
        }
        if (length != expected) revert IMemoryRegistry.MemoryProofMalformed(length);
        bytes32[] memory siblings = new bytes32[](depth);
        // Bounded: depth < 2^16, and the encoding holds every sibling (length checked).
        for (uint256 i = 0; i < depth; ++i) {
            bytes32 s;
            assembly ("memory-safe") {
                s := mload(add(add(encoded, 34), mul(i, 32)))
            }
            siblings[i] = s;
        }
        proof.siblings = siblings;
        if (flag == 1) {
            bytes32 keyHash;
            bytes32 valueHash;
            uint256 tail;
            assembly ("memory-safe") {
                let p := add(add(encoded, 33), flagAt)
                keyHash := mload(p)
                valueHash := mload(add(p, 32))
                tail := mload(add(p, 64))
            }
            proof.hasLeaf = true;
            // The last 16 bytes: seq (8 bytes) then version (8 bytes), big-endian; the casts keep their bits.
            proof.leaf = IMemoryRegistry.Leaf({
                keyHash: keyHash, valueHash: valueHash, seq: uint64(tail >> 192), version: uint64(tail >> 128)
            });
        }
    }

    /// @notice The wire encoding of `proof` (see `decode`).
    function encode(IMemoryRegistry.Proof memory proof) internal pure returns (bytes memory encoded) {
        uint256 depth = proof.siblings.length;
        encoded = abi.encodePacked(uint16(depth), proof.siblings, proof.hasLeaf ? bytes1(0x01) : bytes1(0x00));
        if (proof.hasLeaf) {
            IMemoryRegistry.Leaf memory l = proof.leaf;
            encoded = abi.encodePacked(encoded, l.keyHash, l.valueHash, l.seq, l.version);
        }
    }
}
