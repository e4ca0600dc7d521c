// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IPoRAVerifier
/// @notice Groth16 verifier of the Proof of Random Access circuit (circuits/pora.circom). The deployed
///         implementation, contracts/verifiers/PoRAVerifier.sol, is generated from the circuit's
///         verification key by circuits/prepared-verifier.ts.
/// @dev Public inputs, in circuit order: [dataRoot, seed], where `dataRoot` is the deal's data root
///      (Poseidon of the file's Merkle root and size) and `seed` the challenge seed of the period, which
///      the market derives with the submitting provider's address (see IStorageMarket.challengeSeed), so
///      a proof is bound to that provider. A deal's data root is fixed, so its share of the verifier's
///      linear combination is computed once (`prepareFirstInput`, at createDeal) and every proof pays
///      only for the seed's (`verifyPrepared`): one elliptic-curve scalar multiplication less per proof.
interface IPoRAVerifier {
    /// @notice IC0 + dataRoot * IC1 of the verification key: the data root's share of the linear combination.
    /// @dev Reverts for a data root at or above the scalar field modulus.
    /// @param dataRoot The first public input.
    /// @return point A G1 point (x, y) to pass to `verifyPrepared` with every proof for this data root.
    function prepareFirstInput(uint256 dataRoot) external view returns (uint256[2] memory point);

    /// @notice Checks a proof of random access for a prepared data root and a seed.
    /// @param pA Proof point A (G1).
    /// @param pB Proof point B (G2, coordinates in the order the EVM pairing precompile expects).
    /// @param pC Proof point C (G1).
    /// @param prepared `prepareFirstInput(dataRoot)`, computed by the caller itself (StorageMarket stores it at
    ///        createDeal): with an arbitrary point anybody can make a proof pass.
    /// @param seed The second public input.
    /// @return True when the proof is valid for these public inputs.
    function verifyPrepared(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[2] calldata prepared,
        uint256 seed
    ) external view returns (bool);

    /// @notice Checks a proof of random access against both public inputs (snarkjs's verifier signature).
    /// @param pA Proof point A (G1).
    /// @param pB Proof point B (G2, coordinates in the order the EVM pairing precompile expects).
    /// @param pC Proof point C (G1).
    /// @param pubSignals [dataRoot, seed].
    /// @return True when the proof is valid for these public inputs.
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[2] calldata pubSignals
    ) external view returns (bool);
}
