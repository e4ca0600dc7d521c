// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";

/// @title ModelRegistry
/// @notice Models of the compute layer and the enclave keys governance acknowledged. See `IModelRegistry`.
/// @dev The first storage word of a model holds what the market's proof path needs besides the commitment
///      (the verifier), so `verifierOf` costs two storage reads.
contract ModelRegistry is IModelRegistry, Ownable2Step {
    /// @inheritdoc IModelRegistry
    uint256 public constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @inheritdoc IModelRegistry
    uint256 public constant MAX_NAME_LENGTH = 64;
    /// @inheritdoc IModelRegistry
    uint256 public constant MAX_PRICE = type(uint96).max;

    struct ModelData {
        address verifier;
        uint32 inputSize;
        uint32 inputMax;
        uint32 outputSize;
        address owner;
        bool active;
        uint128 pricePerJob;
        uint256 weightsCommitment;
        uint256 weightsRoot;
        uint256 weightsSize;
        uint256 trainingDataRoot;
        bytes32 teeMeasurement;
        string name;
    }

    struct EnclaveData {
        bytes32 measurement;
        uint64 acknowledgedAt;
        uint64 revokedAt;
    }

    uint256 private _modelCount;
    mapping(uint256 modelId => ModelData) private _models;
    mapping(address key => EnclaveData) private _enclaves;

    /// @param initialOwner Governance: acknowledges and revokes enclave keys.
    constructor(address initialOwner) Ownable(initialOwner) {}

    // ------------------------------------------------------------------ model owners

    /// @inheritdoc IModelRegistry
    function registerModel(ModelSpec calldata spec) external returns (uint256 modelId) {
        if (spec.weightsCommitment == 0 || spec.weightsCommitment >= SNARK_SCALAR_FIELD) {
            revert ModelRegistryInvalidCommitment(spec.weightsCommitment);
        }
        if (spec.weightsRoot == 0) revert ModelRegistryInvalidWeightsRoot();
        if (spec.inputSize == 0 || spec.inputMax == 0 || spec.outputSize == 0) {
            revert ModelRegistryInvalidShape(spec.inputSize, spec.inputMax, spec.outputSize);
        }
        if (spec.verifier == address(0) && spec.teeMeasurement == bytes32(0)) revert ModelRegistryNoVerificationMode();
        if (spec.verifier != address(0) && spec.verifier.code.length == 0) {
            revert ModelRegistryInvalidVerifier(spec.verifier);
        }
        _checkPrice(spec.pricePerJob);
        uint256 nameLength = bytes(spec.name).length;
        if (nameLength == 0 || nameLength > MAX_NAME_LENGTH) revert ModelRegistryInvalidName(nameLength);

        // Cannot overflow: one model per call.
        unchecked {
            modelId = ++_modelCount;
        }
        ModelData storage m = _models[modelId];
        m.verifier = spec.verifier;
        m.inputSize = spec.inputSize;
        m.inputMax = spec.inputMax;
        m.outputSize = spec.outputSize;
        m.owner = msg.sender;
        m.active = true;
        m.pricePerJob = spec.pricePerJob;
        m.weightsCommitment = spec.weightsCommitment;
        m.weightsRoot = spec.weightsRoot;
        m.weightsSize = spec.weightsSize;
        m.trainingDataRoot = spec.trainingDataRoot;
        m.teeMeasurement = spec.teeMeasurement;
        m.name = spec.name;
        emit ModelRegistered(
            modelId,
            msg.sender,
            spec.weightsCommitment,
            spec.weightsRoot,
            spec.verifier,
            spec.teeMeasurement,
            spec.name
        );
    }

    /// @inheritdoc IModelRegistry
    function setPrice(uint256 modelId, uint256 price) external {
        ModelData storage m = _ownedModel(modelId);
        _checkPrice(price);
        // Exact cast: _checkPrice bounds price by 2^96 - 1.
        m.pricePerJob = uint128(price);
        _emitUpdated(modelId, m);
    }

    /// @inheritdoc IModelRegistry
    function setActive(uint256 modelId, bool active) external {
        ModelData storage m = _ownedModel(modelId);
        m.active = active;
        _emitUpdated(modelId, m);
    }

    /// @inheritdoc IModelRegistry
    function setTeeMeasurement(uint256 modelId, bytes32 measurement) external {
        ModelData storage m = _ownedModel(modelId);
        if (measurement == bytes32(0) && m.verifier == address(0)) revert ModelRegistryNoVerificationMode();
        m.teeMeasurement = measurement;
        _emitUpdated(modelId, m);
    }

    /// @inheritdoc IModelRegistry
    function transferModel(uint256 modelId, address newOwner) external {
        ModelData storage m = _ownedModel(modelId);
        if (newOwner == address(0)) revert ModelRegistryZeroAddress();
        m.owner = newOwner;
        _emitUpdated(modelId, m);
    }

    // ------------------------------------------------------------------ registry owner

    /// @inheritdoc IModelRegistry
    function acknowledgeEnclave(address key, bytes32 measurement) external onlyOwner {
        if (key == address(0)) revert ModelRegistryZeroAddress();
        if (measurement == bytes32(0)) revert ModelRegistryInvalidMeasurement();
        EnclaveData storage e = _enclaves[key];
        if (e.revokedAt != 0) revert ModelRegistryEnclaveRevoked(key, e.revokedAt);
        if (e.acknowledgedAt != 0) revert ModelRegistryEnclaveAcknowledged(key);
        e.measurement = measurement;
        e.acknowledgedAt = uint64(block.timestamp);
        emit EnclaveAcknowledged(key, measurement);
    }

    /// @inheritdoc IModelRegistry
    function revokeEnclave(address key) external onlyOwner {
        EnclaveData storage e = _enclaves[key];
        if (e.acknowledgedAt == 0) revert ModelRegistryUnknownEnclave(key);
        if (e.revokedAt != 0) revert ModelRegistryEnclaveRevoked(key, e.revokedAt);
        e.revokedAt = uint64(block.timestamp);
        emit EnclaveRevoked(key);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IModelRegistry
    function modelCount() external view returns (uint256) {
        return _modelCount;
    }

    /// @inheritdoc IModelRegistry
    function model(uint256 modelId) external view returns (Model memory) {
        ModelData storage m = _known(modelId);
        return Model({
            owner: m.owner,
            verifier: m.verifier,
            pricePerJob: m.pricePerJob,
            inputSize: m.inputSize,
            inputMax: m.inputMax,
            outputSize: m.outputSize,
            active: m.active,
            weightsCommitment: m.weightsCommitment,
            weightsRoot: m.weightsRoot,
            weightsSize: m.weightsSize,
            trainingDataRoot: m.trainingDataRoot,
            teeMeasurement: m.teeMeasurement,
            name: m.name
        });
    }

    /// @inheritdoc IModelRegistry
    function modelTerms(uint256 modelId) external view returns (ModelTerms memory) {
        ModelData storage m = _models[modelId];
        return ModelTerms({
            verifier: m.verifier,
            active: m.active,
            inputSize: m.inputSize,
            inputMax: m.inputMax,
            outputSize: m.outputSize,
            pricePerJob: m.pricePerJob,
            teeMeasurement: m.teeMeasurement
        });
    }

    /// @inheritdoc IModelRegistry
    function verifierOf(uint256 modelId) external view returns (address verifier, uint256 weightsCommitment) {
        ModelData storage m = _models[modelId];
        // A registered model has a non-zero commitment: one read checks existence and fetches it.
        weightsCommitment = m.weightsCommitment;
        if (weightsCommitment == 0) revert ModelRegistryUnknownModel(modelId);
        verifier = m.verifier;
    }

    /// @inheritdoc IModelRegistry
    function enclave(address key) external view returns (bytes32 measurement, uint64 acknowledgedAt, uint64 revokedAt) {
        EnclaveData storage e = _enclaves[key];
        return (e.measurement, e.acknowledgedAt, e.revokedAt);
    }

    /// @inheritdoc IModelRegistry
    function enclaveValidFor(address key, uint256 modelId) external view returns (bool) {
        EnclaveData storage e = _enclaves[key];
        if (e.acknowledgedAt == 0 || e.revokedAt != 0) return false;
        bytes32 expected = _models[modelId].teeMeasurement;
        return expected != bytes32(0) && expected == e.measurement;
    }

    // ------------------------------------------------------------------ internals

    function _known(uint256 modelId) private view returns (ModelData storage m) {
        if (modelId == 0 || modelId > _modelCount) revert ModelRegistryUnknownModel(modelId);
        m = _models[modelId];
    }

    function _ownedModel(uint256 modelId) private view returns (ModelData storage m) {
        m = _known(modelId);
        if (m.owner != msg.sender) revert ModelRegistryNotModelOwner(modelId, msg.sender);
    }

    function _checkPrice(uint256 price) private pure {
        if (price > MAX_PRICE) revert ModelRegistryInvalidPrice(price);
    }

    function _emitUpdated(uint256 modelId, ModelData storage m) private {
        emit ModelUpdated(modelId, m.owner, m.pricePerJob, m.active, m.teeMeasurement);
    }
}
