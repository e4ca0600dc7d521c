// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IStorageMarket} from "./IStorageMarket.sol";

/// @title IComputeMarket
/// @notice Inference jobs paid from an ERC-20 escrow, whose results are accepted only when proven: by a
///         Groth16 proof (zk mode) or by the signature of an acknowledged enclave (TEE mode).
///
/// Posting. A client posts a job for an active model of the `ModelRegistry`: the verification mode (one the
/// model supports), the Poseidon commitment to the input, the input itself (inline: `inputSize` bytes, each
/// at most `inputMax`) or the storage root of the input file, up to `MAX_DATA_ROOTS` storage roots the input
/// was derived from (its lineage), the most it will pay (`maxFee`, at least the model's price) and a deadline
/// (unix time, `minJobDuration`..`maxJobDuration` seconds ahead). The job's price is the model's price at
/// posting; the market escrows exactly that price (never more: `maxFee` is the client's cap).
///
/// Claiming. An active compute provider of the `ProviderRegistry` claims an open job before its deadline and
/// backs it with collateral `max(minCollateral, price * collateralBps / BPS)` of its compute stake. The stake
/// stays in the registry, locked for this market: a claim first reuses the provider's idle collateral (stake
/// the market still holds locked from the provider's finished jobs) and locks only the rest.
///
/// Results. Until the deadline the claimer submits the output class (below the model's `outputSize`):
///   zk:  a proof the model's verifier accepts for [weightsCommitment, inputCommitment, output, jobId,
///        uint160(provider)], so a proof made for another job, provider, model, input or output fails;
///   TEE: an EIP-712 signature (domain "daios ComputeMarket", version "1", this chain and contract) of
///        `ComputeResult(uint256 jobId,uint256 modelId,uint256 weightsCommitment,uint256 inputCommitment,
///        uint256 output,address provider)` (weightsCommitment: the model's) by an enclave key the
///        `ModelRegistry` acknowledged, never revoked, for the model's `teeMeasurement` as it was when the job
///        was posted (the market snapshots it then, so a later change by the model owner cannot strand a job).
/// An accepted result credits the provider the price less the protocol fee (`protocolFeeBps` as configured
/// when the result is accepted, not when the job was posted), credits the
/// treasury the fee, and makes the job's collateral idle collateral of the provider: it stays locked in the
/// registry, is reused by the provider's next claim, and is unlocked by `releaseCollateral`.
///
/// Expiry. After the deadline anyone may `expire` an unsettled job. Open: the client is credited the price.
/// Claimed: the client is credited the price, and the job's collateral is slashed from the provider's stake
/// into this market: `reporterBps` of it is credited to the caller (unless the caller is the provider), the
/// rest to the client. Should the registry refuse the slash (e.g. governance de-authorised this market), the
/// job still expires (status Slashed, `slashed` 0): the client is refunded the price. A client may also cancel
/// its job while it is open. Every job so ends Accepted, Refunded or Slashed.
///
/// Provenance. After acceptance the provider stores the result file as a `StorageMarket` deal of its own and
/// records it with `recordOutput`: the job's `outputRoot` becomes the deal's data root, and `producerOf` maps
/// that root to the job (the first job to record a root keeps it). With the model's weights and training
/// roots, the job's input root and data roots, this gives every output an on-chain lineage.
///
/// Payouts are pull payments: credits are paid by `withdraw`. The market's token balance always equals the
/// price of every open or claimed job plus the unpaid credits (collateral stays in the registry until it is
/// slashed into the market, where it becomes credits at once). Only tokens without transfer fees or rebasing
/// are supported, and the token must be the registry's stake token.
interface IComputeMarket {
    /// @notice How a job's result is verified.
    enum Mode {
        Zk,
        Tee
    }

    /// @notice Life cycle of a job. Accepted, Refunded and Slashed are final.
    enum Status {
        None,
        Open,
        Claimed,
        Accepted,
        Refunded,
        Slashed
    }

    /// @notice A job as posted by a client.
    /// @param modelId The model; registered and active.
    /// @param mode `uint8(Mode)`; a mode the model supports (zk: it has a verifier; TEE: a measurement).
    /// @param inputCommitment Poseidon commitment to the input: non-zero, below the BN254 scalar field.
    /// @param input The input inline (one byte per value): empty, or exactly `inputSize` bytes, each at most
    ///        `inputMax`. Published in `JobPosted`, not stored.
    /// @param inputRoot Storage root of the input file: zero, or non-zero below the field. Exactly one of
    ///        `input` and `inputRoot` is given.
    /// @param dataRoots Storage roots the input was derived from (lineage): at most MAX_DATA_ROOTS, each
    ///        non-zero below the field.
    /// @param maxFee The most the client will pay: at least the model's price, at most 2^128 - 1.
    /// @param deadline Unix time by which the result must be submitted: minJobDuration..maxJobDuration
    ///        seconds after the posting block.
    struct JobRequest {
        uint256 modelId;
        uint8 mode;
        uint256 inputCommitment;
        bytes input;
        uint256 inputRoot;
        uint256[] dataRoots;
        uint256 maxFee;
        uint64 deadline;
    }

    /// @notice A job, as returned by `job`.
    /// @param modelId The model.
    /// @param client Who posted (and is refunded by) the job.
    /// @param provider Who claimed it; zero while open (and for a job refunded while open).
    /// @param mode Verification mode.
    /// @param status Life-cycle status.
    /// @param deadline Unix time by which the result must be submitted.
    /// @param maxFee The client's cap, as posted.
    /// @param price The model's price at posting: the escrow, and what an accepted result is paid.
    /// @param collateral The provider's collateral for the job; zero while open.
    /// @param inputCommitment Poseidon commitment to the input.
    /// @param inputRoot Storage root of the input file; zero for an inline input.
    /// @param output The accepted output class; zero unless accepted.
    /// @param outputRoot Storage root of the result file, once recorded; zero before.
    /// @param postedAt Block of posting.
    /// @param settledAt Block in which the job was accepted, refunded or slashed; zero before.
    /// @param teeMeasurement TEE jobs: the model's teeMeasurement at posting, which the signing enclave key must
    ///        have been acknowledged for; zero for zk jobs.
    struct Job {
        uint256 modelId;
        address client;
        address provider;
        Mode mode;
        Status status;
        uint256 deadline;
        uint256 maxFee;
        uint256 price;
        uint256 collateral;
        uint256 inputCommitment;
        uint256 inputRoot;
        uint256 output;
        uint256 outputRoot;
        uint256 postedAt;
        uint256 settledAt;
        bytes32 teeMeasurement;
    }

    /// @notice Parameters the owner sets.
    /// @param protocolFeeBps Treasury's share of an accepted job's price, in basis points: at most
    ///        MAX_PROTOCOL_FEE_BPS.
    /// @param collateralBps Collateral of a claim in basis points of the price: at most MAX_COLLATERAL_BPS.
    /// @param minCollateral Least collateral of a claim: at most 2^96 - 1.
    /// @param reporterBps Share of slashed collateral credited to whoever expires the job: at most BPS.
    /// @param minJobDuration Least seconds between posting and the deadline: non-zero.
    /// @param maxJobDuration Most seconds between posting and the deadline: minJobDuration..MAX_JOB_DURATION.
    struct Config {
        uint256 protocolFeeBps;
        uint256 collateralBps;
        uint256 minCollateral;
        uint256 reporterBps;
        uint256 minJobDuration;
        uint256 maxJobDuration;
    }

    // ------------------------------------------------------------------ errors

    /// @notice No model has id `modelId`.
    error ComputeUnknownModel(uint256 modelId);
    /// @notice Model `modelId` takes no new jobs (its owner deactivated it).
    error ComputeModelInactive(uint256 modelId);
    /// @notice Model `modelId` does not support verification mode `mode` (or `mode` is no mode).
    error ComputeModeNotSupported(uint256 modelId, uint256 mode);
    /// @notice `maxFee` is below the model's price `price`.
    error ComputeFeeBelowPrice(uint256 maxFee, uint256 price);
    /// @notice `maxFee` exceeds 2^128 - 1.
    error ComputeFeeTooLarge(uint256 maxFee);
    /// @notice The deadline `deadline` is not after the current block's time `currentTime`.
    error ComputeDeadlineInPast(uint256 deadline, uint256 currentTime);
    /// @notice The deadline is outside [`earliest`, `latest`] (minJobDuration..maxJobDuration from now).
    error ComputeInvalidDeadline(uint256 deadline, uint256 earliest, uint256 latest);
    /// @notice The input commitment is zero or not below the BN254 scalar field.
    error ComputeInvalidInputCommitment(uint256 inputCommitment);
    /// @notice Neither an inline input nor an input root was given.
    error ComputeNoInput();
    /// @notice Both an inline input and an input root were given.
    error ComputeBothInputs();
    /// @notice The inline input has `length` bytes; the model takes `expected`.
    error ComputeInvalidInputLength(uint256 length, uint256 expected);
    /// @notice Input byte `index` is `value`, above the model's largest input value `max`.
    error ComputeInputOutOfRange(uint256 index, uint256 value, uint256 max);
    /// @notice `count` data roots were given; at most `max` are allowed.
    error ComputeTooManyDataRoots(uint256 count, uint256 max);
    /// @notice A storage root (input root or data root) is zero or not below the BN254 scalar field.
    error ComputeInvalidRoot(uint256 root);
    /// @notice No job has id `jobId`.
    error ComputeUnknownJob(uint256 jobId);
    /// @notice The job is not open (its status is `status`).
    error ComputeJobNotOpen(uint256 jobId, Status status);
    /// @notice The job is not claimed (its status is `status`): no result can be submitted.
    error ComputeJobNotClaimed(uint256 jobId, Status status);
    /// @notice The job is settled already (its status is `status`).
    error ComputeJobSettled(uint256 jobId, Status status);
    /// @notice The job is not accepted (its status is `status`).
    error ComputeJobNotAccepted(uint256 jobId, Status status);
    /// @notice `provider` is not an active compute provider in the registry.
    error ComputeProviderNotActive(address provider);
    /// @notice `caller` is not the job's provider.
    error ComputeNotProvider(uint256 jobId, address caller);
    /// @notice `caller` is not the job's client.
    error ComputeNotClient(uint256 jobId, address caller);
    /// @notice The job's mode is `mode`; the submission was for the other mode.
    error ComputeWrongMode(uint256 jobId, Mode mode);
    /// @notice The job's deadline `deadline` has passed.
    error ComputeDeadlinePassed(uint256 jobId, uint256 deadline);
    /// @notice The job's deadline `deadline` has not passed yet.
    error ComputeDeadlineNotPassed(uint256 jobId, uint256 deadline);
    /// @notice `output` is not a class of the model (there are `outputSize`).
    error ComputeInvalidOutput(uint256 jobId, uint256 output, uint256 outputSize);
    /// @notice The model's verifier rejected the proof.
    error ComputeInvalidProof(uint256 jobId);
    /// @notice The signature is malformed (not 65 bytes, high s, or no signer recovers).
    error ComputeInvalidSignature(uint256 jobId);
    /// @notice The result's signer `key` is not an acknowledged enclave key.
    error ComputeEnclaveUnknown(address key);
    /// @notice The result's signer `key` was revoked at `revokedAt`.
    error ComputeEnclaveRevoked(address key, uint256 revokedAt);
    /// @notice The result's signer `key` was acknowledged for `measurement`; the job expects `expected` (the
    ///         model's measurement when the job was posted).
    error ComputeEnclaveWrongMeasurement(address key, bytes32 measurement, bytes32 expected);
    /// @notice Storage deal `dealId` belongs to `dealClient`, not to the job's provider.
    error ComputeDealNotByProvider(uint256 dealId, address dealClient);
    /// @notice Storage deal `dealId` is not Active (its status is `status`, an `IStorageMarket.DealStatus`).
    error ComputeDealNotActive(uint256 dealId, IStorageMarket.DealStatus status);
    /// @notice The job's output root `outputRoot` is recorded already.
    error ComputeOutputRecorded(uint256 jobId, uint256 outputRoot);
    /// @notice `account` has no credit to withdraw.
    error ComputeNothingToWithdraw(address account);
    /// @notice `provider` has no idle collateral to release.
    error ComputeNothingToRelease(address provider);
    /// @notice An amount does not fit the market's accounting.
    error ComputeAmountTooLarge(uint256 amount);
    /// @notice Configuration parameter `name` has the invalid value `value`.
    error ComputeInvalidConfig(string name, uint256 value);
    /// @notice The market token `token` is not the registry's stake token `stakeToken`.
    error ComputeTokenMismatch(address token, address stakeToken);
    /// @notice A constructor address is zero.
    error ComputeZeroAddress();

    // ------------------------------------------------------------------ events

    /// @notice `client` posted job `jobId` and escrowed `price`. `input` is the inline input (empty when the
    ///         input is the storage file `inputRoot`).
    event JobPosted(
        uint256 indexed jobId,
        uint256 indexed modelId,
        address indexed client,
        Mode mode,
        uint256 inputCommitment,
        bytes input,
        uint256 inputRoot,
        uint256[] dataRoots,
        uint256 maxFee,
        uint256 price,
        uint256 deadline
    );
    /// @notice `provider` claimed job `jobId`, backing it with `collateral` of its compute stake.
    event JobClaimed(uint256 indexed jobId, address indexed provider, uint256 collateral);
    /// @notice The result `output` of job `jobId` was accepted: `provider` was credited `pay` and the
    ///         treasury `protocolFee`. `enclave` is the signing key in TEE mode, zero in zk mode.
    event JobAccepted(
        uint256 indexed jobId, address indexed provider, uint256 output, uint256 pay, uint256 protocolFee, address enclave
    );
    /// @notice The client cancelled open job `jobId` and was credited `refund`.
    event JobCancelled(uint256 indexed jobId, uint256 refund);
    /// @notice Job `jobId` passed its deadline unsettled and was expired by `reporter`: `status` is Refunded
    ///         (it was open) or Slashed (it was claimed; `slashed` collateral was taken from the provider).
    ///         The client was credited `refund` (the price plus its share of the slash), the reporter
    ///         `reporterShare`.
    event JobExpired(
        uint256 indexed jobId,
        Status status,
        uint256 refund,
        uint256 slashed,
        address indexed reporter,
        uint256 reporterShare
    );
    /// @notice The provider of job `jobId` recorded its result file, storage deal `dealId` with root
    ///         `outputRoot`.
    event OutputRecorded(uint256 indexed jobId, uint256 indexed outputRoot, uint256 dealId);
    /// @notice `account` withdrew `amount` of credit.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice `provider` released `amount` of idle collateral; the registry unlocked it.
    event CollateralReleased(address indexed provider, uint256 amount);
    /// @notice The owner set the parameters.
    event ConfigSet(
        uint256 protocolFeeBps,
        uint256 collateralBps,
        uint256 minCollateral,
        uint256 reporterBps,
        uint256 minJobDuration,
        uint256 maxJobDuration
    );

    // ------------------------------------------------------------------ clients

    /// @notice Posts a job and pulls its price from the caller (needs an ERC-20 allowance of at least the
    ///         model's price). See `JobRequest` for every field's rule.
    /// @param request The job.
    /// @return jobId The new job's id; ids start at 1.
    function postJob(JobRequest calldata request) external returns (uint256 jobId);

    /// @notice Cancels an open job (its client only); the price is credited back.
    /// @param jobId The job.
    function cancelJob(uint256 jobId) external;

    // ------------------------------------------------------------------ providers

    /// @notice Claims an open job before its deadline (an active compute provider only), backing it with
    ///         `collateralFor(price)`: idle collateral first, then newly locked stake (the registry reverts
    ///         when the free stake is short).
    /// @param jobId The job.
    function claimJob(uint256 jobId) external;

    /// @notice Submits the result of a zk-mode job (its provider only, by the deadline) with a Groth16 proof
    ///         over [weightsCommitment, inputCommitment, output, jobId, uint160(msg.sender)], and settles it.
    ///         The protocol fee is taken at the rate configured at acceptance (this call), so an owner's
    ///         `setConfig` fee change applies to every job accepted after it, including jobs already posted.
    /// @param jobId The job.
    /// @param output The output class; below the model's outputSize.
    /// @param a Proof point A.
    /// @param b Proof point B.
    /// @param c Proof point C.
    function submitResult(
        uint256 jobId,
        uint256 output,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c
    ) external;

    /// @notice Submits the result of a TEE-mode job (its provider only, by the deadline) with an enclave's
    ///         EIP-712 signature of `resultDigest(jobId, modelId, weightsCommitment, inputCommitment, output,
    ///         msg.sender)` (the model's weights commitment), and settles it. The signer must be acknowledged
    ///         in the `ModelRegistry` (else ComputeEnclaveUnknown), not revoked (ComputeEnclaveRevoked), and
    ///         acknowledged for the model's measurement as snapshotted at posting
    ///         (ComputeEnclaveWrongMeasurement). The protocol fee is taken at the rate configured at
    ///         acceptance, as for `submitResult`.
    /// @param jobId The job.
    /// @param output The output class; below the model's outputSize.
    /// @param signature 65-byte ECDSA signature (r, s, v) with low s.
    function submitResultTee(uint256 jobId, uint256 output, bytes calldata signature) external;

    /// @notice Records the result file of an accepted job (its provider only, once): storage deal `dealId`,
    ///         whose client must be the caller and which must be Active (its upload is complete and stored;
    ///         else ComputeDealNotActive). Sets the job's `outputRoot` to the deal's data root and, when
    ///         that root has no producer yet, `producerOf(root)` to the job.
    /// @param jobId The job.
    /// @param dealId The storage deal of the result file.
    function recordOutput(uint256 jobId, uint256 dealId) external;

    /// @notice Unlocks the caller's whole idle collateral in the provider registry.
    function releaseCollateral() external;

    // ------------------------------------------------------------------ everyone

    /// @notice Settles a job whose deadline has passed without an accepted result (anyone): refunds an open
    ///         job; refunds a claimed one and slashes its collateral (see the header for the split).
    /// @param jobId The job.
    function expire(uint256 jobId) external;

    /// @notice Transfers the caller's whole credit to the caller.
    function withdraw() external;

    // ------------------------------------------------------------------ owner

    /// @notice Sets the parameters (owner only); they apply to jobs posted, claimed or settled from now on.
    ///         In particular `protocolFeeBps` is read when a result is accepted: a fee change applies to every
    ///         job accepted after it, including jobs posted or claimed before it.
    /// @param config The parameters (see `Config` for their bounds).
    function setConfig(Config calldata config) external;

    // ------------------------------------------------------------------ views

    /// @notice Basis-point denominator.
    function BPS() external view returns (uint256);
    /// @notice Cap of the protocol fee, in basis points.
    function MAX_PROTOCOL_FEE_BPS() external view returns (uint256);
    /// @notice Cap of the collateral, in basis points of the price.
    function MAX_COLLATERAL_BPS() external view returns (uint256);
    /// @notice Cap of `maxJobDuration`, in seconds.
    function MAX_JOB_DURATION() external view returns (uint256);
    /// @notice Most data roots a job may name.
    function MAX_DATA_ROOTS() external view returns (uint256);
    /// @notice The BN254 scalar field modulus; commitments and roots are below it.
    function SNARK_SCALAR_FIELD() external view returns (uint256);
    /// @notice keccak256 of the EIP-712 type
    ///         "ComputeResult(uint256 jobId,uint256 modelId,uint256 weightsCommitment,uint256 inputCommitment,
    ///         uint256 output,address provider)".
    function RESULT_TYPEHASH() external view returns (bytes32);

    /// @notice The ERC-20 token of prices and credits (the registry's stake token).
    function token() external view returns (address);
    /// @notice The provider registry (compute stake, collateral locks and slashing).
    function providerRegistry() external view returns (address);
    /// @notice The model registry.
    function modelRegistry() external view returns (address);
    /// @notice The storage market whose deals hold result files.
    function storageMarket() external view returns (address);
    /// @notice Receiver of protocol fees.
    function treasury() external view returns (address);
    /// @notice The registry role of compute providers.
    function computeRole() external view returns (bytes32);
    /// @notice The parameters.
    function config() external view returns (Config memory);
    /// @notice Collateral a claim of a job priced `price` needs now: max(minCollateral, price * collateralBps / BPS).
    function collateralFor(uint256 price) external view returns (uint256);

    /// @notice Number of jobs posted; also the id of the newest.
    function jobCount() external view returns (uint256);
    /// @notice Job `jobId`; reverts for an unknown id.
    function job(uint256 jobId) external view returns (Job memory);
    /// @notice The data roots job `jobId` named (its input's lineage); reverts for an unknown id.
    function jobDataRoots(uint256 jobId) external view returns (uint256[] memory);
    /// @notice The job whose result file has storage root `root`; zero when none recorded it.
    function producerOf(uint256 root) external view returns (uint256 jobId);
    /// @notice Credit `account` can withdraw.
    function credits(address account) external view returns (uint256);
    /// @notice Collateral of `provider` the market holds locked in the registry for no job (released by
    ///         `releaseCollateral`, reused by claims).
    function idleCollateral(address provider) external view returns (uint256);
    /// @notice The EIP-712 digest an enclave signs for a TEE result.
    function resultDigest(
        uint256 jobId,
        uint256 modelId,
        uint256 weightsCommitment,
        uint256 inputCommitment,
        uint256 output,
        address provider
    ) external view returns (bytes32);
}
