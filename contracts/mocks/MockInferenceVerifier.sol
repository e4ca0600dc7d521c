// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Groth16GasMock} from "./Groth16GasMock.sol";
import {IInferenceVerifier} from "../interfaces/IInferenceVerifier.sol";

/// @title MockInferenceVerifier
/// @notice TEST ONLY — never deploy it outside tests (deploy/ deploys the generated DigitsVerifier).
///         It accepts or rejects every proof according to a settable flag, so contract tests can drive the
///         compute market without real proofs. Two optional modes make those tests sharper:
///         - expected public inputs: a proof is accepted only when the market passes exactly the inputs set
///           with `expectPublicInputs` ([weightsCommitment, inputCommitment, output, jobId, prover]); a
///           test sets the inputs of one job and provider, and a submission for any other job, provider,
///           model, input or output is rejected, as a real proof would be;
///         - Groth16 cost simulation: it performs the precompile work of a snarkjs Groth16 verifier with five
///           public inputs (5 ecMul, 5 ecAdd, one 4-pair pairing), so gas tests measure the whole
///           `submitResult` budget.
///         `verifyProof` is a view (as the generated verifier's), so it cannot record the inputs it saw;
///         tests that need them use `vm.expectCall` on `verifyProof` with the exact calldata.
contract MockInferenceVerifier is IInferenceVerifier {
    /// @dev One storage word, so a verification reads a single slot.
    struct Mode {
        bool result;
        bool simulateGroth16Cost;
        bool checkInputs;
    }

    Mode private _mode = Mode({result: true, simulateGroth16Cost: false, checkInputs: false});
    uint256[5] private _expectedInputs;

    /// @notice Sets the answer of `verifyProof` (initially true).
    function setResult(bool accept) external {
        _mode.result = accept;
    }

    /// @notice Turns the Groth16 gas simulation on or off (initially off).
    function setSimulateGroth16Cost(bool simulate) external {
        _mode.simulateGroth16Cost = simulate;
    }

    /// @notice From now on, accepts only proofs whose public inputs equal `inputs`.
    function expectPublicInputs(uint256[5] calldata inputs) external {
        _expectedInputs = inputs;
        _mode.checkInputs = true;
    }

    /// @notice Stops checking the public inputs.
    function clearExpectedPublicInputs() external {
        delete _expectedInputs;
        _mode.checkInputs = false;
    }

    /// @notice The configured answer (true unless `setResult(false)`).
    function result() external view returns (bool) {
        return _mode.result;
    }

    /// @notice The public inputs expected since the last `expectPublicInputs` (all zero when not checking).
    function expectedPublicInputs() external view returns (uint256[5] memory) {
        return _expectedInputs;
    }

    /// @inheritdoc IInferenceVerifier
    function verifyProof(uint256[2] calldata, uint256[2][2] calldata, uint256[2] calldata, uint256[5] calldata pub)
        external
        view
        returns (bool)
    {
        Mode memory mode = _mode;
        if (mode.simulateGroth16Cost) _spendGroth16Gas(pub);
        if (mode.checkInputs) {
            for (uint256 i = 0; i < 5; ++i) {
                if (pub[i] != _expectedInputs[i]) return false;
            }
        }
        return mode.result;
    }

    function _spendGroth16Gas(uint256[5] calldata pub) private view {
        uint256 inputs;
        assembly ("memory-safe") {
            inputs := pub
        }
        Groth16GasMock.spend(inputs, 5);
    }
}
