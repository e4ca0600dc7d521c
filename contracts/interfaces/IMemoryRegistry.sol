// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IMemoryRegistry
/// @notice Agent memory streams: key-value maps kept by a staked memory node off chain, whose state the node
///         commits to on chain with sparse-Merkle roots, and for whose promises it answers with stake.
///
/// Streams. Anyone creates a stream on an active memory node of the `ProviderRegistry` (a provider of
/// `MEMORY_ROLE`; registering for that role is the node's consent to serve streams): the creator becomes the
/// stream's owner, lists up to `MAX_WRITERS` writers (the owner writes only if listed), escrows a deposit and
/// sets a rate in token base units per second. The registry locks `streamCollateral` (as configured at creation)
/// of the node's memory stake for the stream. The node earns the deposit at the stream's rate from creation
/// until it is spent (`settle` moves what it earned to its credits); the owner may top up. The owner closes the
/// stream at any time, the node once the deposit is spent: the node is credited what it earned and the owner
/// the rest. Writes stop; the node may still checkpoint for one checkpoint window after the close (so that the
/// writes it acknowledged before the close can be covered), and the collateral stays locked, and slashable, for
/// two windows after the close (`releasableAt`), then `releaseCollateral` unlocks it. Stream ids are 1, 2, 3, ...
///
/// Writes happen off chain. A writer signs `Write(uint256 stream,address writer,uint64 nonce,bytes32 opsHash)`
/// (EIP-712, domain "daios MemoryRegistry", version "1", this chain and contract); the node accepts the write
/// request as the stream's next sequence number `seq` (1, 2, ...) and answers with its signature of
/// `Receipt(uint256 stream,uint64 seq,bytes32 entriesHash,uint64 issuedAt)`, where
/// entriesHash = keccak256(abi.encodePacked(keyHash_0, valueHash_0, keyHash_1, valueHash_1, ...)) over the ops of
/// the request in order (a delete has valueHash 0). The receipt commits the node to (stream, seq, key, value hash)
/// for every op. The node also signs its current root as `Root(uint256 stream,uint64 seq,bytes32 root)` for readers.
///
/// Checkpoints. The node posts the root of the stream's map after write `seq` (a sparse Merkle tree, see
/// `MemoryProof`) with strictly increasing sequence numbers. Each checkpoint is kept as a history slot
/// keccak256(abi.encodePacked(root, uint64 seq, uint64 timestamp)) so that any past checkpoint can be presented.
///
/// Slashing (anyone may report; the stream must be Active, or Closed within its slashing window of twice the
/// checkpoint window after the close; it ends Slashed, a final status):
///   contradiction: a receipt signed by the node, the receipt's entries, a checkpoint of the stream at or after the
///     receipt's seq, and a proof against its root that the receipt's key is absent, or was last written before the
///     receipt's seq, or was written at the receipt's seq with another value hash (for a key that occurs more than
///     once in the request, the value of its last occurrence). A later write of the key (leaf seq > receipt seq) is
///     no contradiction.
///   lateness: a receipt signed by the node, `checkpointWindow` seconds (as configured at the stream's creation)
///     after its `issuedAt`, while the latest checkpoint's seq is still below the receipt's seq.
/// The stream's collateral is slashed from the node's stake into this contract: `reporterBps` of it is credited
/// to the reporter (nothing when the node reports itself), the rest to the stream's owner. The node is credited
/// what it earned until then and the owner the unearned deposit.
///
/// Payouts are pull payments (`withdraw`). The contract's token balance always equals the unearned deposits of
/// active streams plus the unpaid credits. Only tokens without transfer fees or rebasing are supported, and the
/// token must be the registry's stake token.
interface IMemoryRegistry {
    /// @notice Life cycle of a stream: Active, then Closed or Slashed. Slashed is final; a Closed stream can still
    ///         be Slashed until its slashing window ends (`releasableAt`).
    enum Status {
        None,
        Active,
        Closed,
        Slashed
    }

    /// @notice A root the node signed (EIP-712 `Root(stream, seq, root)`) and its signature.
    struct SignedRoot {
        bytes32 root;
        uint64 seq;
        bytes signature;
    }

    /// @notice Why a stream was slashed.
    enum SlashReason {
        Contradiction,
        Uncheckpointed,
        SignedRoot
    }

    /// @notice Parameters the owner sets.
    /// @param streamCollateral Stake locked per stream from its node (token base units): at most 2^96 - 1; zero
    ///        locks nothing (and so nothing can be slashed).
    /// @param checkpointWindow Seconds after a receipt's `issuedAt` by which a checkpoint must cover its seq:
    ///        1..MAX_CHECKPOINT_WINDOW.
    /// @param reporterBps Share of slashed collateral credited to the reporter, in basis points: at most BPS.
    struct Config {
        uint256 streamCollateral;
        uint256 checkpointWindow;
        uint256 reporterBps;
    }

    /// @notice A node's receipt for one accepted write request (EIP-712 type `Receipt`).
    /// @param stream The stream.
    /// @param seq The sequence number the request got: 1, 2, ...
    /// @param entriesHash keccak256(abi.encodePacked(keyHash_0, valueHash_0, ...)) over the request's ops.
    /// @param issuedAt Unix seconds, the node's clock when it accepted the request.
    struct Receipt {
        uint256 stream;
        uint64 seq;
        bytes32 entriesHash;
        uint64 issuedAt;
    }

    /// @notice A posted checkpoint, as presented to `slashContradiction`.
    /// @param index Position in the stream's checkpoint history: 0, 1, ...
    /// @param root Root of the stream's map after write `seq`.
    /// @param seq The stream's sequence number the root is of.
    /// @param timestamp Block time at which the checkpoint was posted.
    struct Checkpoint {
        uint256 index;
        bytes32 root;
        uint64 seq;
        uint64 timestamp;
    }

    /// @notice A leaf of the sparse Merkle tree: the latest op on one key.
    /// @param keyHash keccak256(key).
    /// @param valueHash keccak256(value) of a put; zero for a delete (tombstone).
    /// @param seq The stream sequence number of the key's latest op.
    /// @param version Number of ops on the key so far (1 after the first put).
    struct Leaf {
        bytes32 keyHash;
        bytes32 valueHash;
        uint64 seq;
        uint64 version;
    }

    /// @notice A proof for a key, membership or not. The walk from the root along the key's path ends at depth
    ///         `siblings.length` at a terminal node: empty (`hasLeaf` false: the key is absent), the key's leaf
    ///         (membership), or another key's leaf sharing the first `siblings.length` bits of the path (absent).
    /// @param siblings Hashes of the sibling subtrees, top-down: siblings[i] is at depth i + 1. At most 256.
    /// @param hasLeaf Whether the terminal node is a leaf.
    /// @param leaf The terminal leaf when `hasLeaf`; ignored otherwise.
    struct Proof {
        bytes32[] siblings;
        bool hasLeaf;
        Leaf leaf;
    }

    /// @notice A stream, as returned by `getStream`.
    /// @param owner Creator; grants and revokes writers, tops up and closes.
    /// @param node The memory node serving the stream (signer of its receipts, poster of its checkpoints).
    /// @param status Life-cycle status.
    /// @param createdAt Block time of creation.
    /// @param collateral Node stake locked for the stream (this contract's `streamCollateral` at creation); zero once
    ///        a Closed stream's collateral was released; for a Slashed stream, the amount slashed.
    /// @param checkpointWindow Lateness window of the stream's receipts (the configured window at creation).
    /// @param ratePerSecond Payment to the node per second, token base units.
    /// @param balance Deposit not yet moved to the node's credits (what the node earned since `settledAt`
    ///        included); zero once the stream is closed or slashed.
    /// @param settledAt Block time up to which the node's earnings were moved to its credits.
    /// @param root Latest checkpoint's root; zero before the first checkpoint.
    /// @param seq Latest checkpoint's sequence number; zero before the first checkpoint.
    /// @param checkpointedAt Block time of the latest checkpoint; zero before the first checkpoint.
    /// @param checkpointCount Number of checkpoints posted.
    struct StreamInfo {
        address owner;
        address node;
        Status status;
        uint256 createdAt;
        uint256 collateral;
        uint256 checkpointWindow;
        uint256 ratePerSecond;
        uint256 balance;
        uint256 settledAt;
        bytes32 root;
        uint64 seq;
        uint256 checkpointedAt;
        uint256 checkpointCount;
    }

    /// @notice The latest snapshot of a stream: its map as a file stored by a `StorageMarket` deal.
    /// @param seq The stream sequence number the snapshot is of; zero when none was recorded.
    /// @param storageRoot The snapshot file's storage root.
    /// @param dealId The storage deal holding the file.
    /// @param recordedAt Block time of recording.
    struct Snapshot {
        uint64 seq;
        uint256 storageRoot;
        uint256 dealId;
        uint256 recordedAt;
    }

    // ------------------------------------------------------------------ errors

    /// @notice No stream has id `stream`.
    error MemoryRegistryUnknownStream(uint256 stream);
    /// @notice The stream is not Active (its status is `status`).
    error MemoryRegistryStreamNotActive(uint256 stream, Status status);
    /// @notice `caller` is not the stream's owner.
    error MemoryRegistryNotOwner(uint256 stream, address caller);
    /// @notice `caller` is not the stream's node.
    error MemoryRegistryNotNode(uint256 stream, address caller);
    /// @notice The node may close the stream only once its deposit is spent; `balance` is still unearned.
    error MemoryRegistryDepositNotSpent(uint256 stream, uint256 balance);
    /// @notice `node` is not an active memory provider in the provider registry (register for MEMORY_ROLE).
    error MemoryRegistryNodeNotActive(address node);
    /// @notice `count` writers were listed at creation; at most `max` are allowed (grant more afterwards).
    error MemoryRegistryTooManyWriters(uint256 count, uint256 max);
    /// @notice `writer` is a writer of the stream already.
    error MemoryRegistryWriterAlreadyGranted(uint256 stream, address writer);
    /// @notice `writer` is not a writer of the stream.
    error MemoryRegistryNotWriter(uint256 stream, address writer);
    /// @notice A deposit or top-up of zero.
    error MemoryRegistryZeroAmount();
    /// @notice A rate of zero tokens per second.
    error MemoryRegistryZeroRate();
    /// @notice An address argument (node, writer, constructor address) is zero.
    error MemoryRegistryZeroAddress();
    /// @notice An amount does not fit the registry's accounting (2^128 - 1).
    error MemoryRegistryAmountTooLarge(uint256 amount);
    /// @notice A checkpoint's `seq` is not above the latest checkpoint's `latestSeq`.
    error MemoryRegistrySeqNotIncreasing(uint256 stream, uint64 seq, uint64 latestSeq);
    /// @notice A snapshot's `seq` is zero or above the latest checkpoint's `latestSeq`.
    error MemoryRegistryInvalidSnapshotSeq(uint256 stream, uint64 seq, uint64 latestSeq);
    /// @notice A snapshot's storage root is zero.
    error MemoryRegistryZeroStorageRoot(uint256 stream);
    /// @notice The receipt is for stream `receiptStream`, not for `stream`.
    error MemoryRegistryReceiptWrongStream(uint256 stream, uint256 receiptStream);
    /// @notice The receipt's seq is zero (no write has sequence number 0).
    error MemoryRegistryReceiptSeqZero(uint256 stream);
    /// @notice The node's signature is malformed (not 65 bytes, high s, or no signer recovers).
    error MemoryRegistryInvalidSignature(uint256 stream);
    /// @notice The receipt was signed by `signer`, not by the stream's node `node`.
    error MemoryRegistryWrongSigner(uint256 stream, address signer, address node);
    /// @notice `keys` key hashes but `values` value hashes were given.
    error MemoryRegistryEntriesLengthMismatch(uint256 keys, uint256 values);
    /// @notice `count` entries were given: at least 1 and at most `max` are allowed.
    error MemoryRegistryInvalidEntryCount(uint256 count, uint256 max);
    /// @notice Entry `index` was named, but the receipt has `count` entries.
    error MemoryRegistryEntryIndexOutOfRange(uint256 index, uint256 count);
    /// @notice The entries hash to `computed`, the receipt signed `signed`.
    error MemoryRegistryEntriesHashMismatch(bytes32 computed, bytes32 signed);
    /// @notice The stream has `count` checkpoints; there is none at `index`.
    error MemoryRegistryUnknownCheckpoint(uint256 stream, uint256 index, uint256 count);
    /// @notice The presented checkpoint is not the one posted at `index` (root, seq or timestamp differ).
    error MemoryRegistryCheckpointMismatch(uint256 stream, uint256 index);
    /// @notice The checkpoint's seq `checkpointSeq` is below the receipt's seq `receiptSeq`: it cannot contain it.
    error MemoryRegistryCheckpointBeforeReceipt(uint256 stream, uint64 checkpointSeq, uint64 receiptSeq);
    /// @notice The proven state of `keyHash` agrees with the receipt (or shows a later write of the key).
    error MemoryRegistryNoContradiction(uint256 stream, bytes32 keyHash);
    /// @notice The receipt's checkpoint window has not passed: it ends at `deadline`.
    error MemoryRegistryNotLate(uint256 stream, uint256 deadline);
    /// @notice The latest checkpoint's seq `latestSeq` already covers the receipt's seq `receiptSeq`.
    error MemoryRegistryReceiptCheckpointed(uint256 stream, uint64 receiptSeq, uint64 latestSeq);
    /// @notice The stream has no earnings to settle.
    error MemoryRegistryNothingToSettle(uint256 stream);
    /// @notice `account` has no credit to withdraw.
    error MemoryRegistryNothingToWithdraw(address account);
    /// @notice Configuration parameter `name` has the invalid value `value`.
    error MemoryRegistryInvalidConfig(string name, uint256 value);
    /// @notice The registry token `token` is not the provider registry's stake token `stakeToken`.
    error MemoryRegistryTokenMismatch(address token, address stakeToken);
    /// @notice The stream is Closed and its slashing window ended at `releasableAt`: it can no longer be slashed.
    error MemoryRegistrySlashWindowOver(uint256 stream, uint256 releasableAt);
    /// @notice The closed stream's collateral stays locked until `releasableAt` (its slashing window).
    error MemoryRegistrySlashWindowOpen(uint256 stream, uint256 releasableAt);
    /// @notice Only a Closed stream's collateral can be released; this one is `status`.
    error MemoryRegistryStreamNotClosed(uint256 stream, Status status);
    /// @notice The closed stream holds no collateral (released already, or none was locked).
    error MemoryRegistryNothingToRelease(uint256 stream);
    /// @notice The stream was closed and the window in which its node could still checkpoint ended at `until`.
    error MemoryRegistryCheckpointingOver(uint256 stream, uint256 until);
    /// @notice The closed stream holds no collateral (released, or none was locked): there is nothing to slash.
    error MemoryRegistryNothingToSlash(uint256 stream);
    /// @notice The proof has `depth` siblings; a path has at most 256.
    error MemoryProofTooDeep(uint256 depth);
    /// @notice The proof's terminal leaf `leafKeyHash` does not share the first `depth` bits of `keyHash`'s path.
    error MemoryProofLeafOffPath(bytes32 keyHash, bytes32 leafKeyHash, uint256 depth);
    /// @notice The proof hashes to `computed`, not to the root `root`.
    error MemoryProofRootMismatch(bytes32 computed, bytes32 root);
    /// @notice Encoded proof of `length` bytes does not have the layout uint16 d, d x 32 siblings, flag, leaf.
    error MemoryProofMalformed(uint256 length);
    /// @notice The encoded proof's flag byte is `flag`; it must be 0 (no leaf) or 1 (leaf).
    error MemoryProofInvalidFlag(uint256 flag);

    // ------------------------------------------------------------------ events

    /// @notice `owner` created stream `stream` on `node`, escrowing `deposit` paid at `ratePerSecond`, with
    ///         `collateral` of the node's stake locked.
    event StreamCreated(
        uint256 indexed stream,
        address indexed owner,
        address indexed node,
        uint256 deposit,
        uint256 ratePerSecond,
        uint256 collateral,
        uint256 checkpointWindow
    );
    /// @notice `writer` may write to `stream`.
    event WriterGranted(uint256 indexed stream, address indexed writer);
    /// @notice `writer` may no longer write to `stream`.
    event WriterRevoked(uint256 indexed stream, address indexed writer);
    /// @notice The owner added `amount` to the stream's deposit; `balance` is unearned now (until settled).
    event StreamToppedUp(uint256 indexed stream, uint256 amount, uint256 balance);
    /// @notice `amount` of the deposit, earned by `node`, was moved to its credits.
    event EarningsSettled(uint256 indexed stream, address indexed node, uint256 amount);
    /// @notice The node posted checkpoint `index` of `stream`: the map's root after write `seq`, at `timestamp`.
    event Checkpointed(uint256 indexed stream, uint256 index, bytes32 root, uint64 seq, uint64 timestamp);
    /// @notice The node recorded a snapshot of the map after write `seq`: storage file `storageRoot` of `dealId`.
    event SnapshotRecorded(uint256 indexed stream, uint64 seq, uint256 storageRoot, uint256 dealId);
    /// @notice `by` (owner, or node once the deposit was spent) closed the stream: the owner was credited
    ///         `refund`; `collateral` of the node's stake stays locked until `releasableAt(stream)`.
    event StreamClosed(uint256 indexed stream, address indexed by, uint256 refund, uint256 collateral);
    /// @notice A closed stream's collateral, locked through its slashing window, went back to the node's free stake.
    event CollateralReleased(uint256 indexed stream, address indexed node, uint256 collateral);
    /// @notice `reporter` proved the node of `stream` wrong about receipt `receiptSeq` (`reason`): `slashed` was
    ///         taken from its stake, `reporterShare` of it credited to the reporter and the rest to the owner, who
    ///         was also credited the unearned deposit `refund`.
    event StreamSlashed(
        uint256 indexed stream,
        address indexed reporter,
        SlashReason reason,
        uint64 receiptSeq,
        uint256 slashed,
        uint256 reporterShare,
        uint256 refund
    );
    /// @notice `account` withdrew `amount` of its credits.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice The owner set the configuration.
    event ConfigSet(uint256 streamCollateral, uint256 checkpointWindow, uint256 reporterBps);

    // ------------------------------------------------------------------ stream owner

    /// @notice Creates a stream on `node`, escrows `deposit` (pulled from the caller, who must have approved it)
    ///         and locks the configured `streamCollateral` of the node's memory stake. The caller is the owner.
    /// @param node An active memory provider of the provider registry, with that much free memory stake.
    /// @param writers Addresses that may write (at most MAX_WRITERS, non-zero; duplicates are listed once).
    /// @param deposit Tokens escrowed for the node: non-zero, at most 2^128 - 1.
    /// @param ratePerSecond Tokens the node earns per second from now until the deposit is spent: non-zero.
    /// @return stream The new stream's id.
    function createStream(address node, address[] calldata writers, uint256 deposit, uint128 ratePerSecond)
        external
        returns (uint256 stream);

    /// @notice Lets `writer` write to the stream (owner only; the stream is Active).
    /// @param stream The stream.
    /// @param writer Non-zero; not a writer yet.
    function grantWriter(uint256 stream, address writer) external;

    /// @notice Stops `writer` from writing to the stream (owner only; the stream is Active).
    /// @param stream The stream.
    /// @param writer A writer of the stream.
    function revokeWriter(uint256 stream, address writer) external;

    /// @notice Adds `amount` to the stream's deposit (owner only; the stream is Active), pulled from the caller.
    /// @param stream The stream.
    /// @param amount Non-zero.
    function topUp(uint256 stream, uint256 amount) external;

    /// @notice Closes the stream: the node is credited what it earned and the owner the unearned deposit. The
    ///         owner may close at any time, the node once the deposit is spent. The node's collateral stays locked
    ///         for the slashing window, twice the checkpoint window from the close (`releasableAt`): receipts the
    ///         node issued before the close can still be slashed (a late one becomes late within the first
    ///         window; the writer has the second to act), so closing cannot be used to escape a slash.
    /// @param stream An Active stream.
    function closeStream(uint256 stream) external;

    /// @notice Unlocks a Closed stream's collateral in the provider registry once its slashing window is over
    ///         (anyone may call; the node's role does).
    /// @param stream A Closed stream with collateral, after `releasableAt(stream)`.
    function releaseCollateral(uint256 stream) external;

    // ------------------------------------------------------------------ node

    /// @notice Posts the root of the stream's map after write `seq` (the stream's node only; an Active stream, or
    ///         a Closed one for one checkpoint window after the close, so that the node can cover the writes it
    ///         acknowledged before it learnt of the close).
    /// @param stream The stream.
    /// @param root Root of the sparse Merkle tree of the stream's map (see `MemoryProof`).
    /// @param seq Strictly above the latest checkpoint's seq.
    function checkpoint(uint256 stream, bytes32 root, uint64 seq) external;

    /// @notice Records the latest snapshot of the stream's map, a file stored by a storage deal (the stream's node
    ///         only; Active stream).
    /// @param stream The stream.
    /// @param seq The sequence number the snapshot is of: 1..latest checkpoint's seq.
    /// @param storageRoot The snapshot file's storage root: non-zero.
    /// @param dealId The storage deal holding the file (not checked here).
    function recordSnapshot(uint256 stream, uint64 seq, uint256 storageRoot, uint256 dealId) external;

    // ------------------------------------------------------------------ everyone

    /// @notice Moves what the node earned on the stream so far to the node's credits.
    /// @param stream An Active stream with earnings.
    /// @return amount The amount credited.
    function settle(uint256 stream) external returns (uint256 amount);

    /// @notice Slashes the stream's node for a receipt that a checkpoint contradicts (see the contract notice).
    /// @param stream An Active stream, or a Closed one within its slashing window (`releasableAt`).
    /// @param receipt The receipt; `receipt.stream` is `stream` and `receipt.seq` non-zero.
    /// @param nodeSignature The node's 65-byte signature of the receipt's EIP-712 digest.
    /// @param keyHashes The request's key hashes, in order (1..MAX_ENTRIES).
    /// @param valueHashes The request's value hashes, in order (as many as key hashes).
    /// @param index The entry whose key the proof is for.
    /// @param posted A checkpoint of the stream, as posted, with seq at least the receipt's.
    /// @param proof A proof for keyHashes[index] against `posted.root`.
    function slashContradiction(
        uint256 stream,
        Receipt calldata receipt,
        bytes calldata nodeSignature,
        bytes32[] calldata keyHashes,
        bytes32[] calldata valueHashes,
        uint256 index,
        Checkpoint calldata posted,
        Proof calldata proof
    ) external;

    /// @notice Slashes the stream's node for a root it signed (EIP-712 `Root(stream, seq, root)`, what it answers
    ///         verified reads against when it is newer than the chain's checkpoint) that contradicts one of its
    ///         receipts: the same checks as `slashContradiction`, with the signed root in place of a posted
    ///         checkpoint. So a node is bound by every root it signs, posted or not.
    /// @param stream An Active stream, or a Closed one within its slashing window (`releasableAt`).
    /// @param receipt The receipt; `receipt.stream` is `stream` and `receipt.seq` non-zero.
    /// @param nodeSignature The node's 65-byte signature of the receipt's EIP-712 digest.
    /// @param keyHashes The receipt's entries' key hashes, in order.
    /// @param valueHashes The receipt's entries' value hashes, in order.
    /// @param index The entry whose key the proof is for.
    /// @param signed The root the node signed, its seq (at least `receipt.seq`) and the node's 65-byte signature
    ///        of `rootDigest(stream, seq, root)`.
    /// @param proof A proof against `signed.root` showing the key absent, older than `receipt.seq`, or at `receipt.seq`
    ///        with another value hash.
    function slashSignedRoot(
        uint256 stream,
        Receipt calldata receipt,
        bytes calldata nodeSignature,
        bytes32[] calldata keyHashes,
        bytes32[] calldata valueHashes,
        uint256 index,
        SignedRoot calldata signed,
        Proof calldata proof
    ) external;

    /// @notice Slashes the stream's node for a receipt that no checkpoint covered within the stream's checkpoint
    ///         window: now > receipt.issuedAt + checkpointWindow and the latest checkpoint's seq < receipt.seq.
    /// @param stream An Active stream, or a Closed one within its slashing window (`releasableAt`).
    /// @param receipt The receipt; `receipt.stream` is `stream` and `receipt.seq` non-zero.
    /// @param nodeSignature The node's 65-byte signature of the receipt's EIP-712 digest.
    function slashUncheckpointed(uint256 stream, Receipt calldata receipt, bytes calldata nodeSignature) external;

    /// @notice Pays the caller its credits (earnings, refunds, slashing shares).
    function withdraw() external;

    // ------------------------------------------------------------------ registry owner

    /// @notice Sets the configuration (owner only). Applies to streams created afterwards (collateral, window)
    ///         and to slashes made afterwards (reporterBps).
    /// @param config_ The new configuration.
    function setConfig(Config calldata config_) external;

    // ------------------------------------------------------------------ views

    /// @notice Largest number of writers listed at creation.
    function MAX_WRITERS() external view returns (uint256);
    /// @notice Largest number of ops (entries) of a receipt presented for slashing.
    function MAX_ENTRIES() external view returns (uint256);
    /// @notice Largest key, in bytes (the node enforces it; for the SDK).
    function MAX_KEY_BYTES() external view returns (uint256);
    /// @notice Largest value, in bytes (the node enforces it; for the SDK).
    function MAX_VALUE_BYTES() external view returns (uint256);
    /// @notice Largest `checkpointWindow`, in seconds.
    function MAX_CHECKPOINT_WINDOW() external view returns (uint256);
    /// @notice Basis points denominator (10,000).
    function BPS() external view returns (uint256);
    /// @notice EIP-712 type hash of `Write(uint256 stream,address writer,uint64 nonce,bytes32 opsHash)`.
    function WRITE_TYPEHASH() external view returns (bytes32);
    /// @notice EIP-712 type hash of `Receipt(uint256 stream,uint64 seq,bytes32 entriesHash,uint64 issuedAt)`.
    function RECEIPT_TYPEHASH() external view returns (bytes32);
    /// @notice EIP-712 type hash of `Root(uint256 stream,uint64 seq,bytes32 root)`.
    function ROOT_TYPEHASH() external view returns (bytes32);

    /// @notice The ERC-20 token of deposits and payouts (the provider registry's stake token).
    function token() external view returns (address);
    /// @notice The provider registry whose memory stake backs the streams.
    function providerRegistry() external view returns (address);
    /// @notice The provider registry's MEMORY_ROLE.
    function memoryRole() external view returns (bytes32);
    /// @notice The current configuration.
    function config() external view returns (Config memory);
    /// @notice Number of streams created (the latest stream's id).
    function streamCount() external view returns (uint256);
    /// @notice Stream `stream`; reverts for an unknown stream.
    function getStream(uint256 stream) external view returns (StreamInfo memory);
    /// @notice Whether `account` may write to the stream now (listed, and the stream is Active).
    function isWriter(uint256 stream, address account) external view returns (bool);
    /// @notice The latest checkpoint of the stream: all zero before the first one (seq 0: the empty map, root 0).
    /// @return root The map's root after write `seq`.
    /// @return seq The sequence number.
    /// @return timestamp Block time of posting.
    /// @return index Position in the history (checkpointCount - 1; zero when there is none).
    function latestCheckpoint(uint256 stream)
        external
        view
        returns (bytes32 root, uint64 seq, uint64 timestamp, uint256 index);
    /// @notice keccak256(abi.encodePacked(root, uint64 seq, uint64 timestamp)) of checkpoint `index` of the
    ///         stream; zero when there is none at `index`.
    function checkpointHash(uint256 stream, uint256 index) external view returns (bytes32);
    /// @notice The latest recorded snapshot of the stream (all zero when none).
    function latestSnapshot(uint256 stream) external view returns (Snapshot memory);
    /// @notice What the node earned on the stream since it was last settled (zero unless Active).
    function earned(uint256 stream) external view returns (uint256);

    /// @notice When a Closed stream's collateral can be released (its slashing window ends): 0 for a stream
    ///         that is not Closed or holds no collateral.
    /// @param stream Any stream id.
    function releasableAt(uint256 stream) external view returns (uint256);
    /// @notice Unpaid credits of `account`.
    function credits(address account) external view returns (uint256);

    /// @notice EIP-712 digest of `Write(stream, writer, nonce, opsHash)` in this contract's domain.
    function writeDigest(uint256 stream, address writer, uint64 nonce, bytes32 opsHash)
        external
        view
        returns (bytes32);
    /// @notice EIP-712 digest of `Receipt(stream, seq, entriesHash, issuedAt)` in this contract's domain.
    function receiptDigest(uint256 stream, uint64 seq, bytes32 entriesHash, uint64 issuedAt)
        external
        view
        returns (bytes32);
    /// @notice EIP-712 digest of `Root(stream, seq, root)` in this contract's domain.
    function rootDigest(uint256 stream, uint64 seq, bytes32 root) external view returns (bytes32);
    /// @notice keccak256(abi.encode(uint8 kind, keyHash, valueHash, int64 expectedVersion)): kind 0 put, 1 delete;
    ///         expectedVersion -1 when none.
    function opHash(uint8 kind, bytes32 keyHash, bytes32 valueHash, int64 expectedVersion)
        external
        pure
        returns (bytes32);
    /// @notice keccak256(abi.encodePacked(opHashes)).
    function opsHash(bytes32[] calldata opHashes) external pure returns (bytes32);
    /// @notice keccak256(abi.encodePacked(keyHash_0, valueHash_0, keyHash_1, valueHash_1, ...)).
    /// @dev Reverts unless both arrays have the same length.
    function entriesHash(bytes32[] calldata keyHashes, bytes32[] calldata valueHashes)
        external
        pure
        returns (bytes32);
    /// @notice Hash of a leaf: keccak256(abi.encodePacked(bytes1(0x00), keyHash, valueHash, uint64 seq,
    ///         uint64 version)).
    function leafHash(Leaf calldata leaf) external pure returns (bytes32);
    /// @notice Verifies `proof` for `keyHash` against `root` (see `MemoryProof.verify`); reverts with the
    ///         failing check (MemoryProofTooDeep, MemoryProofLeafOffPath, MemoryProofRootMismatch).
    /// @return member True when the key is in the map (a tombstone is a member with valueHash 0).
    /// @return leaf The terminal leaf: the key's when `member`, another key's or all zero otherwise.
    function proveLeaf(bytes32 root, bytes32 keyHash, Proof calldata proof)
        external
        pure
        returns (bool member, Leaf memory leaf);
    /// @notice `proveLeaf` for a proof in the wire encoding (uint16 d, d x 32 siblings, flag byte, then when the
    ///         flag is 1: keyHash, valueHash, uint64 seq, uint64 version, big-endian); also reverts with
    ///         MemoryProofMalformed or MemoryProofInvalidFlag for a bad encoding.
    function proveLeafEncoded(bytes32 root, bytes32 keyHash, bytes calldata proof)
        external
        pure
        returns (bool member, Leaf memory leaf);
}
