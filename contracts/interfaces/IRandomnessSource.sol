// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IRandomnessSource
/// @notice A source of public randomness indexed by block number. Challenge seeds of the proof layers are
///         derived from it. Implementations: `RandomnessBeacon` (verified drand-compatible rounds, the source
///         every deployment uses) and `BlockhashRandomness` (the block hash itself; unit tests only).
interface IRandomnessSource {
    /// @notice Randomness fixed at `blockNumber`.
    /// @dev Reverts when the value is not known (yet or any more); never returns a value that may change.
    /// @param blockNumber The block whose randomness is asked for.
    /// @return The random value.
    function randomnessAt(uint256 blockNumber) external view returns (bytes32);

    /// @notice Randomness fixed at `blockNumber`, with the block from which it is public.
    /// @dev The value is the one `randomnessAt(blockNumber)` returns. `knownAt` is the first block in which
    ///      anyone could read it: `blockNumber` itself for a block hash, the block a beacon round was relayed
    ///      in for a beacon. A consumer that rewards speed measures it from `knownAt`, so a late source never
    ///      costs a prover. Reverts, like `randomnessAt`, while the value is not known (yet or any more).
    /// @param blockNumber The block whose randomness is asked for.
    /// @return value The random value.
    /// @return knownAt The block from which `value` is public; never after the current block.
    function seedAt(uint256 blockNumber) external view returns (bytes32 value, uint256 knownAt);
}
