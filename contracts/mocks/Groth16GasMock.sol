// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title Groth16GasMock
/// @notice Test-only: spends about the gas of a Groth16 verification on BN254, for the mock verifiers.
library Groth16GasMock {
    /// @dev The precompile calls of an `count`-input Groth16 verification on BN254 generator points: one ecMul
    ///      and one ecAdd per public input (read from calldata at `inputs`), then a four-pair pairing. The points
    ///      are fixed (the caller's proof need not be on the curve); precompile gas does not depend on values.
    /// @param inputs Calldata offset of the public inputs (a `uint256[count] calldata` array).
    /// @param count Number of public inputs.
    function spend(uint256 inputs, uint256 count) internal view {
        spendInputs(inputs, count);
        spendPairing();
    }

    /// @dev One ecMul and one ecAdd per input read from calldata at `inputs` (the linear combination).
    function spendInputs(uint256 inputs, uint256 count) internal view {
        assembly ("memory-safe") {
            let m := mload(0x40)
            // Accumulator = G1 generator (1, 2).
            mstore(m, 1)
            mstore(add(m, 0x20), 2)
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                // ecMul(G1, input) into m+0x40..m+0x80, then ecAdd(accumulator, product) into accumulator.
                mstore(add(m, 0x40), 1)
                mstore(add(m, 0x60), 2)
                mstore(add(m, 0x80), calldataload(add(inputs, mul(i, 0x20))))
                if iszero(staticcall(gas(), 0x07, add(m, 0x40), 0x60, add(m, 0x40), 0x40)) { revert(0, 0) }
                if iszero(staticcall(gas(), 0x06, m, 0x80, m, 0x40)) { revert(0, 0) }
            }
        }
    }

    /// @dev A four-pair pairing check on (G1, G2) generator-like points.
    function spendPairing() internal view {
        assembly ("memory-safe") {
            // Four (G1, G2) pairs.
            let p := mload(0x40)
            for { let i := 0 } lt(i, 4) { i := add(i, 1) } {
                let q := add(p, mul(i, 0xc0))
                mstore(q, 1)
                mstore(add(q, 0x20), 2)
                mstore(add(q, 0x40), 11559732032986387107991004021392285783925812861821192530917403151452391805634)
                mstore(add(q, 0x60), 10857046999023057135944570762232829481370756359578518086990519993285655852781)
                mstore(add(q, 0x80), 4082367875863433681332203403145435568316851327593401208105741076214120093531)
                mstore(add(q, 0xa0), 8495653923123431417604973247489272438418190587263600148770280649306958101930)
            }
            if iszero(staticcall(gas(), 0x08, p, 0x300, p, 0x20)) { revert(0, 0) }
        }
    }
}
