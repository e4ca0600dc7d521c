// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @title MockRandomnessSource
/// @notice TEST ONLY — never deploy it outside tests. A randomness source whose value and `knownAt` the test
///         sets per block, to drive consumers through a late seed (a beacon round relayed long after the
///         challenge block) or a seed that is not available yet.
contract MockRandomnessSource is IRandomnessSource {
    /// @notice No value was set for `blockNumber`: the seed is not available yet.
    error MockRandomnessSourceNotYetAvailable(uint256 blockNumber);

    struct Entry {
        bytes32 value;
        uint256 knownAt;
        bool set;
    }

    mapping(uint256 blockNumber => Entry) private _entries;

    /// @notice From now on, `blockNumber` has randomness `value`, public from block `knownAt`.
    function setSeed(uint256 blockNumber, bytes32 value, uint256 knownAt) external {
        _entries[blockNumber] = Entry({value: value, knownAt: knownAt, set: true});
    }

    /// @notice Makes `blockNumber` unavailable again.
    function clearSeed(uint256 blockNumber) external {
        delete _entries[blockNumber];
    }

    /// @inheritdoc IRandomnessSource
    function randomnessAt(uint256 blockNumber) external view returns (bytes32) {
        return _entry(blockNumber).value;
    }

    /// @inheritdoc IRandomnessSource
    function seedAt(uint256 blockNumber) external view returns (bytes32 value, uint256 knownAt) {
        Entry memory e = _entry(blockNumber);
        return (e.value, e.knownAt);
    }

    function _entry(uint256 blockNumber) private view returns (Entry memory e) {
        e = _entries[blockNumber];
        if (!e.set) revert MockRandomnessSourceNotYetAvailable(blockNumber);
    }
}
