// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IInferenceVerifier
/// @notice Groth16 verifier of a model's inference circuit (for the digits model: circuits/digits.circom,
///         generated as contracts/verifiers/DigitsVerifier.sol). This interface is exactly the function
///         snarkjs emits, so a generated verifier satisfies it without edits; a model registers its verifier
///         in the `ModelRegistry`.
interface IInferenceVerifier {
    /// @notice Checks a Groth16 proof that `output` is the model's answer on the committed input.
    /// @dev Public signals, in circuit order: [weightsCommitment, inputCommitment, output, jobId, prover], where
    ///      `weightsCommitment` is the model's Poseidon commitment to its quantised weights, `inputCommitment`
    ///      the job's Poseidon commitment to its input, `output` the class the model computes, `jobId` the
    ///      `ComputeMarket` job and `prover = uint256(uint160(provider))`: the last two bind the proof to one
    ///      job and one provider, so it cannot be replayed for another.
    /// @param a Proof point A (G1).
    /// @param b Proof point B (G2, coordinates in the order the EVM pairing precompile expects).
    /// @param c Proof point C (G1).
    /// @param pub The five public signals described above; each below the BN254 scalar field.
    /// @return True when the proof is valid for these public signals.
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[5] calldata pub
    ) external view returns (bool);
}
