// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IRandomnessSource} from "./IRandomnessSource.sol";

/// @title IBlockhashRandomness
/// @notice Randomness source that returns the hash of a past block. The EVM exposes only the hashes of
///         the 256 most recent blocks, so the value is readable from block `n + 1` to block `n + 256`.
interface IBlockhashRandomness is IRandomnessSource {
    /// @notice `blockNumber` is the current block or a future one: its hash is not known yet.
    error BlockhashRandomnessNotMined(uint256 blockNumber, uint256 currentBlock);

    /// @notice `blockNumber` is more than 256 blocks old: the EVM no longer exposes its hash.
    error BlockhashRandomnessExpired(uint256 blockNumber, uint256 currentBlock);

    /// @notice The chain returned a zero hash for a block that should be available.
    error BlockhashRandomnessUnavailable(uint256 blockNumber);

    /// @notice Number of past blocks whose hash the EVM exposes.
    function HISTORY_BLOCKS() external view returns (uint256);
}
