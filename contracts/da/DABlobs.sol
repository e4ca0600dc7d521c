// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {DaConstants as C} from "../generated/ProtocolConstants.sol";
import {BN254} from "../libraries/BN254.sol";
import {BLS} from "../libraries/BLS.sol";
import {QuorumSampling} from "../libraries/QuorumSampling.sol";
import {ShaMerkle} from "../libraries/ShaMerkle.sol";
import {BLSKeyCheck} from "./BLSKeyCheck.sol";
import {IDABlobs} from "../interfaces/IDABlobs.sol";
import {IDARegistry} from "../interfaces/IDARegistry.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";

/// @title DABlobs
/// @notice Paid DA blobs, BLS quorum certificates, signer fees and availability challenges. See `IDABlobs`.
/// @dev Laid out for `certify`: it reads the blob's three words (client and fee; root; state), one quorum
///      from the DA registry, writes the state word once and credits the treasury (a word kept non-zero,
///      see `_credits`). Signers' shares are not written per signer: `claimFees` derives a signer's share from
///      the fee, the quorum size and the non-signer mask, and marks it in the blob's claimed mask.
///      Only tokens without transfer fees or rebasing are supported.
contract DABlobs is IDABlobs, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc IDABlobs
    string public constant CERT_DST = "DAIOS-DA-CERT-V1_BN254G1_XMD:KECCAK-256_SVDW_RO_";
    /// @inheritdoc IDABlobs
    uint256 public constant MAX_CLAIM_BLOBS = 100;
    /// @inheritdoc IDABlobs
    uint256 public constant BPS = 10_000;
    /// @inheritdoc IDABlobs
    uint256 public constant MAX_TREASURY_BPS = 5_000;

    /// @dev Written once at submission.
    struct BlobHead {
        address client;
        uint96 fee;
    }

    /// @dev size <= MAX_BLOB_SIZE = 2^24; epochs and blocks fit their widths for any realistic chain;
    ///      quorum < MAX_QUORUMS; quorumSize <= MAX_QUORUM_SIZE = 32, so the masks fit 32 bits.
    struct BlobState {
        uint32 size;
        uint40 submittedAt;
        uint32 epoch;
        uint8 quorum;
        uint8 quorumSize;
        BlobStatus status;
        uint40 certifiedAt;
        uint32 nonSignerMask;
        uint32 claimedMask;
    }

    /// @dev `messagePoint` is the certificate's message point compressed: x, with the parity of y in bit 255
    ///      (x < P < 2^254). Hashing to the curve at submission keeps `certify` cheap and its gas independent
    ///      of how many square-root attempts the map needs; decompression costs one modexp.
    struct Blob {
        BlobHead head;
        bytes32 root;
        BlobState state;
        uint256 messagePoint;
    }

    struct Challenge {
        address challenger;
        uint40 deadline;
        uint8 position;
        ChallengeStatus status;
        address node;
        uint64 blobId;
        uint32 chunkIndex;
    }

    /// @dev Outcome of a certificate check.
    struct Tally {
        uint256 signedWeight;
        uint256 totalWeight;
        uint256 mask;
        uint256 signers;
    }

    IERC20 private immutable _token;
    IProviderRegistry private immutable _registry;
    IDARegistry private immutable _daRegistry;
    bytes32 private immutable _daRole;
    address private immutable _treasury;
    uint256 private immutable _pricePerByte;
    uint256 private immutable _baseFee;
    uint256 private immutable _treasuryBps;
    uint256 private immutable _challengeBond;
    uint256 private immutable _slashAmount;
    uint256 private immutable _challengerRewardBps;

    uint256 private _blobCount;
    uint256 private _challengeCount;
    mapping(uint256 blobId => Blob) private _blobs;
    mapping(uint256 challengeId => Challenge) private _challenges;
    /// @dev Credit + 1 once an account was first credited, 0 before: a later credit then costs 2,900 gas
    ///      instead of 20,000 (the treasury is credited by every certificate).
    mapping(address account => uint256) private _credits;

    /// @param registry_ Provider registry: its stake token is the token of fees and bonds, and this contract
    ///        must be an authorised DA layer there to slash.
    /// @param daRegistry_ DA registry of keys and quorums.
    /// @param treasury_ Receiver of the treasury share of fees and of slashed stake.
    /// @param config Fees, bond and slashing parameters (see `Config`).
    constructor(address registry_, address daRegistry_, address treasury_, Config memory config) {
        if (registry_ == address(0) || daRegistry_ == address(0) || treasury_ == address(0)) {
            revert DABlobsZeroAddress();
        }
        if (config.baseFee + config.pricePerByte * C.MAX_BLOB_SIZE > type(uint96).max) {
            revert DABlobsInvalidParameter("fee", config.baseFee + config.pricePerByte * C.MAX_BLOB_SIZE);
        }
        if (config.treasuryBps > MAX_TREASURY_BPS) revert DABlobsInvalidParameter("treasuryBps", config.treasuryBps);
        if (config.challengeBond == 0 || config.challengeBond > type(uint96).max) {
            revert DABlobsInvalidParameter("challengeBond", config.challengeBond);
        }
        if (config.slashAmount == 0) revert DABlobsInvalidParameter("slashAmount", 0);
        if (config.challengerRewardBps > BPS) {
            revert DABlobsInvalidParameter("challengerRewardBps", config.challengerRewardBps);
        }
        _token = IERC20(IProviderRegistry(registry_).stakeToken());
        _registry = IProviderRegistry(registry_);
        _daRegistry = IDARegistry(daRegistry_);
        _daRole = IProviderRegistry(registry_).DA_ROLE();
        _treasury = treasury_;
        _pricePerByte = config.pricePerByte;
        _baseFee = config.baseFee;
        _treasuryBps = config.treasuryBps;
        _challengeBond = config.challengeBond;
        _slashAmount = config.slashAmount;
        _challengerRewardBps = config.challengerRewardBps;
    }

    // ------------------------------------------------------------------ client actions

    /// @inheritdoc IDABlobs
    function submitBlob(bytes32 root, uint256 size, uint256 epoch) external nonReentrant returns (uint256 blobId) {
        if (root == bytes32(0)) revert DABlobsInvalidRoot();
        uint256 fee = _quote(size);
        uint256 current = block.number / C.EPOCH_BLOCKS;
        if (epoch != current) revert DABlobsWrongEpoch(epoch, current);
        IDARegistry.EpochInfo memory info = _daRegistry.epochInfo(epoch);
        if (!info.sampled) revert DABlobsEpochNotSampled(epoch);
        if (info.quorumCount == 0) revert DABlobsNoQuorums(epoch);
        // Cannot overflow: one blob per call.
        unchecked {
            blobId = ++_blobCount;
        }
        uint256 quorumIndex = blobId % info.quorumCount;
        Blob storage b = _blobs[blobId];
        // Exact casts: _quote bounds fee (96 bits, see the constructor) and size; see BlobState.
        b.head = BlobHead({client: msg.sender, fee: uint96(fee)});
        b.root = root;
        BN254.G1Point memory hm =
            BLS.hashToPoint(bytes(CERT_DST), abi.encodePacked(_certificateMessage(blobId, root, epoch)));
        b.messagePoint = hm.x | ((hm.y & 1) << 255);
        b.state = BlobState({
            size: uint32(size),
            submittedAt: uint40(block.number),
            epoch: uint32(epoch),
            quorum: uint8(quorumIndex),
            quorumSize: uint8(info.quorumSize),
            status: BlobStatus.Pending,
            certifiedAt: 0,
            nonSignerMask: 0,
            claimedMask: 0
        });
        emit BlobSubmitted(blobId, msg.sender, root, size, epoch, quorumIndex, fee);

        _token.safeTransferFrom(msg.sender, address(this), fee);
    }

    /// @inheritdoc IDABlobs
    function reclaim(uint256 blobId) external nonReentrant {
        Blob storage b = _blobs[blobId];
        BlobState memory s = b.state;
        _requirePending(blobId, s.status);
        BlobHead memory head = b.head;
        if (msg.sender != head.client) revert DABlobsNotClient(blobId, msg.sender);
        uint256 deadline = uint256(s.submittedAt) + C.CERTIFY_WINDOW_BLOCKS;
        if (block.number <= deadline) revert DABlobsCertifyWindowOpen(blobId, deadline);
        b.state.status = BlobStatus.Reclaimed;
        emit BlobReclaimed(blobId, msg.sender, head.fee);

        _token.safeTransfer(msg.sender, head.fee);
    }

    // ------------------------------------------------------------------ certificates and fees

    /// @inheritdoc IDABlobs
    function certify(
        uint256 blobId,
        NonSigner[] calldata nonSigners,
        BN254.G2Point calldata apkG2,
        BN254.G1Point calldata sigma
    ) external nonReentrant {
        Blob storage b = _blobs[blobId];
        BlobState memory s = b.state;
        _requirePending(blobId, s.status);
        uint256 deadline = uint256(s.submittedAt) + C.CERTIFY_WINDOW_BLOCKS;
        if (block.number > deadline) revert DABlobsCertifyWindowClosed(blobId, deadline);

        Tally memory t = _checkCertificate(blobId, s, _decompress(b.messagePoint), nonSigners, apkG2, sigma);

        uint256 fee = b.head.fee;
        uint256 perSigner = _feePerSigner(fee, t.signers);
        // Cannot underflow: perSigner * signers <= fee - fee * treasuryBps / BPS <= fee.
        uint256 treasuryShare;
        unchecked {
            treasuryShare = fee - perSigner * t.signers;
        }
        // Exact casts: see BlobState; mask < 2^memberCount <= 2^32.
        b.state.status = BlobStatus.Certified;
        b.state.certifiedAt = uint40(block.number);
        b.state.nonSignerMask = uint32(t.mask);
        if (treasuryShare != 0) _credit(_treasury, treasuryShare);
        emit BlobCertified(blobId, t.signedWeight, t.totalWeight, t.mask, perSigner, treasuryShare);
    }

    /// @inheritdoc IDABlobs
    function claimFees(uint256[] calldata blobIds) external nonReentrant returns (uint256 amount) {
        uint256 count = blobIds.length;
        if (count > MAX_CLAIM_BLOBS) revert DABlobsTooManyBlobs(count, MAX_CLAIM_BLOBS);
        uint256 nodeId = _daRegistry.nodeIdOf(msg.sender);
        if (nodeId == 0) revert DABlobsNotANode(msg.sender);
        // Bounded: count <= MAX_CLAIM_BLOBS.
        for (uint256 i = 0; i < count; ++i) {
            uint256 blobId = blobIds[i];
            Blob storage b = _blobs[blobId];
            BlobState memory s = b.state;
            if (s.status != BlobStatus.Certified) {
                if (s.status == BlobStatus.None) revert DABlobsUnknownBlob(blobId);
                revert DABlobsNotCertified(blobId);
            }
            (bool found, uint256 position) = _daRegistry.positionOf(s.epoch, s.quorum, nodeId);
            uint256 bit = uint256(1) << position;
            if (!found || s.nonSignerMask & bit != 0) revert DABlobsNotASigner(blobId, nodeId);
            if (s.claimedMask & bit != 0) revert DABlobsAlreadyClaimed(blobId, position);
            // Exact cast: position < quorumSize <= 32.
            b.state.claimedMask = s.claimedMask | uint32(bit);
            uint256 share = _feePerSigner(b.head.fee, _signerCount(s));
            amount += share;
            emit FeeClaimed(blobId, msg.sender, nodeId, share);
        }
        if (amount != 0) _token.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ challenges

    /// @inheritdoc IDABlobs
    function challenge(uint256 blobId, uint256 position, uint256 chunkIndex)
        external
        nonReentrant
        returns (uint256 challengeId)
    {
        Blob storage b = _blobs[blobId];
        BlobState memory s = b.state;
        if (s.status != BlobStatus.Certified) {
            if (s.status == BlobStatus.None) revert DABlobsUnknownBlob(blobId);
            revert DABlobsNotCertified(blobId);
        }
        uint256 retentionEnd = uint256(s.certifiedAt) + C.RETENTION_BLOCKS;
        if (block.number > retentionEnd) revert DABlobsRetentionOver(blobId, retentionEnd);
        if (position >= s.quorumSize || s.nonSignerMask & (uint256(1) << position) != 0) {
            revert DABlobsNotASignerPosition(blobId, position);
        }
        uint256 chunksPerShard = _coding(s.size, s.quorumSize).chunksPerShard;
        // Cannot overflow: position < 32 and chunksPerShard <= MAX_BLOB_SIZE / CHUNK_SIZE.
        unchecked {
            if (chunkIndex < position * chunksPerShard || chunkIndex >= (position + 1) * chunksPerShard) {
                revert DABlobsChunkNotInShard(blobId, position, chunkIndex);
            }
        }
        (, address node) = _daRegistry.memberAt(s.epoch, s.quorum, position);
        uint256 deadline = block.number + C.CHALLENGE_WINDOW_BLOCKS;
        // Cannot overflow: one challenge per call.
        unchecked {
            challengeId = ++_challengeCount;
        }
        // Exact casts: position < 32, chunkIndex < 2^MAX_TREE_DEPTH, blob ids and blocks fit (see BlobState).
        _challenges[challengeId] = Challenge({
            challenger: msg.sender,
            deadline: uint40(deadline),
            position: uint8(position),
            status: ChallengeStatus.Open,
            node: node,
            blobId: uint64(blobId),
            chunkIndex: uint32(chunkIndex)
        });
        emit ChallengeOpened(challengeId, blobId, node, position, chunkIndex, msg.sender, _challengeBond, deadline);

        _token.safeTransferFrom(msg.sender, address(this), _challengeBond);
    }

    /// @inheritdoc IDABlobs
    function answer(uint256 challengeId, bytes calldata chunk, bytes32[] calldata proof) external nonReentrant {
        Challenge storage c = _challenges[challengeId];
        Challenge memory cm = c;
        _requireOpen(challengeId, cm.status);
        if (block.number > cm.deadline) revert DABlobsAnswerWindowClosed(challengeId, cm.deadline);
        if (chunk.length != C.CHUNK_SIZE) revert DABlobsInvalidChunkLength(chunk.length);
        Blob storage b = _blobs[cm.blobId];
        BlobState memory s = b.state;
        if (
            proof.length != _coding(s.size, s.quorumSize).treeDepth
                || !ShaMerkle.verify(b.root, cm.chunkIndex, chunk, proof)
        ) revert DABlobsInvalidChunkProof(challengeId, cm.chunkIndex);

        c.status = ChallengeStatus.Answered;
        _credit(cm.node, _challengeBond);
        emit ChallengeAnswered(challengeId, cm.blobId, cm.node, cm.chunkIndex, chunk);
    }

    /// @inheritdoc IDABlobs
    function resolve(uint256 challengeId) external nonReentrant {
        Challenge storage c = _challenges[challengeId];
        Challenge memory cm = c;
        _requireOpen(challengeId, cm.status);
        if (block.number <= cm.deadline) revert DABlobsAnswerWindowOpen(challengeId, cm.deadline);
        c.status = ChallengeStatus.Slashed;

        // The registry is trusted (it holds the stake); it sends the slashed tokens here.
        uint256 slashed = _registry.slash(cm.node, _daRole, _slashAmount, address(this));
        uint256 reward = slashed * _challengerRewardBps / BPS;
        uint256 challengerCredit = _challengeBond + reward;
        // Cannot underflow: reward <= slashed as challengerRewardBps <= BPS.
        uint256 treasuryCredit;
        unchecked {
            treasuryCredit = slashed - reward;
        }
        _credit(cm.challenger, challengerCredit);
        if (treasuryCredit != 0) _credit(_treasury, treasuryCredit);
        emit ChallengeResolved(challengeId, cm.blobId, cm.node, slashed, challengerCredit, treasuryCredit);
    }

    /// @inheritdoc IDABlobs
    function withdraw() external nonReentrant {
        uint256 raw = _credits[msg.sender];
        if (raw <= 1) revert DABlobsNothingToWithdraw(msg.sender);
        _credits[msg.sender] = 1;
        // Cannot underflow: raw > 1.
        uint256 amount;
        unchecked {
            amount = raw - 1;
        }
        emit Withdrawn(msg.sender, amount);

        _token.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IDABlobs
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IDABlobs
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IDABlobs
    function daRegistry() external view returns (address) {
        return address(_daRegistry);
    }

    /// @inheritdoc IDABlobs
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IDABlobs
    function pricePerByte() external view returns (uint256) {
        return _pricePerByte;
    }

    /// @inheritdoc IDABlobs
    function baseFee() external view returns (uint256) {
        return _baseFee;
    }

    /// @inheritdoc IDABlobs
    function treasuryBps() external view returns (uint256) {
        return _treasuryBps;
    }

    /// @inheritdoc IDABlobs
    function challengeBond() external view returns (uint256) {
        return _challengeBond;
    }

    /// @inheritdoc IDABlobs
    function slashAmount() external view returns (uint256) {
        return _slashAmount;
    }

    /// @inheritdoc IDABlobs
    function challengerRewardBps() external view returns (uint256) {
        return _challengerRewardBps;
    }

    /// @inheritdoc IDABlobs
    function quote(uint256 size) external view returns (uint256) {
        return _quote(size);
    }

    /// @inheritdoc IDABlobs
    function coding(uint256 size, uint256 quorumSize) external pure returns (Coding memory) {
        if (size == 0 || size > C.MAX_BLOB_SIZE) revert DABlobsInvalidSize(size);
        if (quorumSize < C.MIN_QUORUM_SIZE || quorumSize > C.MAX_QUORUM_SIZE) {
            revert DABlobsInvalidParameter("quorumSize", quorumSize);
        }
        return _coding(size, quorumSize);
    }

    /// @inheritdoc IDABlobs
    function blobCount() external view returns (uint256) {
        return _blobCount;
    }

    /// @inheritdoc IDABlobs
    function blob(uint256 blobId) external view returns (BlobInfo memory info) {
        Blob storage b = _blobs[blobId];
        BlobState memory s = _state(b, blobId);
        info = BlobInfo({
            client: b.head.client,
            root: b.root,
            size: s.size,
            epoch: s.epoch,
            quorum: s.quorum,
            quorumSize: s.quorumSize,
            fee: b.head.fee,
            submittedAt: s.submittedAt,
            certifiedAt: s.certifiedAt,
            nonSignerMask: s.nonSignerMask,
            claimedMask: s.claimedMask,
            status: s.status
        });
    }

    /// @inheritdoc IDABlobs
    function blobCoding(uint256 blobId) external view returns (Coding memory) {
        BlobState memory s = _state(_blobs[blobId], blobId);
        return _coding(s.size, s.quorumSize);
    }

    /// @inheritdoc IDABlobs
    function certificateMessage(uint256 blobId) external view returns (bytes32) {
        Blob storage b = _blobs[blobId];
        BlobState memory s = _state(b, blobId);
        return _certificateMessage(blobId, b.root, s.epoch);
    }

    /// @inheritdoc IDABlobs
    function messagePoint(uint256 blobId) external view returns (BN254.G1Point memory) {
        Blob storage b = _blobs[blobId];
        _state(b, blobId);
        return _decompress(b.messagePoint);
    }

    /// @inheritdoc IDABlobs
    function feePerSigner(uint256 blobId) external view returns (uint256) {
        Blob storage b = _blobs[blobId];
        BlobState memory s = _state(b, blobId);
        if (s.status != BlobStatus.Certified) return 0;
        return _feePerSigner(b.head.fee, _signerCount(s));
    }

    /// @inheritdoc IDABlobs
    function challengeCount() external view returns (uint256) {
        return _challengeCount;
    }

    /// @inheritdoc IDABlobs
    function challengeInfo(uint256 challengeId) external view returns (ChallengeInfo memory info) {
        Challenge memory c = _challenges[challengeId];
        if (c.status == ChallengeStatus.None) revert DABlobsUnknownChallenge(challengeId);
        info = ChallengeInfo({
            blobId: c.blobId,
            position: c.position,
            chunkIndex: c.chunkIndex,
            node: c.node,
            challenger: c.challenger,
            bond: _challengeBond,
            deadline: c.deadline,
            status: c.status
        });
    }

    /// @inheritdoc IDABlobs
    function credits(address account) external view returns (uint256) {
        uint256 raw = _credits[account];
        // Cannot underflow: checked raw != 0.
        unchecked {
            return raw == 0 ? 0 : raw - 1;
        }
    }

    // ------------------------------------------------------------------ internals

    /// @dev Verifies a certificate of a pending blob whose message point is `hm`.
    function _checkCertificate(
        uint256 blobId,
        BlobState memory s,
        BN254.G1Point memory hm,
        NonSigner[] calldata nonSigners,
        BN254.G2Point calldata apkG2,
        BN254.G1Point calldata sigma
    ) private view returns (Tally memory t) {
        IDARegistry.QuorumInfo memory q = _daRegistry.quorum(s.epoch, s.quorum);
        t.totalWeight = q.totalWeight;
        BN254.G1Point memory apk;
        (apk, t.signedWeight, t.mask) = _signers(q, nonSigners);
        if (t.signedWeight * C.SIGN_THRESHOLD_DENOMINATOR < t.totalWeight * C.SIGN_THRESHOLD_NUMERATOR) {
            revert DABlobsBelowThreshold(t.signedWeight, t.totalWeight);
        }
        BN254.G1Point memory sig = sigma;
        if (!BN254.isOnCurveG1(sig) || !BLSKeyCheck.verify(sig, apk, apkG2, hm)) revert DABlobsInvalidSignature(blobId);
        // Cannot underflow: the non-signers have distinct positions below memberCount (checked in _signers).
        unchecked {
            t.signers = q.memberCount - nonSigners.length;
        }
    }

    /// @dev Checks the non-signers against the quorum's member tree; returns the signers' aggregated G1 key,
    ///      their weight and the non-signer mask.
    function _signers(IDARegistry.QuorumInfo memory q, NonSigner[] calldata nonSigners)
        private
        view
        returns (BN254.G1Point memory apk, uint256 signedWeight, uint256 mask)
    {
        uint256 count = nonSigners.length;
        apk = q.apk;
        if (count == 0) return (apk, q.totalWeight, 0);
        uint256 depth = QuorumSampling.memberDepth(q.memberCount);
        uint256 missing;
        // Bounded: positions strictly increase below memberCount <= MAX_QUORUM_SIZE, so a longer list
        // reverts by its (memberCount + 1)-th entry.
        for (uint256 i = 0; i < count; ++i) {
            NonSigner calldata ns = nonSigners[i];
            mask |= _checkNonSigner(q, depth, ns, mask, i);
            // apk -= pk. The member proof ties pk to a registered key, a curve point with 0 < y < P.
            _addInPlace(apk, ns.pk.x, BN254.P - ns.pk.y);
            missing += ns.weight;
        }
        // Cannot underflow: the proven weights are distinct members' parts of totalWeight.
        unchecked {
            signedWeight = q.totalWeight - missing;
        }
    }

    /// @dev Checks non-signer `index` (position in range and above the previous ones, member proof);
    ///      returns its mask bit.
    function _checkNonSigner(
        IDARegistry.QuorumInfo memory q,
        uint256 depth,
        NonSigner calldata ns,
        uint256 mask,
        uint256 index
    ) private pure returns (uint256 bit) {
        uint256 position = ns.position;
        if (position >= q.memberCount) revert DABlobsPositionOutOfRange(position, q.memberCount);
        bit = uint256(1) << position;
        // Strictly increasing: no bit at or above this position is set yet.
        if (mask >= bit) revert DABlobsNonSignersNotSorted(index);
        bytes32 leaf = QuorumSampling.memberLeaf(ns.nodeId, ns.pk.x, ns.pk.y, ns.weight);
        if (QuorumSampling.rootFromFixedProof(leaf, position, depth, ns.proof) != q.memberRoot) {
            revert DABlobsInvalidMemberProof(position);
        }
    }

    /// @dev sum += (x, y) through ecAdd, in place and without allocating memory (one call per non-signer).
    function _addInPlace(BN254.G1Point memory sum, uint256 x, uint256 y) private view {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, mload(sum))
            mstore(add(m, 0x20), mload(add(sum, 0x20)))
            mstore(add(m, 0x40), x)
            mstore(add(m, 0x60), y)
            ok := staticcall(gas(), 0x06, m, 0x80, sum, 0x40)
        }
        if (!ok) revert BN254.BN254AddFailed();
    }

    function _feePerSigner(uint256 fee, uint256 signers) private view returns (uint256) {
        return (fee - fee * _treasuryBps / BPS) / signers;
    }

    /// @dev Signers of a certified blob: members minus the non-signers (popcount of the mask).
    function _signerCount(BlobState memory s) private pure returns (uint256) {
        uint256 mask = s.nonSignerMask;
        uint256 nonSigners;
        // Bounded: clears one bit per iteration of a 32-bit mask.
        while (mask != 0) {
            mask &= mask - 1;
            ++nonSigners;
        }
        return s.quorumSize - nonSigners;
    }

    function _certificateMessage(uint256 blobId, bytes32 root, uint256 epoch) private view returns (bytes32) {
        return keccak256(abi.encode("daios.da.cert.v1", block.chainid, address(this), blobId, root, epoch));
    }

    /// @dev The G1 point with x = the low 255 bits and y of the parity in bit 255 (see `Blob`). x is the x
    ///      of a curve point, so x^3 + 3 is a square and a^((P + 1) / 4) is its square root.
    function _decompress(uint256 packed) private view returns (BN254.G1Point memory point) {
        uint256 x = packed & ((uint256(1) << 255) - 1);
        uint256 y = BN254.expMod(
            addmod(mulmod(mulmod(x, x, BN254.P), x, BN254.P), 3, BN254.P), BN254.SQRT_EXP, DABlobsModExpFailed.selector
        );
        if ((y & 1) != packed >> 255) y = BN254.P - y;
        point = BN254.G1Point(x, y);
    }

    function _coding(uint256 size, uint256 quorumSize) private pure returns (Coding memory c) {
        c.dataShards = quorumSize / 2;
        c.totalShards = quorumSize;
        // Cannot overflow: size <= MAX_BLOB_SIZE and quorumSize <= MAX_QUORUM_SIZE; dataShards >= 2.
        unchecked {
            uint256 perShard = (size + c.dataShards - 1) / c.dataShards;
            c.chunksPerShard = (perShard + C.CHUNK_SIZE - 1) / C.CHUNK_SIZE;
            c.shardSize = c.chunksPerShard * C.CHUNK_SIZE;
            c.chunkCount = c.totalShards * c.chunksPerShard;
        }
        c.treeDepth = QuorumSampling.memberDepth(c.chunkCount);
    }

    function _quote(uint256 size) private view returns (uint256) {
        if (size == 0 || size > C.MAX_BLOB_SIZE) revert DABlobsInvalidSize(size);
        return _baseFee + _pricePerByte * size;
    }

    function _credit(address account, uint256 amount) private {
        uint256 raw = _credits[account];
        _credits[account] = (raw == 0 ? 1 : raw) + amount;
    }

    function _state(Blob storage b, uint256 blobId) private view returns (BlobState memory s) {
        s = b.state;
        if (s.status == BlobStatus.None) revert DABlobsUnknownBlob(blobId);
    }

    function _requirePending(uint256 blobId, BlobStatus status) private pure {
        if (status == BlobStatus.Pending) return;
        if (status == BlobStatus.None) revert DABlobsUnknownBlob(blobId);
        if (status == BlobStatus.Certified) revert DABlobsAlreadyCertified(blobId);
        revert DABlobsBlobReclaimed(blobId);
    }

    function _requireOpen(uint256 challengeId, ChallengeStatus status) private pure {
        if (status == ChallengeStatus.None) revert DABlobsUnknownChallenge(challengeId);
        if (status != ChallengeStatus.Open) revert DABlobsChallengeClosed(challengeId);
    }
}
