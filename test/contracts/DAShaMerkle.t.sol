// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {DaConstants as C} from "../../contracts/generated/ProtocolConstants.sol";
import {ShaMerkle} from "../../contracts/libraries/ShaMerkle.sol";
import {IDABlobs} from "../../contracts/interfaces/IDABlobs.sol";
import {DAFixture} from "./DAFixture.t.sol";

contract ShaMerkleHarness {
    function verify(bytes32 root, uint256 index, bytes calldata chunk, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        return ShaMerkle.verify(root, index, chunk, proof);
    }

    function leafHash(bytes calldata chunk) external view returns (bytes32) {
        return ShaMerkle.leafHash(chunk);
    }

    function verifyGas(bytes32 root, uint256 index, bytes calldata chunk, bytes32[] calldata proof)
        external
        view
        returns (uint256 used)
    {
        used = gasleft();
        require(ShaMerkle.verify(root, index, chunk, proof), "invalid");
        used -= gasleft();
    }
}

/// @notice ShaMerkle against the commitment vectors of the TypeScript reference (test/vectors/da.json,
///         agents/src/sdk/da/commitment.ts), and DABlobs' coding parameters against the encoded blobs there.
contract DAShaMerkleTest is DAFixture {
    string internal constant VECTORS = "test/vectors/da.json";

    ShaMerkleHarness internal h;
    string internal json;

    function setUp() public override {
        super.setUp();
        h = new ShaMerkleHarness();
        json = vm.readFile(VECTORS);
    }

    function test_Vectors_TreeProofsVerify() public view {
        assertEq(vm.parseJsonUint(json, ".chunkSize"), C.CHUNK_SIZE, "same chunk size");
        uint256 trees = _count(".trees", ".root");
        assertGt(trees, 3, "tree vectors present");
        for (uint256 t = 0; t < trees; ++t) {
            _checkProofs(string.concat(".trees[", vm.toString(t), "]"));
        }
    }

    function test_Vectors_BlobProofsVerifyAndCodingMatches() public view {
        uint256 cases = _count(".blobs", ".root");
        assertGt(cases, 3, "blob vectors present");
        for (uint256 b = 0; b < cases; ++b) {
            string memory base = string.concat(".blobs[", vm.toString(b), "]");
            _checkProofs(base);
            uint256 size = vm.parseJsonUint(json, string.concat(base, ".size"));
            uint256 quorumSize = vm.parseJsonUint(json, string.concat(base, ".quorumSize"));
            IDABlobs.Coding memory c = blobs.coding(size, quorumSize);
            assertEq(c.dataShards, vm.parseJsonUint(json, string.concat(base, ".k")), "k");
            assertEq(c.totalShards, vm.parseJsonUint(json, string.concat(base, ".n")), "n");
            assertEq(c.shardSize, vm.parseJsonUint(json, string.concat(base, ".shardSize")), "shard size");
            assertEq(c.chunksPerShard, vm.parseJsonUint(json, string.concat(base, ".chunksPerShard")), "chunks/shard");
            assertEq(c.chunkCount, vm.parseJsonUint(json, string.concat(base, ".leafCount")), "chunks");
            assertEq(c.treeDepth, vm.parseJsonUint(json, string.concat(base, ".depth")), "depth");
        }
    }

    function _checkProofs(string memory base) internal view {
        bytes32 root = vm.parseJsonBytes32(json, string.concat(base, ".root"));
        uint256 proofs = _count(string.concat(base, ".proofs"), ".leaf");
        assertGt(proofs, 0);
        for (uint256 i = 0; i < proofs; ++i) {
            string memory p = string.concat(base, ".proofs[", vm.toString(i), "]");
            uint256 index = vm.parseJsonUint(json, string.concat(p, ".index"));
            bytes memory chunk = vm.parseJsonBytes(json, string.concat(p, ".chunk"));
            bytes32[] memory proof = _bytes32Array(string.concat(p, ".proof"));
            assertEq(chunk.length, C.CHUNK_SIZE);
            assertEq(h.leafHash(chunk), vm.parseJsonBytes32(json, string.concat(p, ".leaf")), "leaf hash");
            assertTrue(h.verify(root, index, chunk, proof), "vector proof verifies");

            // Expect-fail: another chunk, another index, a wrong sibling, a short proof, an index beyond 2^depth.
            bytes memory other = bytes.concat(chunk);
            other[C.CHUNK_SIZE - 1] ^= 0x01;
            assertFalse(h.verify(root, index, other, proof), "flipped byte");
            if (proof.length > 0) {
                assertFalse(h.verify(root, index ^ 1, chunk, proof), "other index");
                bytes32[] memory wrong = new bytes32[](proof.length);
                bytes32[] memory short = new bytes32[](proof.length - 1);
                for (uint256 j = 0; j < proof.length; ++j) {
                    wrong[j] = proof[j];
                    if (j + 1 < proof.length) short[j] = proof[j];
                }
                wrong[proof.length - 1] ^= bytes32(uint256(1));
                assertFalse(h.verify(root, index, chunk, wrong), "wrong sibling");
                assertFalse(h.verify(root, index, chunk, short), "short proof");
            }
            assertFalse(h.verify(root, index + (uint256(1) << proof.length), chunk, proof), "index >= 2^depth");
        }
    }

    function test_Gas_VerifyDepth20() public {
        bytes memory chunk = _chunk(0);
        bytes32[] memory proof = new bytes32[](C.MAX_TREE_DEPTH);
        bytes32 node = sha256(abi.encodePacked(bytes1(0x00), chunk));
        for (uint256 i = 0; i < proof.length; ++i) {
            proof[i] = keccak256(abi.encode(i));
            node = sha256(abi.encodePacked(bytes1(0x01), node, proof[i]));
        }
        uint256 used = h.verifyGas(node, 0, chunk, proof);
        emit log_named_uint("ShaMerkle.verify gas, depth 20", used);
        assertLt(used, 15_000, "a depth-20 chunk proof costs ~10k gas");
    }

    function _bytes32Array(string memory key) internal view returns (bytes32[] memory values) {
        uint256 n;
        while (vm.keyExistsJson(json, string.concat(key, "[", vm.toString(n), "]"))) ++n;
        values = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            values[i] = vm.parseJsonBytes32(json, string.concat(key, "[", vm.toString(i), "]"));
        }
    }

    function _count(string memory key, string memory field) internal view returns (uint256 n) {
        while (vm.keyExistsJson(json, string.concat(key, "[", vm.toString(n), "]", field))) ++n;
    }
}
