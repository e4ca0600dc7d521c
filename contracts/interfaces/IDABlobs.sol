// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BN254} from "../libraries/BN254.sol";

/// @title IDABlobs
/// @notice Data-availability blobs: paid submission, BLS quorum certificates, fees for the signers and
///         availability challenges backed by stake.
///
/// Submission. A client submits a blob's commitment `root` and `size` for the current epoch and pays
/// `quote(size) = baseFee + pricePerByte * size` in the ERC-20 token (the provider registry's stake token).
/// The blob goes to quorum `blobId % quorumCount` of the epoch (see `IDARegistry`). The coding follows from
/// the epoch's quorum size Q: k = floor(Q / 2) data shards, n = Q shards in all (shard p to the member at
/// position p); shard size = ceil(size / k) rounded up to `CHUNK_SIZE`; `root` is the SHA-256 Merkle root
/// over the n * chunksPerShard chunks in order (shard 0 first), depth ceil(log2(chunk count)).
///
/// Certificate. Within `CERTIFY_WINDOW_BLOCKS` after submission anyone submits the quorum's aggregated
/// signature `sigma` on `hashToPoint(CERT_DST, certificateMessage(blobId))`, the G2 key `apkG2` of the
/// signers, and the non-signers (strictly increasing positions, each with its G1 key, weight and member
/// proof against the quorum's member root). The signers' G1 key is the quorum key minus the non-signers'
/// keys; their weight must reach SIGN_THRESHOLD_NUMERATOR / SIGN_THRESHOLD_DENOMINATOR of the quorum's.
/// One pairing check verifies sigma and that apkG2 matches the signers' G1 key (see `BLSKeyCheck`).
///
/// Fees. At certification `treasuryBps` of the fee (plus rounding dust) is credited to the treasury; the rest
/// is split equally among the signers, each of which pulls its share with `claimFees`. An uncertified blob's
/// fee goes back to its client with `reclaim` once the certify window has passed.
///
/// Challenges. For `RETENTION_BLOCKS` after certification anyone may challenge a signer to open one chunk
/// of its shard, posting `challengeBond`. Anyone may answer within `CHALLENGE_WINDOW_BLOCKS` with the chunk
/// and its Merkle proof (the chunk is published in the event): the bond is credited to the node. Unanswered,
/// `resolve` slashes the node `slashAmount` through the provider registry; the challenger is credited its
/// bond plus `challengerRewardBps` of the slashed stake and the treasury the rest.
///
/// Payouts to the treasury, challengers and challenged nodes are credits withdrawn with `withdraw`. The
/// contract's token balance always equals the fees of pending blobs, plus the signers' unclaimed shares,
/// plus the bonds of open challenges, plus the credits.
interface IDABlobs {
    /// @notice Life cycle of a blob.
    enum BlobStatus {
        None,
        Pending,
        Certified,
        Reclaimed
    }

    /// @notice Life cycle of a challenge.
    enum ChallengeStatus {
        None,
        Open,
        Answered,
        Slashed
    }

    /// @notice A quorum member that did not sign a certificate.
    /// @param position The member's position in the quorum.
    /// @param nodeId The member's node id.
    /// @param pk The member's G1 key.
    /// @param weight The member's weight.
    /// @param proof Siblings of the member's leaf in the member tree, from the leaf up. The tree has depth
    ///        ceil(log2(memberCount)) <= QuorumSampling.MAX_MEMBER_DEPTH = 5; entries past the depth are
    ///        ignored (a fixed-size array keeps a non-signer's calldata small and its decoding cheap).
    struct NonSigner {
        uint256 position;
        uint256 nodeId;
        BN254.G1Point pk;
        uint256 weight;
        bytes32[5] proof;
    }

    /// @notice Constructor parameters.
    /// @param pricePerByte Fee per blob byte.
    /// @param baseFee Fee per blob; baseFee + pricePerByte * MAX_BLOB_SIZE must fit 96 bits.
    /// @param treasuryBps Treasury share of fees, at most MAX_TREASURY_BPS.
    /// @param challengeBond Bond of a challenge: 1..2^96 - 1.
    /// @param slashAmount Stake slashed for an unanswered challenge: non-zero.
    /// @param challengerRewardBps Challenger's share of slashed stake, at most BPS.
    struct Config {
        uint256 pricePerByte;
        uint256 baseFee;
        uint256 treasuryBps;
        uint256 challengeBond;
        uint256 slashAmount;
        uint256 challengerRewardBps;
    }

    /// @notice A blob, as returned by `blob`.
    /// @param client Who submitted (and paid for) the blob.
    /// @param root SHA-256 Merkle root of the coded chunks.
    /// @param size Blob size in bytes.
    /// @param epoch Epoch of submission; its quorums certify the blob.
    /// @param quorum Quorum index in the epoch.
    /// @param quorumSize Members of the quorum (coded shards).
    /// @param fee Fee paid.
    /// @param submittedAt Block of submission.
    /// @param certifiedAt Block of certification; zero before.
    /// @param nonSignerMask Bit p is set when the member at position p did not sign.
    /// @param claimedMask Bit p is set when the signer at position p claimed its fee share.
    /// @param status Life-cycle status.
    struct BlobInfo {
        address client;
        bytes32 root;
        uint256 size;
        uint256 epoch;
        uint256 quorum;
        uint256 quorumSize;
        uint256 fee;
        uint256 submittedAt;
        uint256 certifiedAt;
        uint256 nonSignerMask;
        uint256 claimedMask;
        BlobStatus status;
    }

    /// @notice Erasure-coding parameters of a blob.
    /// @param dataShards k = floor(Q / 2).
    /// @param totalShards n = Q.
    /// @param shardSize Bytes per shard: ceil(size / k) rounded up to CHUNK_SIZE.
    /// @param chunksPerShard shardSize / CHUNK_SIZE.
    /// @param chunkCount n * chunksPerShard: leaves of the commitment tree.
    /// @param treeDepth ceil(log2(chunkCount)): siblings in a chunk proof.
    struct Coding {
        uint256 dataShards;
        uint256 totalShards;
        uint256 shardSize;
        uint256 chunksPerShard;
        uint256 chunkCount;
        uint256 treeDepth;
    }

    /// @notice A challenge, as returned by `challengeInfo`.
    /// @param blobId The challenged blob.
    /// @param position The challenged member's position.
    /// @param chunkIndex The chunk to open (within the member's shard).
    /// @param node The challenged member's provider address.
    /// @param challenger Who posted the bond.
    /// @param bond The bond posted.
    /// @param deadline Last block of the answer window.
    /// @param status Life-cycle status.
    struct ChallengeInfo {
        uint256 blobId;
        uint256 position;
        uint256 chunkIndex;
        address node;
        address challenger;
        uint256 bond;
        uint256 deadline;
        ChallengeStatus status;
    }

    // ------------------------------------------------------------------ errors

    /// @notice A constructor address is zero.
    error DABlobsZeroAddress();
    /// @notice A constructor parameter is out of range (`name` says which).
    error DABlobsInvalidParameter(string name, uint256 value);
    /// @notice `root` is zero.
    error DABlobsInvalidRoot();
    /// @notice `size` is zero or above `MAX_BLOB_SIZE`.
    error DABlobsInvalidSize(uint256 size);
    /// @notice The blob was meant for `epoch`, but the current epoch is `currentEpoch`; re-encode for it.
    error DABlobsWrongEpoch(uint256 epoch, uint256 currentEpoch);
    /// @notice The quorums of `epoch` are not sampled yet: call `DARegistry.sampleEpoch(epoch)` first.
    error DABlobsEpochNotSampled(uint256 epoch);
    /// @notice `epoch` has no quorums (too few eligible DA nodes).
    error DABlobsNoQuorums(uint256 epoch);
    /// @notice No blob has id `blobId`.
    error DABlobsUnknownBlob(uint256 blobId);
    /// @notice The blob is certified already.
    error DABlobsAlreadyCertified(uint256 blobId);
    /// @notice The blob's fee was reclaimed; it can no longer be certified.
    error DABlobsBlobReclaimed(uint256 blobId);
    /// @notice The blob is not certified.
    error DABlobsNotCertified(uint256 blobId);
    /// @notice The certify window ended at block `deadline`.
    error DABlobsCertifyWindowClosed(uint256 blobId, uint256 deadline);
    /// @notice The certify window is open until block `deadline`; the fee can be reclaimed after it.
    error DABlobsCertifyWindowOpen(uint256 blobId, uint256 deadline);
    /// @notice `caller` is not the blob's client.
    error DABlobsNotClient(uint256 blobId, address caller);
    /// @notice Non-signer `index` does not have a position above the previous one (duplicate or unsorted).
    error DABlobsNonSignersNotSorted(uint256 index);
    /// @notice The quorum has `memberCount` members; there is no position `position`.
    error DABlobsPositionOutOfRange(uint256 position, uint256 memberCount);
    /// @notice The member proof of the non-signer at `position` does not match the quorum's member root.
    error DABlobsInvalidMemberProof(uint256 position);
    /// @notice The signers' weight `signedWeight` is below the threshold of `totalWeight`.
    error DABlobsBelowThreshold(uint256 signedWeight, uint256 totalWeight);
    /// @notice The aggregated signature does not verify.
    error DABlobsInvalidSignature(uint256 blobId);
    /// @notice Too many blob ids in one call (at most `MAX_CLAIM_BLOBS`).
    error DABlobsTooManyBlobs(uint256 count, uint256 max);
    /// @notice `caller` has no registered DA node keys.
    error DABlobsNotANode(address caller);
    /// @notice Node `nodeId` is not a signer of the blob (not a member, or a non-signer).
    error DABlobsNotASigner(uint256 blobId, uint256 nodeId);
    /// @notice The signer at `position` claimed its share of the blob's fee already.
    error DABlobsAlreadyClaimed(uint256 blobId, uint256 position);
    /// @notice The position is a non-signer of the blob (or no member): it cannot be challenged.
    error DABlobsNotASignerPosition(uint256 blobId, uint256 position);
    /// @notice Chunk `chunkIndex` is not part of the shard of `position` (chunks [first, first + count)).
    error DABlobsChunkNotInShard(uint256 blobId, uint256 position, uint256 chunkIndex);
    /// @notice The retention period of the blob ended at block `retentionEnd`.
    error DABlobsRetentionOver(uint256 blobId, uint256 retentionEnd);
    /// @notice No challenge has id `challengeId`.
    error DABlobsUnknownChallenge(uint256 challengeId);
    /// @notice The challenge is not open (answered or resolved already).
    error DABlobsChallengeClosed(uint256 challengeId);
    /// @notice The answer window ended at block `deadline`.
    error DABlobsAnswerWindowClosed(uint256 challengeId, uint256 deadline);
    /// @notice The answer window is open until block `deadline`.
    error DABlobsAnswerWindowOpen(uint256 challengeId, uint256 deadline);
    /// @notice The chunk is not `CHUNK_SIZE` bytes long.
    error DABlobsInvalidChunkLength(uint256 length);
    /// @notice The chunk and proof do not open chunk `chunkIndex` of the blob's root.
    error DABlobsInvalidChunkProof(uint256 challengeId, uint256 chunkIndex);
    /// @notice `account` has no credit to withdraw.
    error DABlobsNothingToWithdraw(address account);
    /// @notice The modexp precompile failed (out of gas).
    error DABlobsModExpFailed();

    // ------------------------------------------------------------------ events

    /// @notice `client` submitted blob `blobId` for quorum `quorum` of `epoch`, paying `fee`.
    event BlobSubmitted(
        uint256 indexed blobId,
        address indexed client,
        bytes32 root,
        uint256 size,
        uint256 indexed epoch,
        uint256 quorum,
        uint256 fee
    );
    /// @notice Blob `blobId` was certified by its quorum with `signedWeight` of `totalWeight`; members
    ///         flagged in `nonSignerMask` did not sign. Each signer may claim `feePerSigner`; the treasury was
    ///         credited `treasuryShare`.
    event BlobCertified(
        uint256 indexed blobId,
        uint256 signedWeight,
        uint256 totalWeight,
        uint256 nonSignerMask,
        uint256 feePerSigner,
        uint256 treasuryShare
    );
    /// @notice The client took back the fee `fee` of the uncertified blob `blobId`.
    event BlobReclaimed(uint256 indexed blobId, address indexed client, uint256 fee);
    /// @notice `node` (node id `nodeId`) claimed `amount` for its signature on blob `blobId`.
    event FeeClaimed(uint256 indexed blobId, address indexed node, uint256 nodeId, uint256 amount);
    /// @notice `challenger` challenged `node`, at `position` of blob `blobId`'s quorum, to open chunk
    ///         `chunkIndex` by block `deadline`, posting `bond`.
    event ChallengeOpened(
        uint256 indexed challengeId,
        uint256 indexed blobId,
        address indexed node,
        uint256 position,
        uint256 chunkIndex,
        address challenger,
        uint256 bond,
        uint256 deadline
    );
    /// @notice The challenge was answered with `chunk` (chunk `chunkIndex` of the blob); the bond was
    ///         credited to `node`.
    event ChallengeAnswered(
        uint256 indexed challengeId, uint256 indexed blobId, address indexed node, uint256 chunkIndex, bytes chunk
    );
    /// @notice The challenge went unanswered: `node` was slashed `slashed`; the challenger was credited
    ///         `challengerCredit` (its bond plus its reward) and the treasury `treasuryCredit`.
    event ChallengeResolved(
        uint256 indexed challengeId,
        uint256 indexed blobId,
        address indexed node,
        uint256 slashed,
        uint256 challengerCredit,
        uint256 treasuryCredit
    );
    /// @notice `account` withdrew `amount` of credit.
    event Withdrawn(address indexed account, uint256 amount);

    // ------------------------------------------------------------------ client actions

    /// @notice Submits a blob for the current epoch and pulls its fee `quote(size)` from the caller (needs an
    ///         ERC-20 allowance). The epoch's quorums must be sampled.
    /// @param root SHA-256 Merkle root of the coded chunks (see the interface notes); non-zero.
    /// @param size Blob size in bytes: 1..MAX_BLOB_SIZE.
    /// @param epoch The epoch the client encoded for; must be the current epoch (guards the coding against
    ///        a transaction that lands in the next epoch, whose quorum size may differ).
    /// @return blobId The new blob's id; ids start at 1.
    function submitBlob(bytes32 root, uint256 size, uint256 epoch) external returns (uint256 blobId);

    /// @notice Sends the fee of a blob that was not certified within its window back to its client (client
    ///         only, after the window).
    /// @param blobId The blob.
    function reclaim(uint256 blobId) external;

    // ------------------------------------------------------------------ certificates and fees

    /// @notice Certifies a pending blob within its certify window (anyone). See the interface notes.
    /// @param blobId The blob.
    /// @param nonSigners The members that did not sign, by strictly increasing position.
    /// @param apkG2 Sum of the signers' G2 keys.
    /// @param sigma Sum of the signers' signatures on the certificate message point.
    function certify(
        uint256 blobId,
        NonSigner[] calldata nonSigners,
        BN254.G2Point calldata apkG2,
        BN254.G1Point calldata sigma
    ) external;

    /// @notice Transfers to the caller its share of the fee of each certified blob it signed (the caller
    ///         must be the blob quorum's member with registered keys, a signer, and not have claimed).
    /// @param blobIds Blobs to claim for; at most `MAX_CLAIM_BLOBS`.
    /// @return amount The total transferred.
    function claimFees(uint256[] calldata blobIds) external returns (uint256 amount);

    // ------------------------------------------------------------------ challenges

    /// @notice Challenges the signer at `position` of a certified blob to open chunk `chunkIndex` of its
    ///         shard within `CHALLENGE_WINDOW_BLOCKS`, pulling `challengeBond` from the caller. Allowed until
    ///         `RETENTION_BLOCKS` after certification.
    /// @param blobId The blob.
    /// @param position A signer's position in the blob's quorum.
    /// @param chunkIndex A chunk of that member's shard: position * chunksPerShard <= chunkIndex <
    ///        (position + 1) * chunksPerShard.
    /// @return challengeId The new challenge's id; ids start at 1.
    function challenge(uint256 blobId, uint256 position, uint256 chunkIndex) external returns (uint256 challengeId);

    /// @notice Answers an open challenge within its window (anyone) with the chunk and its Merkle proof
    ///         against the blob's root; credits the bond to the challenged node. A wrong chunk or proof reverts.
    /// @param challengeId The challenge.
    /// @param chunk The chunk: `CHUNK_SIZE` bytes.
    /// @param proof Siblings of the chunk's leaf, from the leaf up; `treeDepth` of them.
    function answer(uint256 challengeId, bytes calldata chunk, bytes32[] calldata proof) external;

    /// @notice Resolves a challenge left unanswered after its window (anyone): slashes the node and credits
    ///         the challenger and the treasury (see the interface notes).
    /// @param challengeId The challenge.
    function resolve(uint256 challengeId) external;

    /// @notice Transfers the caller's whole credit to the caller.
    function withdraw() external;

    // ------------------------------------------------------------------ views

    /// @notice Domain separation tag of certificates: "DAIOS-DA-CERT-V1_BN254G1_XMD:KECCAK-256_SVDW_RO_".
    function CERT_DST() external view returns (string memory);
    /// @notice Most blob ids in one `claimFees` call.
    function MAX_CLAIM_BLOBS() external view returns (uint256);
    /// @notice Basis points denominator (10,000).
    function BPS() external view returns (uint256);
    /// @notice Cap of `treasuryBps`.
    function MAX_TREASURY_BPS() external view returns (uint256);

    /// @notice The ERC-20 token of fees, bonds and credits (the registry's stake token).
    function token() external view returns (address);
    /// @notice The provider registry (slashing).
    function registry() external view returns (address);
    /// @notice The DA registry (keys and quorums).
    function daRegistry() external view returns (address);
    /// @notice Receiver of the treasury share of fees and of slashed stake.
    function treasury() external view returns (address);
    /// @notice Fee per blob byte.
    function pricePerByte() external view returns (uint256);
    /// @notice Fee per blob.
    function baseFee() external view returns (uint256);
    /// @notice Treasury share of fees, in basis points.
    function treasuryBps() external view returns (uint256);
    /// @notice Bond of a challenge.
    function challengeBond() external view returns (uint256);
    /// @notice Stake slashed for an unanswered challenge.
    function slashAmount() external view returns (uint256);
    /// @notice Challenger's share of the slashed stake, in basis points.
    function challengerRewardBps() external view returns (uint256);

    /// @notice Fee of a blob of `size` bytes: baseFee + pricePerByte * size. Validates the size.
    function quote(uint256 size) external view returns (uint256 fee);
    /// @notice Coding parameters of a blob of `size` bytes for quorums of `quorumSize` members.
    function coding(uint256 size, uint256 quorumSize) external pure returns (Coding memory);
    /// @notice Number of blobs submitted; also the newest blob id.
    function blobCount() external view returns (uint256);
    /// @notice Blob `blobId`.
    function blob(uint256 blobId) external view returns (BlobInfo memory);
    /// @notice Coding parameters of blob `blobId`.
    function blobCoding(uint256 blobId) external view returns (Coding memory);
    /// @notice Message hash the quorum signs for blob `blobId`: keccak256(abi.encode("daios.da.cert.v1",
    ///         chainid, blobs contract, blobId, root, epoch)); it is hashed to G1 with `CERT_DST`.
    function certificateMessage(uint256 blobId) external view returns (bytes32);
    /// @notice The certificate's message point: hashToPoint(CERT_DST, certificateMessage(blobId)), computed
    ///         at submission.
    function messagePoint(uint256 blobId) external view returns (BN254.G1Point memory);
    /// @notice Share of the blob's fee each signer may claim (zero unless certified).
    function feePerSigner(uint256 blobId) external view returns (uint256);
    /// @notice Number of challenges opened; also the newest challenge id.
    function challengeCount() external view returns (uint256);
    /// @notice Challenge `challengeId`.
    function challengeInfo(uint256 challengeId) external view returns (ChallengeInfo memory);
    /// @notice Credit `account` can withdraw.
    function credits(address account) external view returns (uint256);
}
