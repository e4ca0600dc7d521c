// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IComputeMarket} from "../interfaces/IComputeMarket.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IInferenceVerifier} from "../interfaces/IInferenceVerifier.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {IStorageMarket} from "../interfaces/IStorageMarket.sol";

/// @title ComputeMarket
/// @notice Escrowed inference jobs settled by Groth16 proofs or enclave signatures. See `IComputeMarket`.
/// @dev Laid out for the result paths, whose whole zk transaction (with the ~239k-gas DigitsVerifier) has to
///      stay under 300k gas. A zk result reads four job words (hot, terms, input commitment, reference), the
///      fee word and the model's verifier and weights commitment (cached here at the model's first job:
///      both never change in the registry, and two reads are cheaper than a registry call), and writes three
///      words that are non-zero already: the job's hot word, the provider's account (credit and idle
///      collateral in one word) and the fee word (the fee rate and the treasury's accrued fees in one word).
///      The collateral is not unlocked in the registry on acceptance (that call alone costs ~20k gas); it
///      becomes idle collateral, reused by the provider's next claim or unlocked by `releaseCollateral`.
///      Credits are stored offset by one once an account is first touched, so that a later credit never
///      writes a zero word.
contract ComputeMarket is IComputeMarket, Ownable2Step, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;

    /// @inheritdoc IComputeMarket
    uint256 public constant BPS = 10_000;
    /// @inheritdoc IComputeMarket
    uint256 public constant MAX_PROTOCOL_FEE_BPS = 2_000;
    /// @inheritdoc IComputeMarket
    uint256 public constant MAX_COLLATERAL_BPS = 100_000;
    /// @inheritdoc IComputeMarket
    uint256 public constant MAX_JOB_DURATION = 30 days;
    /// @inheritdoc IComputeMarket
    uint256 public constant MAX_DATA_ROOTS = 8;
    /// @inheritdoc IComputeMarket
    uint256 public constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @inheritdoc IComputeMarket
    bytes32 public constant RESULT_TYPEHASH = keccak256(
        "ComputeResult(uint256 jobId,uint256 modelId,uint256 weightsCommitment,uint256 inputCommitment,uint256 output,address provider)"
    );

    /// @dev Largest `minCollateral`; with price < 2^96 and collateralBps <= 10 * BPS every collateral is below
    ///      2^100 and fits `JobTerms.collateral`.
    uint256 private constant MAX_MIN_COLLATERAL = type(uint96).max;

    /// @dev Job word read by every step after posting, written by the claim and by the settlement.
    ///      output < outputSize < 2^32; block numbers fit 40 bits for any realistic chain.
    struct JobHot {
        address provider;
        Status status;
        Mode mode;
        uint32 output;
        uint40 settledAt;
    }

    /// @dev price <= ModelRegistry.MAX_PRICE = 2^96 - 1; collateral < 2^100 (see MAX_MIN_COLLATERAL); the
    ///      deadline is at most MAX_JOB_DURATION after a block's timestamp.
    struct JobTerms {
        uint96 price;
        uint120 collateral;
        uint40 deadline;
    }

    /// @dev Written once at posting. outputSize is copied from the model so results need no model read
    ///      beyond the verifier.
    struct JobRef {
        address client;
        uint64 modelId;
        uint32 outputSize;
    }

    /// @dev Read by views only.
    struct JobCold {
        uint128 maxFee;
        uint40 postedAt;
    }

    struct JobRecord {
        JobHot hot;
        JobTerms terms;
        uint256 inputCommitment;
        JobRef ref;
        JobCold cold;
        uint256 inputRoot;
        uint256 outputRoot;
        /// @dev The model's teeMeasurement at posting; written for TEE jobs only (zero for zk jobs).
        bytes32 teeMeasurement;
    }

    /// @dev `credit` is the account's credit + 1 once the account was first touched (0 before); see the
    ///      contract's notes. `idleCollateral` is stake the market holds locked in the registry for no job.
    struct Account {
        uint128 credit;
        uint128 idleCollateral;
    }

    /// @dev Read and written by every accepted result: the fee rate and the protocol fees accrued for the
    ///      treasury and not yet withdrawn (part of the treasury's credit).
    struct Fees {
        uint16 protocolFeeBps;
        uint128 accrued;
    }

    /// @dev The other parameters, one word.
    struct Params {
        uint32 collateralBps;
        uint96 minCollateral;
        uint16 reporterBps;
        uint32 minJobDuration;
        uint32 maxJobDuration;
    }

    IERC20 private immutable _token;
    IProviderRegistry private immutable _registry;
    IModelRegistry private immutable _models;
    IStorageMarket private immutable _storage;
    address private immutable _treasury;
    bytes32 private immutable _computeRole;

    /// @dev What a result is checked with, copied from the registry at the model's first job (the verifier is
    ///      zero for a TEE-only model; the weights commitment is bound by both modes).
    struct ZkModel {
        address verifier;
        uint256 weightsCommitment;
    }

    Fees private _fees;
    Params private _params;
    uint256 private _jobCount;
    mapping(uint256 jobId => JobRecord) private _jobs;
    mapping(uint256 jobId => uint256[]) private _dataRoots;
    mapping(uint256 root => uint256 jobId) private _producers;
    mapping(address account => Account) private _accounts;
    mapping(uint256 modelId => ZkModel) private _zkModels;

    /// @param token_ ERC-20 token of prices and credits; must be the provider registry's stake token (slashed
    ///        collateral arrives in it).
    /// @param providerRegistry_ Provider registry; this market must be an authorised compute layer there.
    /// @param modelRegistry_ Model registry.
    /// @param storageMarket_ Storage market holding result files.
    /// @param treasury_ Receiver of protocol fees.
    /// @param config_ Initial parameters (see `Config`). The deployer becomes the owner.
    constructor(
        address token_,
        address providerRegistry_,
        address modelRegistry_,
        address storageMarket_,
        address treasury_,
        Config memory config_
    ) Ownable(msg.sender) EIP712("daios ComputeMarket", "1") {
        if (
            token_ == address(0) || providerRegistry_ == address(0) || modelRegistry_ == address(0)
                || storageMarket_ == address(0) || treasury_ == address(0)
        ) revert ComputeZeroAddress();
        address stakeToken = IProviderRegistry(providerRegistry_).stakeToken();
        if (token_ != stakeToken) revert ComputeTokenMismatch(token_, stakeToken);
        _token = IERC20(token_);
        _registry = IProviderRegistry(providerRegistry_);
        _models = IModelRegistry(modelRegistry_);
        _storage = IStorageMarket(storageMarket_);
        _treasury = treasury_;
        _computeRole = IProviderRegistry(providerRegistry_).COMPUTE_ROLE();
        _setConfig(config_);
    }

    // ------------------------------------------------------------------ clients

    /// @inheritdoc IComputeMarket
    function postJob(JobRequest calldata request) external nonReentrant returns (uint256 jobId) {
        uint256 modelId = request.modelId;
        IModelRegistry.ModelTerms memory m = _models.modelTerms(modelId);
        if (m.inputSize == 0) revert ComputeUnknownModel(modelId);
        if (!m.active) revert ComputeModelInactive(modelId);
        Mode mode = _checkMode(modelId, request.mode, m);
        if (request.maxFee < m.pricePerJob) revert ComputeFeeBelowPrice(request.maxFee, m.pricePerJob);
        if (request.maxFee > type(uint128).max) revert ComputeFeeTooLarge(request.maxFee);
        Params memory p = _params;
        _checkDeadline(request.deadline, p);
        if (request.inputCommitment == 0 || request.inputCommitment >= SNARK_SCALAR_FIELD) {
            revert ComputeInvalidInputCommitment(request.inputCommitment);
        }
        _checkInput(request.input, request.inputRoot, m);
        _checkDataRoots(request.dataRoots);

        _cacheModel(modelId);
        jobId = _storeJob(request, m, mode);
        _emitPosted(jobId, request, mode, m.pricePerJob);

        if (m.pricePerJob != 0) _token.safeTransferFrom(msg.sender, address(this), m.pricePerJob);
    }

    /// @inheritdoc IComputeMarket
    function cancelJob(uint256 jobId) external nonReentrant {
        JobRecord storage j = _jobs[jobId];
        JobHot memory h = j.hot;
        if (h.status != Status.Open) {
            if (h.status == Status.None) revert ComputeUnknownJob(jobId);
            revert ComputeJobNotOpen(jobId, h.status);
        }
        address client = j.ref.client;
        if (msg.sender != client) revert ComputeNotClient(jobId, msg.sender);
        uint256 refund = j.terms.price;
        h.status = Status.Refunded;
        h.settledAt = uint40(block.number);
        j.hot = h;
        _credit(client, refund);
        emit JobCancelled(jobId, refund);
    }

    // ------------------------------------------------------------------ providers

    /// @inheritdoc IComputeMarket
    function claimJob(uint256 jobId) external nonReentrant {
        JobRecord storage j = _jobs[jobId];
        JobHot memory h = j.hot;
        if (h.status != Status.Open) {
            if (h.status == Status.None) revert ComputeUnknownJob(jobId);
            revert ComputeJobNotOpen(jobId, h.status);
        }
        JobTerms memory t = j.terms;
        if (block.timestamp > t.deadline) revert ComputeDeadlinePassed(jobId, t.deadline);
        if (!_registry.isActive(msg.sender, _computeRole)) revert ComputeProviderNotActive(msg.sender);
        uint256 collateral = _collateralFor(t.price, _params);

        h.provider = msg.sender;
        h.status = Status.Claimed;
        j.hot = h;
        // Exact cast: see MAX_MIN_COLLATERAL.
        j.terms.collateral = uint120(collateral);
        Account memory a = _accounts[msg.sender];
        uint256 toLock;
        if (a.idleCollateral >= collateral) {
            // Cannot underflow: checked just above. The cast is exact: the result is below a uint128.
            unchecked {
                a.idleCollateral = uint128(a.idleCollateral - collateral);
            }
        } else {
            // Cannot underflow: idleCollateral < collateral.
            unchecked {
                toLock = collateral - a.idleCollateral;
            }
            a.idleCollateral = 0;
        }
        // Touch the account so that the result's credit writes a non-zero word.
        if (a.credit == 0) a.credit = 1;
        _accounts[msg.sender] = a;
        emit JobClaimed(jobId, msg.sender, collateral);

        if (toLock != 0) _registry.lockStake(msg.sender, _computeRole, toLock);
    }

    /// @inheritdoc IComputeMarket
    function submitResult(
        uint256 jobId,
        uint256 output,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c
    ) external nonReentrant {
        (JobRecord storage j, JobHot memory h, JobTerms memory t, uint256 modelId) =
            _resultContext(jobId, output, Mode.Zk);
        ZkModel storage z = _zkModels[modelId];
        uint256[5] memory pub = [z.weightsCommitment, j.inputCommitment, output, jobId, uint256(uint160(msg.sender))];
        if (!IInferenceVerifier(z.verifier).verifyProof(a, b, c, pub)) revert ComputeInvalidProof(jobId);

        _accept(j, jobId, h, t, output, address(0));
    }

    /// @inheritdoc IComputeMarket
    function submitResultTee(uint256 jobId, uint256 output, bytes calldata signature) external nonReentrant {
        (JobRecord storage j, JobHot memory h, JobTerms memory t, uint256 modelId) =
            _resultContext(jobId, output, Mode.Tee);
        bytes32 digest =
            _resultDigest(jobId, modelId, _zkModels[modelId].weightsCommitment, j.inputCommitment, output, msg.sender);
        (address signer, ECDSA.RecoverError recoverError,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (recoverError != ECDSA.RecoverError.NoError) revert ComputeInvalidSignature(jobId);
        _checkEnclave(signer, j.teeMeasurement);

        _accept(j, jobId, h, t, output, signer);
    }

    /// @inheritdoc IComputeMarket
    function recordOutput(uint256 jobId, uint256 dealId) external {
        JobRecord storage j = _jobs[jobId];
        JobHot memory h = j.hot;
        if (h.status != Status.Accepted) {
            if (h.status == Status.None) revert ComputeUnknownJob(jobId);
            revert ComputeJobNotAccepted(jobId, h.status);
        }
        if (msg.sender != h.provider) revert ComputeNotProvider(jobId, msg.sender);
        uint256 recorded = j.outputRoot;
        if (recorded != 0) revert ComputeOutputRecorded(jobId, recorded);
        // The storage market is trusted (deployed with this market); `deal` reverts for an unknown deal.
        IStorageMarket.DealInfo memory d = _storage.deal(dealId);
        if (d.client != msg.sender) revert ComputeDealNotByProvider(dealId, d.client);
        if (d.status != IStorageMarket.DealStatus.Active) revert ComputeDealNotActive(dealId, d.status);
        uint256 root = d.dataRoot;
        j.outputRoot = root;
        if (_producers[root] == 0) _producers[root] = jobId;
        emit OutputRecorded(jobId, root, dealId);
    }

    /// @inheritdoc IComputeMarket
    function releaseCollateral() external nonReentrant {
        Account memory a = _accounts[msg.sender];
        uint256 amount = a.idleCollateral;
        if (amount == 0) revert ComputeNothingToRelease(msg.sender);
        a.idleCollateral = 0;
        _accounts[msg.sender] = a;
        emit CollateralReleased(msg.sender, amount);

        _registry.unlockStake(msg.sender, _computeRole, amount);
    }

    // ------------------------------------------------------------------ everyone

    /// @inheritdoc IComputeMarket
    function expire(uint256 jobId) external nonReentrant {
        JobRecord storage j = _jobs[jobId];
        JobHot memory h = j.hot;
        if (h.status != Status.Open && h.status != Status.Claimed) {
            if (h.status == Status.None) revert ComputeUnknownJob(jobId);
            revert ComputeJobSettled(jobId, h.status);
        }
        JobTerms memory t = j.terms;
        if (block.timestamp <= t.deadline) revert ComputeDeadlineNotPassed(jobId, t.deadline);
        address client = j.ref.client;
        bool claimed = h.status == Status.Claimed;
        h.status = claimed ? Status.Slashed : Status.Refunded;
        h.settledAt = uint40(block.number);
        j.hot = h;

        uint256 slashed;
        uint256 reporterShare;
        if (claimed && t.collateral != 0) {
            // The registry is trusted (it holds the stake). It takes the market's own lock first, which
            // covers this job's collateral (the lock is the collateral of the provider's claimed jobs plus
            // its idle collateral), and sends the tokens here.
            // A failing slash (e.g. governance de-authorised this market) must not block the refund: the
            // client is refunded the price and nothing is slashed.
            try _registry.slash(h.provider, _computeRole, t.collateral, address(this)) returns (uint256 amount) {
                slashed = amount;
            } catch {}
            // A provider expiring its own job earns no bounty.
            if (msg.sender != h.provider) reporterShare = slashed * _params.reporterBps / BPS;
        }
        // Cannot underflow: reporterShare <= slashed.
        uint256 refund;
        unchecked {
            refund = t.price + slashed - reporterShare;
        }
        if (refund != 0) _credit(client, refund);
        if (reporterShare != 0) _credit(msg.sender, reporterShare);
        emit JobExpired(jobId, h.status, refund, slashed, msg.sender, reporterShare);
    }

    /// @inheritdoc IComputeMarket
    function withdraw() external nonReentrant {
        Account storage account = _accounts[msg.sender];
        uint256 raw = account.credit;
        uint256 amount;
        // Cannot underflow: checked raw > 1.
        unchecked {
            if (raw > 1) amount = raw - 1;
        }
        if (msg.sender == _treasury) {
            uint256 accrued = _fees.accrued;
            if (accrued != 0) {
                _fees.accrued = 0;
                amount += accrued;
            }
        }
        if (amount == 0) revert ComputeNothingToWithdraw(msg.sender);
        if (raw > 1) account.credit = 1;
        emit Withdrawn(msg.sender, amount);

        _token.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ owner

    /// @inheritdoc IComputeMarket
    function setConfig(Config calldata config_) external onlyOwner {
        _setConfig(config_);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IComputeMarket
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IComputeMarket
    function providerRegistry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IComputeMarket
    function modelRegistry() external view returns (address) {
        return address(_models);
    }

    /// @inheritdoc IComputeMarket
    function storageMarket() external view returns (address) {
        return address(_storage);
    }

    /// @inheritdoc IComputeMarket
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IComputeMarket
    function computeRole() external view returns (bytes32) {
        return _computeRole;
    }

    /// @inheritdoc IComputeMarket
    function config() external view returns (Config memory) {
        Params memory p = _params;
        return Config({
            protocolFeeBps: _fees.protocolFeeBps,
            collateralBps: p.collateralBps,
            minCollateral: p.minCollateral,
            reporterBps: p.reporterBps,
            minJobDuration: p.minJobDuration,
            maxJobDuration: p.maxJobDuration
        });
    }

    /// @inheritdoc IComputeMarket
    function collateralFor(uint256 price) external view returns (uint256) {
        return _collateralFor(price, _params);
    }

    /// @inheritdoc IComputeMarket
    function jobCount() external view returns (uint256) {
        return _jobCount;
    }

    /// @inheritdoc IComputeMarket
    function job(uint256 jobId) external view returns (Job memory) {
        JobRecord storage j = _jobs[jobId];
        JobHot memory h = j.hot;
        if (h.status == Status.None) revert ComputeUnknownJob(jobId);
        JobTerms memory t = j.terms;
        JobRef memory r = j.ref;
        JobCold memory cold = j.cold;
        return Job({
            modelId: r.modelId,
            client: r.client,
            provider: h.provider,
            mode: h.mode,
            status: h.status,
            deadline: t.deadline,
            maxFee: cold.maxFee,
            price: t.price,
            collateral: t.collateral,
            inputCommitment: j.inputCommitment,
            inputRoot: j.inputRoot,
            output: h.output,
            outputRoot: j.outputRoot,
            postedAt: cold.postedAt,
            settledAt: h.settledAt,
            teeMeasurement: j.teeMeasurement
        });
    }

    /// @inheritdoc IComputeMarket
    function jobDataRoots(uint256 jobId) external view returns (uint256[] memory) {
        if (_jobs[jobId].hot.status == Status.None) revert ComputeUnknownJob(jobId);
        return _dataRoots[jobId];
    }

    /// @inheritdoc IComputeMarket
    function producerOf(uint256 root) external view returns (uint256) {
        return _producers[root];
    }

    /// @inheritdoc IComputeMarket
    function credits(address account) external view returns (uint256 amount) {
        uint256 raw = _accounts[account].credit;
        // Cannot underflow: checked raw != 0.
        unchecked {
            if (raw != 0) amount = raw - 1;
        }
        if (account == _treasury) amount += _fees.accrued;
    }

    /// @inheritdoc IComputeMarket
    function idleCollateral(address provider) external view returns (uint256) {
        return _accounts[provider].idleCollateral;
    }

    /// @inheritdoc IComputeMarket
    function resultDigest(
        uint256 jobId,
        uint256 modelId,
        uint256 weightsCommitment,
        uint256 inputCommitment,
        uint256 output,
        address provider
    ) external view returns (bytes32) {
        return _resultDigest(jobId, modelId, weightsCommitment, inputCommitment, output, provider);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Stores a validated job request; returns the new job's id.
    function _storeJob(JobRequest calldata request, IModelRegistry.ModelTerms memory m, Mode mode)
        private
        returns (uint256 jobId)
    {
        // Cannot overflow: one job per call.
        unchecked {
            jobId = ++_jobCount;
        }
        JobRecord storage j = _jobs[jobId];
        // Exact casts: price <= MAX_PRICE < 2^96 (the registry's bound), deadline < now + MAX_JOB_DURATION,
        // modelId <= modelCount (one model per registration), maxFee < 2^128 (checked), block numbers fit
        // 40 bits.
        j.hot = JobHot({provider: address(0), status: Status.Open, mode: mode, output: 0, settledAt: 0});
        j.terms = JobTerms({price: uint96(m.pricePerJob), collateral: 0, deadline: uint40(request.deadline)});
        j.inputCommitment = request.inputCommitment;
        j.ref = JobRef({client: msg.sender, modelId: uint64(request.modelId), outputSize: m.outputSize});
        j.cold = JobCold({maxFee: uint128(request.maxFee), postedAt: uint40(block.number)});
        if (request.inputRoot != 0) j.inputRoot = request.inputRoot;
        if (request.dataRoots.length != 0) _dataRoots[jobId] = request.dataRoots;
        if (mode == Mode.Tee) j.teeMeasurement = m.teeMeasurement;
    }

    function _emitPosted(uint256 jobId, JobRequest calldata request, Mode mode, uint256 price) private {
        emit JobPosted(
            jobId,
            request.modelId,
            msg.sender,
            mode,
            request.inputCommitment,
            request.input,
            request.inputRoot,
            request.dataRoots,
            request.maxFee,
            price,
            request.deadline
        );
    }

    /// @dev Settles an accepted result: pays the provider and the treasury, turns the collateral idle.
    function _accept(
        JobRecord storage j,
        uint256 jobId,
        JobHot memory h,
        JobTerms memory t,
        uint256 output,
        address enclave
    ) private {
        uint256 price = t.price;
        Fees memory fees = _fees;
        uint256 fee = price * fees.protocolFeeBps / BPS;
        // Cannot underflow: fee <= price (protocolFeeBps <= MAX_PROTOCOL_FEE_BPS < BPS).
        uint256 pay;
        unchecked {
            pay = price - fee;
        }
        h.status = Status.Accepted;
        // Exact casts: output < outputSize < 2^32 (checked by the caller); block numbers fit 40 bits.
        h.output = uint32(output);
        h.settledAt = uint40(block.number);
        j.hot = h;
        // The claim touched the provider's account, so this writes a non-zero word.
        Account memory a = _accounts[h.provider];
        a.credit = _toUint128(uint256(a.credit) + pay);
        a.idleCollateral = _toUint128(uint256(a.idleCollateral) + t.collateral);
        _accounts[h.provider] = a;
        if (fee != 0) {
            fees.accrued = _toUint128(uint256(fees.accrued) + fee);
            _fees = fees;
        }
        emit JobAccepted(jobId, h.provider, output, pay, fee, enclave);
    }

    /// @dev Copies the model's verifier and weights commitment from the registry the first time. Both never
    ///      change there, so the copy stays exact. (A model whose verifier and commitment are both zero is
    ///      re-read at every posting, harmlessly.)
    function _cacheModel(uint256 modelId) private {
        ZkModel storage z = _zkModels[modelId];
        if (z.verifier != address(0) || z.weightsCommitment != 0) return;
        (address verifier, uint256 weightsCommitment) = _models.verifierOf(modelId);
        z.verifier = verifier;
        z.weightsCommitment = weightsCommitment;
    }

    function _credit(address account, uint256 amount) private {
        Account storage a = _accounts[account];
        uint256 raw = a.credit;
        a.credit = _toUint128((raw == 0 ? 1 : raw) + amount);
    }

    /// @dev Checks a result submission common to both modes: the job is claimed by the caller, has `mode`,
    ///      its deadline has not passed and `output` is a class of the model. Returns what settlement needs.
    function _resultContext(uint256 jobId, uint256 output, Mode mode)
        private
        view
        returns (JobRecord storage j, JobHot memory h, JobTerms memory t, uint256 modelId)
    {
        j = _jobs[jobId];
        h = j.hot;
        if (h.status != Status.Claimed) {
            if (h.status == Status.None) revert ComputeUnknownJob(jobId);
            revert ComputeJobNotClaimed(jobId, h.status);
        }
        if (msg.sender != h.provider) revert ComputeNotProvider(jobId, msg.sender);
        if (h.mode != mode) revert ComputeWrongMode(jobId, h.mode);
        t = j.terms;
        if (block.timestamp > t.deadline) revert ComputeDeadlinePassed(jobId, t.deadline);
        JobRef memory r = j.ref;
        if (output >= r.outputSize) revert ComputeInvalidOutput(jobId, output, r.outputSize);
        modelId = r.modelId;
    }

    /// @dev Reverts unless `key` is an acknowledged, unrevoked enclave key of measurement `expected` (the job's
    ///      snapshot taken at posting, so a later change of the model's measurement cannot strand a job).
    function _checkEnclave(address key, bytes32 expected) private view {
        (bytes32 measurement, uint64 acknowledgedAt, uint64 revokedAt) = _models.enclave(key);
        if (acknowledgedAt == 0) revert ComputeEnclaveUnknown(key);
        if (revokedAt != 0) revert ComputeEnclaveRevoked(key, revokedAt);
        if (measurement != expected) revert ComputeEnclaveWrongMeasurement(key, measurement, expected);
    }

    function _checkMode(uint256 modelId, uint8 rawMode, IModelRegistry.ModelTerms memory m)
        private
        pure
        returns (Mode mode)
    {
        if (rawMode == uint8(Mode.Zk) && m.verifier != address(0)) return Mode.Zk;
        if (rawMode == uint8(Mode.Tee) && m.teeMeasurement != bytes32(0)) return Mode.Tee;
        revert ComputeModeNotSupported(modelId, rawMode);
    }

    function _checkDeadline(uint256 deadline, Params memory p) private view {
        if (deadline <= block.timestamp) revert ComputeDeadlineInPast(deadline, block.timestamp);
        uint256 earliest = block.timestamp + p.minJobDuration;
        uint256 latest = block.timestamp + p.maxJobDuration;
        if (deadline < earliest || deadline > latest) revert ComputeInvalidDeadline(deadline, earliest, latest);
    }

    function _checkInput(bytes calldata input, uint256 inputRoot, IModelRegistry.ModelTerms memory m) private pure {
        uint256 length = input.length;
        if (inputRoot != 0) {
            if (length != 0) revert ComputeBothInputs();
            if (inputRoot >= SNARK_SCALAR_FIELD) revert ComputeInvalidRoot(inputRoot);
            return;
        }
        if (length == 0) revert ComputeNoInput();
        if (length != m.inputSize) revert ComputeInvalidInputLength(length, m.inputSize);
        uint256 max = m.inputMax;
        // Bounded: length == inputSize, a model constant.
        for (uint256 i = 0; i < length; ++i) {
            uint256 value = uint8(input[i]);
            if (value > max) revert ComputeInputOutOfRange(i, value, max);
        }
    }

    function _checkDataRoots(uint256[] calldata roots) private pure {
        uint256 count = roots.length;
        if (count > MAX_DATA_ROOTS) revert ComputeTooManyDataRoots(count, MAX_DATA_ROOTS);
        // Bounded: count <= MAX_DATA_ROOTS.
        for (uint256 i = 0; i < count; ++i) {
            uint256 root = roots[i];
            if (root == 0 || root >= SNARK_SCALAR_FIELD) revert ComputeInvalidRoot(root);
        }
    }

    function _collateralFor(uint256 price, Params memory p) private pure returns (uint256 collateral) {
        collateral = price * p.collateralBps / BPS;
        if (collateral < p.minCollateral) collateral = p.minCollateral;
    }

    function _resultDigest(
        uint256 jobId,
        uint256 modelId,
        uint256 weightsCommitment,
        uint256 inputCommitment,
        uint256 output,
        address provider
    ) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(RESULT_TYPEHASH, jobId, modelId, weightsCommitment, inputCommitment, output, provider))
        );
    }

    function _setConfig(Config memory c) private {
        if (c.protocolFeeBps > MAX_PROTOCOL_FEE_BPS) revert ComputeInvalidConfig("protocolFeeBps", c.protocolFeeBps);
        if (c.collateralBps > MAX_COLLATERAL_BPS) revert ComputeInvalidConfig("collateralBps", c.collateralBps);
        if (c.minCollateral > MAX_MIN_COLLATERAL) revert ComputeInvalidConfig("minCollateral", c.minCollateral);
        if (c.reporterBps > BPS) revert ComputeInvalidConfig("reporterBps", c.reporterBps);
        if (c.minJobDuration == 0 || c.minJobDuration > c.maxJobDuration) {
            revert ComputeInvalidConfig("minJobDuration", c.minJobDuration);
        }
        if (c.maxJobDuration > MAX_JOB_DURATION) revert ComputeInvalidConfig("maxJobDuration", c.maxJobDuration);
        // Exact casts: every value is bounded above (MAX_JOB_DURATION < 2^32).
        _fees.protocolFeeBps = uint16(c.protocolFeeBps);
        _params = Params({
            collateralBps: uint32(c.collateralBps),
            minCollateral: uint96(c.minCollateral),
            reporterBps: uint16(c.reporterBps),
            minJobDuration: uint32(c.minJobDuration),
            maxJobDuration: uint32(c.maxJobDuration)
        });
        emit ConfigSet(
            c.protocolFeeBps, c.collateralBps, c.minCollateral, c.reporterBps, c.minJobDuration, c.maxJobDuration
        );
    }

    function _toUint128(uint256 amount) private pure returns (uint128) {
        if (amount > type(uint128).max) revert ComputeAmountTooLarge(amount);
        return uint128(amount);
    }
}
