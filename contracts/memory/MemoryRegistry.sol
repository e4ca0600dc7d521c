// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IMemoryRegistry} from "../interfaces/IMemoryRegistry.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {MemoryProof} from "../libraries/MemoryProof.sol";

/// @title MemoryRegistry
/// @notice Agent memory streams served by staked memory nodes: checkpoints of their sparse-Merkle roots,
///         payment escrow, and slashing of nodes that break a signed receipt. See `IMemoryRegistry` for the rules.
contract MemoryRegistry is IMemoryRegistry, Ownable2Step, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;

    /// @inheritdoc IMemoryRegistry
    uint256 public constant MAX_WRITERS = 64;
    /// @inheritdoc IMemoryRegistry
    uint256 public constant MAX_ENTRIES = 1024;
    /// @inheritdoc IMemoryRegistry
    uint256 public constant MAX_KEY_BYTES = 256;
    /// @inheritdoc IMemoryRegistry
    uint256 public constant MAX_VALUE_BYTES = 65_536;
    /// @inheritdoc IMemoryRegistry
    uint256 public constant MAX_CHECKPOINT_WINDOW = 30 days;
    /// @inheritdoc IMemoryRegistry
    uint256 public constant BPS = 10_000;
    /// @inheritdoc IMemoryRegistry
    bytes32 public constant WRITE_TYPEHASH =
        keccak256("Write(uint256 stream,address writer,uint64 nonce,bytes32 opsHash)");
    /// @inheritdoc IMemoryRegistry
    bytes32 public constant RECEIPT_TYPEHASH =
        keccak256("Receipt(uint256 stream,uint64 seq,bytes32 entriesHash,uint64 issuedAt)");
    /// @inheritdoc IMemoryRegistry
    bytes32 public constant ROOT_TYPEHASH = keccak256("Root(uint256 stream,uint64 seq,bytes32 root)");

    /// @dev The word `checkpoint` reads and writes: latest checkpoint, status and collateral.
    struct StreamHot {
        uint64 seq;
        uint40 checkpointedAt;
        uint48 checkpointCount;
        Status status;
        uint96 collateral;
    }

    /// @dev Read by every node action; written once.
    struct StreamNode {
        address node;
        uint40 createdAt;
        uint32 checkpointWindow;
    }

    /// @dev The payment terms: the deposit not yet credited to the node, its rate and the last settlement.
    struct StreamPay {
        uint128 balance;
        uint128 rate;
    }

    struct StreamRecord {
        StreamHot hot;
        StreamNode ref;
        bytes32 root;
        StreamPay pay;
        address owner;
        uint40 settledAt;
        uint40 closedAt;
    }

    struct SnapshotRecord {
        uint64 seq;
        uint40 recordedAt;
        uint256 storageRoot;
        uint256 dealId;
    }

    struct Params {
        uint96 streamCollateral;
        uint32 checkpointWindow;
        uint16 reporterBps;
    }

    IERC20 private immutable _token;
    IProviderRegistry private immutable _registry;
    bytes32 private immutable _memoryRole;

    Params private _params;
    uint256 private _streamCount;
    mapping(uint256 stream => StreamRecord) private _streams;
    mapping(uint256 stream => mapping(uint256 index => bytes32)) private _history;
    mapping(uint256 stream => mapping(address writer => bool)) private _writers;
    mapping(uint256 stream => SnapshotRecord) private _snapshots;
    mapping(address account => uint256) private _credits;

    /// @param token_ ERC-20 token of deposits: the provider registry's stake token.
    /// @param registry_ The provider registry (this contract must be authorised there as MEMORY_ROLE's layer).
    /// @param initialOwner Owner (sets the configuration); the treasury or governance.
    /// @param config_ Initial configuration.
    constructor(address token_, address registry_, address initialOwner, Config memory config_)
        Ownable(initialOwner)
        EIP712("daios MemoryRegistry", "1")
    {
        if (token_ == address(0) || registry_ == address(0)) revert MemoryRegistryZeroAddress();
        address stakeToken = IProviderRegistry(registry_).stakeToken();
        if (stakeToken != token_) revert MemoryRegistryTokenMismatch(token_, stakeToken);
        _token = IERC20(token_);
        _registry = IProviderRegistry(registry_);
        _memoryRole = IProviderRegistry(registry_).MEMORY_ROLE();
        _setConfig(config_);
    }

    // ------------------------------------------------------------------ stream owner

    /// @inheritdoc IMemoryRegistry
    function createStream(address node, address[] calldata writers, uint256 deposit, uint128 ratePerSecond)
        external
        nonReentrant
        returns (uint256 stream)
    {
        if (node == address(0)) revert MemoryRegistryZeroAddress();
        if (!_registry.isActive(node, _memoryRole)) revert MemoryRegistryNodeNotActive(node);
        uint256 count = writers.length;
        if (count > MAX_WRITERS) revert MemoryRegistryTooManyWriters(count, MAX_WRITERS);
        if (deposit == 0) revert MemoryRegistryZeroAmount();
        if (ratePerSecond == 0) revert MemoryRegistryZeroRate();
        Params memory p = _params;

        // Cannot overflow: one stream per call.
        unchecked {
            stream = ++_streamCount;
        }
        StreamRecord storage s = _streams[stream];
        s.hot = StreamHot({
            seq: 0, checkpointedAt: 0, checkpointCount: 0, status: Status.Active, collateral: p.streamCollateral
        });
        // Exact cast: block times fit 40 bits for millennia.
        s.ref = StreamNode({node: node, createdAt: uint40(block.timestamp), checkpointWindow: p.checkpointWindow});
        s.pay = StreamPay({balance: _toUint128(deposit), rate: ratePerSecond});
        s.owner = msg.sender;
        s.settledAt = uint40(block.timestamp);
        emit StreamCreated(
            stream, msg.sender, node, deposit, ratePerSecond, p.streamCollateral, p.checkpointWindow
        );
        // Bounded: count <= MAX_WRITERS.
        for (uint256 i = 0; i < count; ++i) {
            address writer = writers[i];
            if (writer == address(0)) revert MemoryRegistryZeroAddress();
            if (_writers[stream][writer]) continue;
            _writers[stream][writer] = true;
            emit WriterGranted(stream, writer);
        }

        // The registry is trusted (it holds the stake); it reverts when the node lacks free memory stake.
        if (p.streamCollateral != 0) _registry.lockStake(node, _memoryRole, p.streamCollateral);
        _token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @inheritdoc IMemoryRegistry
    function grantWriter(uint256 stream, address writer) external {
        _ownedActive(stream);
        if (writer == address(0)) revert MemoryRegistryZeroAddress();
        if (_writers[stream][writer]) revert MemoryRegistryWriterAlreadyGranted(stream, writer);
        _writers[stream][writer] = true;
        emit WriterGranted(stream, writer);
    }

    /// @inheritdoc IMemoryRegistry
    function revokeWriter(uint256 stream, address writer) external {
        _ownedActive(stream);
        if (!_writers[stream][writer]) revert MemoryRegistryNotWriter(stream, writer);
        _writers[stream][writer] = false;
        emit WriterRevoked(stream, writer);
    }

    /// @inheritdoc IMemoryRegistry
    function topUp(uint256 stream, uint256 amount) external nonReentrant {
        StreamRecord storage s = _ownedActive(stream);
        if (amount == 0) revert MemoryRegistryZeroAmount();
        // A spent deposit stops earning at the moment it ran out, not at the top-up: settle first.
        _settle(s, stream);
        uint256 balance = uint256(s.pay.balance) + amount;
        s.pay.balance = _toUint128(balance);
        emit StreamToppedUp(stream, amount, balance);

        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IMemoryRegistry
    function closeStream(uint256 stream) external nonReentrant {
        StreamRecord storage s = _active(stream);
        address node = s.ref.node;
        if (msg.sender != s.owner) {
            if (msg.sender != node) revert MemoryRegistryNotOwner(stream, msg.sender);
            uint256 unearned = s.pay.balance - _earned(s);
            if (unearned != 0) revert MemoryRegistryDepositNotSpent(stream, unearned);
        }
        uint256 refund = _settleAndRefund(s, stream);
        s.hot.status = Status.Closed;
        // Exact cast: block times fit 40 bits. The collateral stays locked through the slashing window.
        s.closedAt = uint40(block.timestamp);
        emit StreamClosed(stream, msg.sender, refund, s.hot.collateral);
    }

    /// @inheritdoc IMemoryRegistry
    function releaseCollateral(uint256 stream) external nonReentrant {
        StreamRecord storage s = _streams[stream];
        Status status = s.hot.status;
        if (status != Status.Closed) {
            if (status == Status.None) revert MemoryRegistryUnknownStream(stream);
            revert MemoryRegistryStreamNotClosed(stream, status);
        }
        uint256 collateral = s.hot.collateral;
        if (collateral == 0) revert MemoryRegistryNothingToRelease(stream);
        uint256 until = _releasableAt(s);
        if (block.timestamp < until) revert MemoryRegistrySlashWindowOpen(stream, until);
        s.hot.collateral = 0;
        address node = s.ref.node;
        emit CollateralReleased(stream, node, collateral);

        _registry.unlockStake(node, _memoryRole, collateral);
    }

    // ------------------------------------------------------------------ node

    /// @inheritdoc IMemoryRegistry
    function checkpoint(uint256 stream, bytes32 root, uint64 seq) external {
        StreamRecord storage s = _streams[stream];
        StreamHot memory h = s.hot;
        if (h.status != Status.Active) {
            if (h.status != Status.Closed) _revertInactive(stream, h.status);
            // One window of grace after the close: the writes acknowledged before it can still be covered.
            uint256 until = uint256(s.closedAt) + s.ref.checkpointWindow;
            if (block.timestamp >= until) revert MemoryRegistryCheckpointingOver(stream, until);
        }
        if (msg.sender != s.ref.node) revert MemoryRegistryNotNode(stream, msg.sender);
        if (seq <= h.seq) revert MemoryRegistrySeqNotIncreasing(stream, seq, h.seq);
        uint256 index = h.checkpointCount;
        h.seq = seq;
        // Exact casts: block times fit 40 bits; one checkpoint per transaction cannot reach 2^48.
        h.checkpointedAt = uint40(block.timestamp);
        h.checkpointCount = uint48(index + 1);
        s.hot = h;
        s.root = root;
        _history[stream][index] = keccak256(abi.encodePacked(root, seq, uint64(block.timestamp)));
        emit Checkpointed(stream, index, root, seq, uint64(block.timestamp));
    }

    /// @inheritdoc IMemoryRegistry
    function recordSnapshot(uint256 stream, uint64 seq, uint256 storageRoot, uint256 dealId) external {
        StreamRecord storage s = _active(stream);
        if (msg.sender != s.ref.node) revert MemoryRegistryNotNode(stream, msg.sender);
        uint64 latest = s.hot.seq;
        if (seq == 0 || seq > latest) revert MemoryRegistryInvalidSnapshotSeq(stream, seq, latest);
        if (storageRoot == 0) revert MemoryRegistryZeroStorageRoot(stream);
        _snapshots[stream] =
            SnapshotRecord({seq: seq, recordedAt: uint40(block.timestamp), storageRoot: storageRoot, dealId: dealId});
        emit SnapshotRecorded(stream, seq, storageRoot, dealId);
    }

    // ------------------------------------------------------------------ everyone

    /// @inheritdoc IMemoryRegistry
    function settle(uint256 stream) external returns (uint256 amount) {
        amount = _settle(_active(stream), stream);
        if (amount == 0) revert MemoryRegistryNothingToSettle(stream);
    }

    /// @inheritdoc IMemoryRegistry
    function slashContradiction(
        uint256 stream,
        Receipt calldata receipt,
        bytes calldata nodeSignature,
        bytes32[] calldata keyHashes,
        bytes32[] calldata valueHashes,
        uint256 index,
        Checkpoint calldata posted,
        Proof calldata proof
    ) external nonReentrant {
        _checkReceipt(stream, receipt, nodeSignature);
        // Checks the entries (and `index`) before keyHashes[index] is read.
        bytes32 expected = _expectedValueHash(receipt.entriesHash, keyHashes, valueHashes, index);
        _checkPosted(stream, posted, receipt.seq);
        _checkContradicts(stream, receipt.seq, keyHashes[index], expected, posted.root, proof);
        _slash(stream, SlashReason.Contradiction, receipt.seq);
    }

    /// @inheritdoc IMemoryRegistry
    function slashSignedRoot(
        uint256 stream,
        Receipt calldata receipt,
        bytes calldata nodeSignature,
        bytes32[] calldata keyHashes,
        bytes32[] calldata valueHashes,
        uint256 index,
        SignedRoot calldata signed,
        Proof calldata proof
    ) external nonReentrant {
        StreamRecord storage s = _checkReceipt(stream, receipt, nodeSignature);
        bytes32 expected = _expectedValueHash(receipt.entriesHash, keyHashes, valueHashes, index);
        _checkSignedRoot(stream, s.ref.node, signed, receipt.seq);
        _checkContradicts(stream, receipt.seq, keyHashes[index], expected, signed.root, proof);
        _slash(stream, SlashReason.SignedRoot, receipt.seq);
    }

    /// @inheritdoc IMemoryRegistry
    function slashUncheckpointed(uint256 stream, Receipt calldata receipt, bytes calldata nodeSignature)
        external
        nonReentrant
    {
        StreamRecord storage s = _checkReceipt(stream, receipt, nodeSignature);
        uint256 deadline = uint256(receipt.issuedAt) + s.ref.checkpointWindow;
        if (block.timestamp <= deadline) revert MemoryRegistryNotLate(stream, deadline);
        uint64 latest = s.hot.seq;
        if (latest >= receipt.seq) revert MemoryRegistryReceiptCheckpointed(stream, receipt.seq, latest);
        _slash(stream, SlashReason.Uncheckpointed, receipt.seq);
    }

    /// @inheritdoc IMemoryRegistry
    function withdraw() external nonReentrant {
        uint256 amount = _credits[msg.sender];
        if (amount == 0) revert MemoryRegistryNothingToWithdraw(msg.sender);
        _credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);

        _token.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ owner

    /// @inheritdoc IMemoryRegistry
    function setConfig(Config calldata config_) external onlyOwner {
        _setConfig(config_);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IMemoryRegistry
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IMemoryRegistry
    function providerRegistry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IMemoryRegistry
    function memoryRole() external view returns (bytes32) {
        return _memoryRole;
    }

    /// @inheritdoc IMemoryRegistry
    function config() external view returns (Config memory) {
        Params memory p = _params;
        return Config({
            streamCollateral: p.streamCollateral, checkpointWindow: p.checkpointWindow, reporterBps: p.reporterBps
        });
    }

    /// @inheritdoc IMemoryRegistry
    function streamCount() external view returns (uint256) {
        return _streamCount;
    }

    /// @inheritdoc IMemoryRegistry
    function getStream(uint256 stream) external view returns (StreamInfo memory) {
        StreamRecord storage s = _streams[stream];
        StreamHot memory h = s.hot;
        if (h.status == Status.None) revert MemoryRegistryUnknownStream(stream);
        StreamNode memory r = s.ref;
        StreamPay memory pay = s.pay;
        return StreamInfo({
            owner: s.owner,
            node: r.node,
            status: h.status,
            createdAt: r.createdAt,
            collateral: h.collateral,
            checkpointWindow: r.checkpointWindow,
            ratePerSecond: pay.rate,
            balance: pay.balance,
            settledAt: s.settledAt,
            root: s.root,
            seq: h.seq,
            checkpointedAt: h.checkpointedAt,
            checkpointCount: h.checkpointCount
        });
    }

    /// @inheritdoc IMemoryRegistry
    function isWriter(uint256 stream, address account) external view returns (bool) {
        return _streams[stream].hot.status == Status.Active && _writers[stream][account];
    }

    /// @inheritdoc IMemoryRegistry
    function latestCheckpoint(uint256 stream)
        external
        view
        returns (bytes32 root, uint64 seq, uint64 timestamp, uint256 index)
    {
        StreamRecord storage s = _streams[stream];
        StreamHot memory h = s.hot;
        if (h.status == Status.None) revert MemoryRegistryUnknownStream(stream);
        if (h.checkpointCount == 0) return (bytes32(0), 0, 0, 0);
        // Cannot underflow: checkpointCount != 0.
        unchecked {
            return (s.root, h.seq, h.checkpointedAt, h.checkpointCount - 1);
        }
    }

    /// @inheritdoc IMemoryRegistry
    function checkpointHash(uint256 stream, uint256 index) external view returns (bytes32) {
        return _history[stream][index];
    }

    /// @inheritdoc IMemoryRegistry
    function latestSnapshot(uint256 stream) external view returns (Snapshot memory) {
        SnapshotRecord memory r = _snapshots[stream];
        return Snapshot({seq: r.seq, storageRoot: r.storageRoot, dealId: r.dealId, recordedAt: r.recordedAt});
    }

    /// @inheritdoc IMemoryRegistry
    function releasableAt(uint256 stream) external view returns (uint256) {
        StreamRecord storage s = _streams[stream];
        if (s.hot.status != Status.Closed || s.hot.collateral == 0) return 0;
        return _releasableAt(s);
    }

    /// @inheritdoc IMemoryRegistry
    function earned(uint256 stream) external view returns (uint256) {
        StreamRecord storage s = _streams[stream];
        if (s.hot.status != Status.Active) return 0;
        return _earned(s);
    }

    /// @inheritdoc IMemoryRegistry
    function credits(address account) external view returns (uint256) {
        return _credits[account];
    }

    /// @inheritdoc IMemoryRegistry
    function writeDigest(uint256 stream, address writer, uint64 nonce, bytes32 opsHash_)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(WRITE_TYPEHASH, stream, writer, nonce, opsHash_)));
    }

    /// @inheritdoc IMemoryRegistry
    function receiptDigest(uint256 stream, uint64 seq, bytes32 entriesHash_, uint64 issuedAt)
        external
        view
        returns (bytes32)
    {
        return _receiptDigest(stream, seq, entriesHash_, issuedAt);
    }

    /// @inheritdoc IMemoryRegistry
    function rootDigest(uint256 stream, uint64 seq, bytes32 root) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(ROOT_TYPEHASH, stream, seq, root)));
    }

    /// @inheritdoc IMemoryRegistry
    function opHash(uint8 kind, bytes32 keyHash, bytes32 valueHash, int64 expectedVersion)
        external
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(kind, keyHash, valueHash, expectedVersion));
    }

    /// @inheritdoc IMemoryRegistry
    function opsHash(bytes32[] calldata opHashes) external pure returns (bytes32) {
        return keccak256(abi.encodePacked(opHashes));
    }

    /// @inheritdoc IMemoryRegistry
    function entriesHash(bytes32[] calldata keyHashes, bytes32[] calldata valueHashes)
        external
        pure
        returns (bytes32)
    {
        if (keyHashes.length != valueHashes.length) {
            revert MemoryRegistryEntriesLengthMismatch(keyHashes.length, valueHashes.length);
        }
        return _entriesHash(keyHashes, valueHashes);
    }

    /// @inheritdoc IMemoryRegistry
    function leafHash(Leaf calldata leaf) external pure returns (bytes32) {
        return MemoryProof.leafHash(leaf);
    }

    /// @inheritdoc IMemoryRegistry
    function proveLeaf(bytes32 root, bytes32 keyHash, Proof calldata proof)
        external
        pure
        returns (bool member, Leaf memory leaf)
    {
        return MemoryProof.verify(root, keyHash, proof);
    }

    /// @inheritdoc IMemoryRegistry
    function proveLeafEncoded(bytes32 root, bytes32 keyHash, bytes calldata proof)
        external
        pure
        returns (bool member, Leaf memory leaf)
    {
        return MemoryProof.verify(root, keyHash, MemoryProof.decode(proof));
    }

    // ------------------------------------------------------------------ internals

    /// @dev The stream, which must exist and be Active.
    function _active(uint256 stream) private view returns (StreamRecord storage s) {
        s = _streams[stream];
        Status status = s.hot.status;
        if (status != Status.Active) _revertInactive(stream, status);
    }

    /// @dev The stream, which must be Active and owned by the caller.
    function _ownedActive(uint256 stream) private view returns (StreamRecord storage s) {
        s = _active(stream);
        if (msg.sender != s.owner) revert MemoryRegistryNotOwner(stream, msg.sender);
    }

    function _revertInactive(uint256 stream, Status status) private pure {
        if (status == Status.None) revert MemoryRegistryUnknownStream(stream);
        revert MemoryRegistryStreamNotActive(stream, status);
    }

    /// @dev Checks that `receipt` is for the slashable stream `stream` (Active, or Closed before the end of its
    ///      slashing window), has a seq, and was signed by its node.
    function _checkReceipt(uint256 stream, Receipt calldata receipt, bytes calldata signature)
        private
        view
        returns (StreamRecord storage s)
    {
        s = _streams[stream];
        Status status = s.hot.status;
        if (status == Status.Closed) {
            uint256 until = _releasableAt(s);
            if (block.timestamp >= until) revert MemoryRegistrySlashWindowOver(stream, until);
            // None was locked (a stream created with zero collateral).
            if (s.hot.collateral == 0) revert MemoryRegistryNothingToSlash(stream);
        } else if (status != Status.Active) {
            _revertInactive(stream, status);
        }
        if (receipt.stream != stream) revert MemoryRegistryReceiptWrongStream(stream, receipt.stream);
        if (receipt.seq == 0) revert MemoryRegistryReceiptSeqZero(stream);
        bytes32 digest = _receiptDigest(stream, receipt.seq, receipt.entriesHash, receipt.issuedAt);
        (address signer, ECDSA.RecoverError recoverError,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (recoverError != ECDSA.RecoverError.NoError) revert MemoryRegistryInvalidSignature(stream);
        address node = s.ref.node;
        if (signer != node) revert MemoryRegistryWrongSigner(stream, signer, node);
    }

    /// @dev Checks that `node` signed `signed` for `stream` at or after `receiptSeq`.
    function _checkSignedRoot(uint256 stream, address node, SignedRoot calldata signed, uint64 receiptSeq) private view {
        if (signed.seq < receiptSeq) revert MemoryRegistryCheckpointBeforeReceipt(stream, signed.seq, receiptSeq);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(ROOT_TYPEHASH, stream, signed.seq, signed.root)));
        (address signer, ECDSA.RecoverError recoverError,) = ECDSA.tryRecoverCalldata(digest, signed.signature);
        if (recoverError != ECDSA.RecoverError.NoError) revert MemoryRegistryInvalidSignature(stream);
        if (signer != node) revert MemoryRegistryWrongSigner(stream, signer, node);
    }

    /// @dev Checks the entries against the signed `signedHash` and returns the value hash the receipt promises
    ///      for entry `index`'s key: that of the key's last occurrence in the request (a later op of the same
    ///      request on the same key overrides an earlier one).
    function _expectedValueHash(
        bytes32 signedHash,
        bytes32[] calldata keyHashes,
        bytes32[] calldata valueHashes,
        uint256 index
    ) private pure returns (bytes32 expected) {
        uint256 count = keyHashes.length;
        if (count != valueHashes.length) revert MemoryRegistryEntriesLengthMismatch(count, valueHashes.length);
        if (count == 0 || count > MAX_ENTRIES) revert MemoryRegistryInvalidEntryCount(count, MAX_ENTRIES);
        if (index >= count) revert MemoryRegistryEntryIndexOutOfRange(index, count);
        bytes32 computed = _entriesHash(keyHashes, valueHashes);
        if (computed != signedHash) revert MemoryRegistryEntriesHashMismatch(computed, signedHash);
        bytes32 keyHash = keyHashes[index];
        expected = valueHashes[index];
        // Bounded: count <= MAX_ENTRIES.
        for (uint256 j = index + 1; j < count; ++j) {
            if (keyHashes[j] == keyHash) expected = valueHashes[j];
        }
    }

    /// @dev Checks that `posted` is checkpoint `posted.index` of the stream as posted, at or after `receiptSeq`.
    function _checkPosted(uint256 stream, Checkpoint calldata posted, uint64 receiptSeq) private view {
        uint256 index = posted.index;
        bytes32 stored = _history[stream][index];
        if (stored == bytes32(0)) {
            revert MemoryRegistryUnknownCheckpoint(stream, index, _streams[stream].hot.checkpointCount);
        }
        if (keccak256(abi.encodePacked(posted.root, posted.seq, posted.timestamp)) != stored) {
            revert MemoryRegistryCheckpointMismatch(stream, index);
        }
        if (posted.seq < receiptSeq) revert MemoryRegistryCheckpointBeforeReceipt(stream, posted.seq, receiptSeq);
    }

    /// @dev Reverts unless `proof` shows, against `root`, a state of `keyHash` that breaks the receipt of write
    ///      `receiptSeq` promising `expected`: the key is absent, was last written before `receiptSeq`, or holds
    ///      another value hash at `receiptSeq`. A later write (leaf.seq > receiptSeq) proves nothing.
    function _checkContradicts(
        uint256 stream,
        uint64 receiptSeq,
        bytes32 keyHash,
        bytes32 expected,
        bytes32 root,
        Proof calldata proof
    ) private pure {
        (bool member, Leaf memory leaf) = MemoryProof.verify(root, keyHash, proof);
        if (member && (leaf.seq > receiptSeq || (leaf.seq == receiptSeq && leaf.valueHash == expected))) {
            revert MemoryRegistryNoContradiction(stream, keyHash);
        }
    }

    /// @dev Ends the stream as Slashed: pays out the deposit, slashes the collateral into this contract and
    ///      credits the reporter's share and the rest to the owner.
    function _slash(uint256 stream, SlashReason reason, uint64 receiptSeq) private {
        StreamRecord storage s = _streams[stream];
        address owner_ = s.owner;
        address node = s.ref.node;
        uint256 refund = _settleAndRefund(s, stream);
        uint256 collateral = s.hot.collateral;
        s.hot.status = Status.Slashed;

        uint256 slashed;
        // The registry is trusted (it holds the stake): it takes this contract's lock first, which covers the
        // stream's collateral, and sends the tokens here.
        if (collateral != 0) slashed = _registry.slash(node, _memoryRole, collateral, address(this));
        // A node reporting itself earns no bounty.
        uint256 reporterShare = msg.sender == node ? 0 : slashed * _params.reporterBps / BPS;
        // Cannot underflow: reporterShare <= slashed (reporterBps <= BPS).
        uint256 ownerShare;
        unchecked {
            ownerShare = slashed - reporterShare;
        }
        if (ownerShare != 0) _credits[owner_] += ownerShare;
        if (reporterShare != 0) _credits[msg.sender] += reporterShare;
        emit StreamSlashed(stream, msg.sender, reason, receiptSeq, slashed, reporterShare, refund);
    }

    /// @dev Credits the node what it earned and the owner the rest of the deposit; returns the owner's refund.
    function _settleAndRefund(StreamRecord storage s, uint256 stream) private returns (uint256 refund) {
        _settle(s, stream);
        refund = s.pay.balance;
        if (refund != 0) {
            s.pay.balance = 0;
            _credits[s.owner] += refund;
        }
    }

    /// @dev Moves what the node earned since the last settlement to its credits; returns the amount.
    function _settle(StreamRecord storage s, uint256 stream) private returns (uint256 amount) {
        amount = _earned(s);
        s.settledAt = uint40(block.timestamp);
        if (amount == 0) return 0;
        // Cannot underflow: amount <= balance (see _earned).
        unchecked {
            s.pay.balance -= uint128(amount);
        }
        address node = s.ref.node;
        _credits[node] += amount;
        emit EarningsSettled(stream, node, amount);
    }

    /// @dev The end of a Closed stream's slashing window: two checkpoint windows after the close.
    function _releasableAt(StreamRecord storage s) private view returns (uint256) {
        return uint256(s.closedAt) + 2 * uint256(s.ref.checkpointWindow);
    }

    /// @dev What the node earned since the last settlement: the rate times the elapsed seconds, at most the
    ///      remaining deposit.
    function _earned(StreamRecord storage s) private view returns (uint256) {
        StreamPay memory pay = s.pay;
        // Cannot overflow: rate < 2^128 and elapsed < 2^40.
        uint256 accrued = uint256(pay.rate) * (block.timestamp - s.settledAt);
        return accrued < pay.balance ? accrued : pay.balance;
    }

    function _receiptDigest(uint256 stream, uint64 seq, bytes32 entriesHash_, uint64 issuedAt)
        private
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(RECEIPT_TYPEHASH, stream, seq, entriesHash_, issuedAt)));
    }

    /// @dev keccak256 of keyHash_0, valueHash_0, keyHash_1, ... (both arrays have the same length).
    function _entriesHash(bytes32[] calldata keyHashes, bytes32[] calldata valueHashes)
        private
        pure
        returns (bytes32 h)
    {
        uint256 count = keyHashes.length;
        bytes memory packed = new bytes(count * 64);
        // Bounded by the callers (MAX_ENTRIES for slashing; a view otherwise).
        for (uint256 i = 0; i < count; ++i) {
            bytes32 k = keyHashes[i];
            bytes32 v = valueHashes[i];
            assembly ("memory-safe") {
                let p := add(add(packed, 32), mul(i, 64))
                mstore(p, k)
                mstore(add(p, 32), v)
            }
        }
        h = keccak256(packed);
    }

    function _setConfig(Config memory c) private {
        if (c.streamCollateral > type(uint96).max) {
            revert MemoryRegistryInvalidConfig("streamCollateral", c.streamCollateral);
        }
        if (c.checkpointWindow == 0 || c.checkpointWindow > MAX_CHECKPOINT_WINDOW) {
            revert MemoryRegistryInvalidConfig("checkpointWindow", c.checkpointWindow);
        }
        if (c.reporterBps > BPS) revert MemoryRegistryInvalidConfig("reporterBps", c.reporterBps);
        // Exact casts: every value is bounded above (MAX_CHECKPOINT_WINDOW < 2^32).
        _params = Params({
            streamCollateral: uint96(c.streamCollateral),
            checkpointWindow: uint32(c.checkpointWindow),
            reporterBps: uint16(c.reporterBps)
        });
        emit ConfigSet(c.streamCollateral, c.checkpointWindow, c.reporterBps);
    }

    function _toUint128(uint256 amount) private pure returns (uint128) {
        if (amount > type(uint128).max) revert MemoryRegistryAmountTooLarge(amount);
        return uint128(amount);
    }
}
