// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IBlockhashRandomness} from "../interfaces/IBlockhashRandomness.sol";
import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @title BlockhashRandomness
/// @notice Randomness source that returns the hash of a past block. Cheap and always available, but a
///         block producer can withhold a block to re-roll its hash, so deployments use the verified
///         `RandomnessBeacon`; this source remains for unit tests that need randomness without a relayer.
contract BlockhashRandomness is IBlockhashRandomness {
    /// @inheritdoc IBlockhashRandomness
    uint256 public constant HISTORY_BLOCKS = 256;

    /// @inheritdoc IRandomnessSource
    function randomnessAt(uint256 blockNumber) external view returns (bytes32 value) {
        value = _hashOf(blockNumber);
    }

    /// @inheritdoc IRandomnessSource
    /// @dev The hash of block `blockNumber` is fixed when that block is sealed: `knownAt` is `blockNumber`.
    function seedAt(uint256 blockNumber) external view returns (bytes32 value, uint256 knownAt) {
        value = _hashOf(blockNumber);
        knownAt = blockNumber;
    }

    function _hashOf(uint256 blockNumber) private view returns (bytes32 value) {
        if (blockNumber >= block.number) revert BlockhashRandomnessNotMined(blockNumber, block.number);
        // Cannot underflow: blockNumber < block.number was checked above.
        unchecked {
            if (block.number - blockNumber > HISTORY_BLOCKS) {
                revert BlockhashRandomnessExpired(blockNumber, block.number);
            }
        }
        value = blockhash(blockNumber);
        if (value == bytes32(0)) revert BlockhashRandomnessUnavailable(blockNumber);
    }
}
