// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {BlockhashRandomness} from "../../contracts/randomness/BlockhashRandomness.sol";
import {IBlockhashRandomness} from "../../contracts/interfaces/IBlockhashRandomness.sol";

contract BlockhashRandomnessTest is Test {
    BlockhashRandomness internal randomness;

    function setUp() public {
        randomness = new BlockhashRandomness();
        vm.roll(1_000);
    }

    function test_ReturnsTheBlockHashWithinHistory() public {
        vm.setBlockhash(999, bytes32(uint256(0xabc)));
        vm.setBlockhash(744, bytes32(uint256(0xdef)));
        assertEq(randomness.randomnessAt(999), bytes32(uint256(0xabc)));
        assertEq(randomness.randomnessAt(744), bytes32(uint256(0xdef)), "exactly 256 blocks old");
        assertEq(randomness.HISTORY_BLOCKS(), 256);
    }

    function test_SeedAtIsTheBlockHashKnownAtItsBlock() public {
        vm.setBlockhash(999, bytes32(uint256(0xabc)));
        (bytes32 value, uint256 knownAt) = randomness.seedAt(999);
        assertEq(value, bytes32(uint256(0xabc)));
        assertEq(knownAt, 999);
        vm.expectRevert(abi.encodeWithSelector(IBlockhashRandomness.BlockhashRandomnessNotMined.selector, 1_000, 1_000));
        randomness.seedAt(1_000);
        vm.expectRevert(abi.encodeWithSelector(IBlockhashRandomness.BlockhashRandomnessExpired.selector, 743, 1_000));
        randomness.seedAt(743);
    }

    function test_RevertsForCurrentAndFutureBlocks() public {
        vm.expectRevert(abi.encodeWithSelector(IBlockhashRandomness.BlockhashRandomnessNotMined.selector, 1_000, 1_000));
        randomness.randomnessAt(1_000);
        vm.expectRevert(abi.encodeWithSelector(IBlockhashRandomness.BlockhashRandomnessNotMined.selector, 5_000, 1_000));
        randomness.randomnessAt(5_000);
    }

    function test_RevertsForExpiredBlocks() public {
        vm.expectRevert(abi.encodeWithSelector(IBlockhashRandomness.BlockhashRandomnessExpired.selector, 743, 1_000));
        randomness.randomnessAt(743);
        vm.expectRevert(abi.encodeWithSelector(IBlockhashRandomness.BlockhashRandomnessExpired.selector, 0, 1_000));
        randomness.randomnessAt(0);
    }

    function test_RevertsWhenTheChainReturnsNoHash() public {
        vm.setBlockhash(990, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IBlockhashRandomness.BlockhashRandomnessUnavailable.selector, 990));
        randomness.randomnessAt(990);
    }

    function testFuzz_AvailableExactlyForTheLast256Blocks(uint256 blockNumber) public view {
        blockNumber = _bound(blockNumber, 0, 2_000);
        bool available = blockNumber < block.number && block.number - blockNumber <= 256;
        try randomness.randomnessAt(blockNumber) returns (bytes32 value) {
            assertTrue(available);
            assertEq(value, blockhash(blockNumber));
        } catch {
            assertFalse(available);
        }
    }
}
