// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Groth16GasMock} from "./Groth16GasMock.sol";
import {IPoRAVerifier} from "../interfaces/IPoRAVerifier.sol";

/// @title MockPoRAVerifier
/// @notice TEST ONLY — never deploy it outside tests (deploy/ deploys the generated PoRAVerifier).
///         It accepts or rejects every proof according to a settable flag, so contract tests can drive
///         the storage market without real proofs. Two optional modes make those tests sharper:
///         - expected public signals: the proof is accepted only when the market passes exactly the
///           signals set with `expectPublicSignals` (checks the [dataRoot, seed] wiring); its
///           "prepared" data root is (dataRoot, PREPARED_TAG), so the check sees the root it came from;
///         - Groth16 cost simulation: it performs the same precompile work as the generated verifier
///           (one ecMul + ecAdd per input it is given, one 4-pair pairing per proof), so gas tests measure
///           the whole `submitProof` budget.
contract MockPoRAVerifier is IPoRAVerifier {
    /// @dev One storage word, so a verification reads a single slot.
    struct Mode {
        bool result;
        bool simulateGroth16Cost;
        bool checkSignals;
    }

    /// @notice Second coordinate of every point `prepareFirstInput` returns.
    uint256 public constant PREPARED_TAG = 0xda1057;

    Mode private _mode = Mode({result: true, simulateGroth16Cost: false, checkSignals: false});
    uint256[2] private _expectedSignals;

    /// @notice Sets the answer of `verifyProof` (initially true).
    function setResult(bool accept) external {
        _mode.result = accept;
    }

    /// @notice Turns the Groth16 gas simulation on or off (initially off).
    function setSimulateGroth16Cost(bool simulate) external {
        _mode.simulateGroth16Cost = simulate;
    }

    /// @notice From now on, accepts only proofs whose public signals equal `signals`.
    function expectPublicSignals(uint256[2] calldata signals) external {
        _expectedSignals = signals;
        _mode.checkSignals = true;
    }

    /// @notice Stops checking the public signals.
    function clearExpectedPublicSignals() external {
        delete _expectedSignals;
        _mode.checkSignals = false;
    }

    /// @notice The configured answer (true unless `setResult(false)`).
    function result() external view returns (bool) {
        return _mode.result;
    }

    /// @inheritdoc IPoRAVerifier
    function prepareFirstInput(uint256 dataRoot) external view returns (uint256[2] memory point) {
        if (_mode.simulateGroth16Cost) Groth16GasMock.spendInputs(0x04, 1);
        point = [dataRoot, PREPARED_TAG];
    }

    /// @inheritdoc IPoRAVerifier
    function verifyPrepared(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        uint256[2] calldata prepared,
        uint256 seed
    ) external view returns (bool) {
        Mode memory mode = _mode;
        if (mode.simulateGroth16Cost) {
            // The seed is the word after the prepared point: selector + 10 words.
            Groth16GasMock.spendInputs(0x144, 1);
            Groth16GasMock.spendPairing();
        }
        if (mode.checkSignals) {
            if (prepared[1] != PREPARED_TAG) return false;
            if (prepared[0] != _expectedSignals[0] || seed != _expectedSignals[1]) return false;
        }
        return mode.result;
    }

    /// @inheritdoc IPoRAVerifier
    function verifyProof(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        uint256[2] calldata pubSignals
    ) external view returns (bool) {
        Mode memory mode = _mode;
        if (mode.simulateGroth16Cost) _spendGroth16Gas(pubSignals);
        if (mode.checkSignals) {
            for (uint256 i = 0; i < 2; ++i) {
                if (pubSignals[i] != _expectedSignals[i]) return false;
            }
        }
        return mode.result;
    }

    function _spendGroth16Gas(uint256[2] calldata pubSignals) private view {
        uint256 inputs;
        assembly ("memory-safe") {
            inputs := pubSignals
        }
        Groth16GasMock.spend(inputs, 2);
    }
}
