// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IModelRegistry
/// @notice Registry of the models the compute layer serves, and of the TEE enclave keys the registry owner
///         (governance) acknowledged.
///
/// A model is a quantised network identified by `weightsCommitment`, the Poseidon commitment to its weights
/// that its inference circuit recomputes (see agents/src/sdk/compute/commitment.ts). Its weights file lives
/// in the storage layer under `weightsRoot` (`weightsSize` bytes), so that providers fetch it and check it
/// against the commitment, and lineage can name it; `trainingDataRoot` optionally names the storage root of
/// the data it was trained on. A model takes `inputSize` input values, each in [0, inputMax], and answers a
/// class below `outputSize`. It supports zero-knowledge verification when it names a `verifier` (an
/// `IInferenceVerifier`) and TEE verification when it names a `teeMeasurement` (the attestation measurement
/// of the enclave code allowed to run it); at least one of the two.
///
/// The model's owner (its registrant, or whom it was transferred to) sets its price per job, pauses it
/// (inactive models take no new jobs; jobs already posted still settle), changes its TEE measurement and
/// transfers it. Weights, verifier and shapes never change: a new version is a new model.
///
/// Enclaves. The registry owner acknowledges an enclave's signing key together with the measurement its
/// attestation quote proved (the quote is checked off-chain, by governance), and may revoke it for good. A
/// key is valid for a model while it is acknowledged, not revoked, and its measurement equals the model's
/// non-zero `teeMeasurement`.
interface IModelRegistry {
    /// @notice What a registrant supplies; the registry adds the owner (the caller) and `active = true`.
    /// @param verifier Groth16 verifier of the model's inference circuit; zero when the model has no zk mode.
    /// @param pricePerJob Price of one job in the compute market's token; at most 2^96 - 1.
    /// @param inputSize Number of input values: non-zero.
    /// @param inputMax Largest input value: non-zero.
    /// @param outputSize Number of output classes: non-zero.
    /// @param weightsCommitment Poseidon commitment to the quantised weights: non-zero, below the BN254 field.
    /// @param weightsRoot Storage root (Poseidon Merkle root) of the weights file: non-zero.
    /// @param weightsSize Size of the weights file in bytes.
    /// @param trainingDataRoot Storage root of the training data; zero when not published.
    /// @param teeMeasurement Measurement of the enclave code allowed to run the model; zero when no TEE mode.
    /// @param name Human-readable name: 1..MAX_NAME_LENGTH bytes.
    struct ModelSpec {
        address verifier;
        uint128 pricePerJob;
        uint32 inputSize;
        uint32 inputMax;
        uint32 outputSize;
        uint256 weightsCommitment;
        uint256 weightsRoot;
        uint256 weightsSize;
        uint256 trainingDataRoot;
        bytes32 teeMeasurement;
        string name;
    }

    /// @notice A model, as returned by `model`. Fields as in `ModelSpec`, plus:
    /// @param owner Who may change the price, the activity and the TEE measurement, and transfer the model.
    /// @param active True while the model accepts new jobs.
    struct Model {
        address owner;
        address verifier;
        uint128 pricePerJob;
        uint32 inputSize;
        uint32 inputMax;
        uint32 outputSize;
        bool active;
        uint256 weightsCommitment;
        uint256 weightsRoot;
        uint256 weightsSize;
        uint256 trainingDataRoot;
        bytes32 teeMeasurement;
        string name;
    }

    /// @notice The fields of a model a new compute job is checked against (see `modelTerms`).
    struct ModelTerms {
        address verifier;
        bool active;
        uint32 inputSize;
        uint32 inputMax;
        uint32 outputSize;
        uint128 pricePerJob;
        bytes32 teeMeasurement;
    }

    // ------------------------------------------------------------------ errors

    /// @notice No model has id `modelId`.
    error ModelRegistryUnknownModel(uint256 modelId);
    /// @notice `caller` is not the owner of model `modelId`.
    error ModelRegistryNotModelOwner(uint256 modelId, address caller);
    /// @notice The weights commitment is zero or not below the BN254 scalar field.
    error ModelRegistryInvalidCommitment(uint256 weightsCommitment);
    /// @notice The storage root of the weights file is zero.
    error ModelRegistryInvalidWeightsRoot();
    /// @notice A shape is zero: every one of `inputSize`, `inputMax` and `outputSize` must be positive.
    error ModelRegistryInvalidShape(uint256 inputSize, uint256 inputMax, uint256 outputSize);
    /// @notice The model would have neither a verifier nor a TEE measurement.
    error ModelRegistryNoVerificationMode();
    /// @notice The verifier address holds no contract.
    error ModelRegistryInvalidVerifier(address verifier);
    /// @notice The price exceeds 2^96 - 1.
    error ModelRegistryInvalidPrice(uint256 price);
    /// @notice The name is empty or longer than `MAX_NAME_LENGTH` bytes.
    error ModelRegistryInvalidName(uint256 length);
    /// @notice An address argument is zero.
    error ModelRegistryZeroAddress();
    /// @notice The enclave measurement is zero.
    error ModelRegistryInvalidMeasurement();
    /// @notice `key` was never acknowledged.
    error ModelRegistryUnknownEnclave(address key);
    /// @notice `key` is acknowledged already (a key stays bound to its measurement).
    error ModelRegistryEnclaveAcknowledged(address key);
    /// @notice `key` was revoked at `revokedAt`; a revoked key is never valid again.
    error ModelRegistryEnclaveRevoked(address key, uint256 revokedAt);

    // ------------------------------------------------------------------ events

    /// @notice `owner` registered model `modelId`.
    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        uint256 weightsCommitment,
        uint256 weightsRoot,
        address verifier,
        bytes32 teeMeasurement,
        string name
    );
    /// @notice A mutable field of model `modelId` changed; the event carries all of them as they are now.
    event ModelUpdated(
        uint256 indexed modelId, address indexed owner, uint256 pricePerJob, bool active, bytes32 teeMeasurement
    );
    /// @notice The registry owner acknowledged enclave key `key` running code with `measurement`.
    event EnclaveAcknowledged(address indexed key, bytes32 indexed measurement);
    /// @notice The registry owner revoked enclave key `key`.
    event EnclaveRevoked(address indexed key);

    // ------------------------------------------------------------------ model owners

    /// @notice Registers a model owned by the caller, active at once.
    /// @param spec The model (see `ModelSpec` for every field's rule).
    /// @return modelId The new model's id; ids start at 1.
    function registerModel(ModelSpec calldata spec) external returns (uint256 modelId);

    /// @notice Sets the price of jobs posted from now on (model owner only); at most 2^96 - 1.
    /// @param modelId The model.
    /// @param price New price per job.
    function setPrice(uint256 modelId, uint256 price) external;

    /// @notice Opens or closes the model to new jobs (model owner only).
    /// @param modelId The model.
    /// @param active True to accept new jobs.
    function setActive(uint256 modelId, bool active) external;

    /// @notice Sets the measurement of the enclave code allowed to run the model (model owner only); zero
    ///         turns TEE mode off, which a model without a verifier may not do. Applies to results submitted
    ///         from now on.
    /// @param modelId The model.
    /// @param measurement New measurement.
    function setTeeMeasurement(uint256 modelId, bytes32 measurement) external;

    /// @notice Transfers the model to `newOwner` (model owner only).
    /// @param modelId The model.
    /// @param newOwner New owner; non-zero.
    function transferModel(uint256 modelId, address newOwner) external;

    // ------------------------------------------------------------------ registry owner

    /// @notice Acknowledges enclave signing key `key`, whose attestation quote proved it runs code with
    ///         `measurement` (registry owner only; a key is acknowledged once).
    /// @param key The enclave's signing address.
    /// @param measurement The attested code measurement; non-zero.
    function acknowledgeEnclave(address key, bytes32 measurement) external;

    /// @notice Revokes enclave key `key` for good (registry owner only); results it signs are refused from now on.
    /// @param key An acknowledged, not yet revoked key.
    function revokeEnclave(address key) external;

    // ------------------------------------------------------------------ views

    /// @notice The BN254 scalar field modulus; weights commitments are below it.
    function SNARK_SCALAR_FIELD() external view returns (uint256);
    /// @notice Longest model name, in bytes.
    function MAX_NAME_LENGTH() external view returns (uint256);
    /// @notice Largest price per job: 2^96 - 1.
    function MAX_PRICE() external view returns (uint256);

    /// @notice Number of models registered; also the id of the newest.
    function modelCount() external view returns (uint256);
    /// @notice Model `modelId`; reverts for an unknown id.
    function model(uint256 modelId) external view returns (Model memory);
    /// @notice The fields of model `modelId` a new compute job is checked against, in one call without the
    ///         name (the market's posting path); all zero for an unknown id (a registered model has
    ///         `inputSize > 0`).
    function modelTerms(uint256 modelId) external view returns (ModelTerms memory);
    /// @notice The two fields a zk result is checked with (one call, two storage reads, for the market's
    ///         proof path); reverts for an unknown id.
    /// @return verifier The model's verifier; zero when it has no zk mode.
    /// @return weightsCommitment The model's weights commitment.
    function verifierOf(uint256 modelId) external view returns (address verifier, uint256 weightsCommitment);
    /// @notice The record of enclave key `key` (all zero when never acknowledged).
    /// @return measurement The acknowledged code measurement.
    /// @return acknowledgedAt Timestamp of the acknowledgement.
    /// @return revokedAt Timestamp of the revocation; zero while not revoked.
    function enclave(address key) external view returns (bytes32 measurement, uint64 acknowledgedAt, uint64 revokedAt);
    /// @notice True when `key` is acknowledged, not revoked, and its measurement equals model `modelId`'s
    ///         non-zero TEE measurement; false for an unknown model.
    function enclaveValidFor(address key, uint256 modelId) external view returns (bool);
}
