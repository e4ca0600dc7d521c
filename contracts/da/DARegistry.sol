// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {DaConstants as C} from "../generated/ProtocolConstants.sol";
import {BN254} from "../libraries/BN254.sol";
import {BLS} from "../libraries/BLS.sol";
import {QuorumSampling} from "../libraries/QuorumSampling.sol";
import {BLSKeyCheck} from "./BLSKeyCheck.sol";
import {IDARegistry} from "../interfaces/IDARegistry.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @title DARegistry
/// @notice BLS keys of DA nodes and their per-epoch quorums. See `IDARegistry` for the rules.
/// @dev A certificate check (`DABlobs.certify`) reads one quorum: four storage words (aggregated key x and
///      y, member root, total weight with member count). Node ids fit 16 bits (MAX_NODES = 256) and are
///      packed 16 per word, so a quorum of up to 32 members keeps its ids in two words.
contract DARegistry is IDARegistry {
    /// @inheritdoc IDARegistry
    string public constant POP_DST = "DAIOS-DA-POP-V1_BN254G1_XMD:KECCAK-256_SVDW_RO_";
    /// @inheritdoc IDARegistry
    uint256 public constant MAX_NODES = QuorumSampling.MAX_CANDIDATES;

    /// @dev Word read for every node at sampling.
    struct NodeHot {
        address account;
        uint64 keysBlock;
    }

    struct Node {
        NodeHot hot;
        BN254.G1Point pkG1;
        BN254.G2Point pkG2;
    }

    /// @dev quorumCount <= MAX_QUORUMS, quorumSize <= MAX_QUORUM_SIZE, candidates <= MAX_NODES.
    struct Epoch {
        bool sampled;
        uint8 quorumCount;
        uint8 quorumSize;
        uint16 candidates;
        bytes32 seed;
    }

    /// @dev totalWeight sums at most MAX_QUORUM_SIZE stakes of 128 bits, so it fits 248 bits.
    struct Quorum {
        BN254.G1Point apk;
        bytes32 memberRoot;
        uint248 totalWeight;
        uint8 memberCount;
        uint256[2] packedIds;
    }

    IProviderRegistry private immutable _registry;
    IRandomnessSource private immutable _randomness;
    bytes32 private immutable _daRole;
    uint256 private immutable _quorumCount;
    uint256 private immutable _quorumSize;

    /// @dev Node id n is _nodes[n - 1].
    Node[] private _nodes;
    mapping(address account => uint256 nodeId) private _nodeIdOf;
    mapping(uint256 epoch => Epoch) private _epochs;
    mapping(uint256 epoch => mapping(uint256 quorumIndex => Quorum)) private _quorums;

    /// @param registry_ Provider registry (DA role, stakes).
    /// @param randomness_ Randomness source of epoch seeds.
    /// @param quorumCount_ Quorums per epoch: 1..MAX_QUORUMS.
    /// @param quorumSize_ Wanted members per quorum: MIN_QUORUM_SIZE..MAX_QUORUM_SIZE.
    constructor(address registry_, address randomness_, uint256 quorumCount_, uint256 quorumSize_) {
        if (registry_ == address(0) || randomness_ == address(0)) revert DARegistryZeroAddress();
        if (
            quorumCount_ == 0 || quorumCount_ > C.MAX_QUORUMS || quorumSize_ < C.MIN_QUORUM_SIZE
                || quorumSize_ > C.MAX_QUORUM_SIZE
        ) revert DARegistryInvalidShape(quorumCount_, quorumSize_);
        _registry = IProviderRegistry(registry_);
        _randomness = IRandomnessSource(randomness_);
        _daRole = IProviderRegistry(registry_).DA_ROLE();
        _quorumCount = quorumCount_;
        _quorumSize = quorumSize_;
    }

    // ------------------------------------------------------------------ node actions

    /// @inheritdoc IDARegistry
    function registerKeys(BN254.G1Point calldata pkG1, BN254.G2Point calldata pkG2, BN254.G1Point calldata pop)
        external
        returns (uint256 nodeId)
    {
        uint256 existing = _nodeIdOf[msg.sender];
        if (existing != 0) revert DARegistryKeysAlreadyRegistered(msg.sender, existing);
        if (!_registry.isActive(msg.sender, _daRole)) revert DARegistryNotActive(msg.sender);
        uint256 count = _nodes.length;
        if (count >= MAX_NODES) revert DARegistryTooManyNodes(MAX_NODES);
        BN254.G1Point memory pk1 = pkG1;
        BN254.G2Point memory pk2 = pkG2;
        if (!BN254.isOnCurveG1(pk1) || !BN254.isOnCurveG2(pk2)) revert DARegistryInvalidKey();
        BN254.G1Point memory hm = BLS.hashToPoint(bytes(POP_DST), abi.encodePacked(_popMessage(msg.sender, pk1, pk2)));
        if (!BN254.isOnCurveG1(pop) || !BLSKeyCheck.verify(pop, pk1, pk2, hm)) {
            revert DARegistryInvalidProofOfPossession(msg.sender);
        }

        // Cannot overflow: count < MAX_NODES.
        unchecked {
            nodeId = count + 1;
        }
        Node storage n = _nodes.push();
        n.hot = NodeHot({account: msg.sender, keysBlock: uint64(block.number)});
        n.pkG1 = pk1;
        n.pkG2 = pk2;
        _nodeIdOf[msg.sender] = nodeId;
        emit KeysRegistered(msg.sender, nodeId, pk1, pk2);
    }

    // ------------------------------------------------------------------ everyone

    /// @inheritdoc IDARegistry
    function sampleEpoch(uint256 epoch) external {
        uint256 current = block.number / C.EPOCH_BLOCKS;
        if (epoch != current && epoch != current + 1) revert DARegistryEpochNotSampleable(epoch, current);
        Epoch storage e = _epochs[epoch];
        if (e.sampled) revert DARegistryEpochAlreadySampled(epoch);
        uint256 seedBlock_ = _seedBlock(epoch);
        bytes32 seed =
            keccak256(abi.encode(_randomness.randomnessAt(seedBlock_), block.chainid, address(this), epoch));

        (uint256[] memory nodeIndex, uint256[] memory weights) = _candidates(seedBlock_);
        (uint256[] memory picks, uint256 size) = QuorumSampling.sample(seed, weights, _quorumCount, _quorumSize);
        uint256 quorums = size == 0 ? 0 : _quorumCount;
        for (uint256 q = 0; q < quorums; ++q) {
            _storeQuorum(epoch, q, size, picks, nodeIndex, weights);
        }
        // Exact casts: quorums <= MAX_QUORUMS, size <= MAX_QUORUM_SIZE, candidates <= MAX_NODES.
        e.sampled = true;
        e.quorumCount = uint8(quorums);
        e.quorumSize = uint8(size);
        e.candidates = uint16(weights.length);
        e.seed = seed;
        emit EpochSampled(epoch, seed, quorums, size, weights.length);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IDARegistry
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IDARegistry
    function randomness() external view returns (address) {
        return address(_randomness);
    }

    /// @inheritdoc IDARegistry
    function daRole() external view returns (bytes32) {
        return _daRole;
    }

    /// @inheritdoc IDARegistry
    function quorumCount() external view returns (uint256) {
        return _quorumCount;
    }

    /// @inheritdoc IDARegistry
    function quorumSize() external view returns (uint256) {
        return _quorumSize;
    }

    /// @inheritdoc IDARegistry
    function currentEpoch() external view returns (uint256) {
        return block.number / C.EPOCH_BLOCKS;
    }

    /// @inheritdoc IDARegistry
    function epochStartBlock(uint256 epoch) external pure returns (uint256) {
        return epoch * C.EPOCH_BLOCKS;
    }

    /// @inheritdoc IDARegistry
    function seedBlock(uint256 epoch) external pure returns (uint256) {
        return _seedBlock(epoch);
    }

    /// @inheritdoc IDARegistry
    function popMessage(address account, BN254.G1Point calldata pkG1, BN254.G2Point calldata pkG2)
        external
        view
        returns (bytes32)
    {
        return _popMessage(account, pkG1, pkG2);
    }

    /// @inheritdoc IDARegistry
    function nodeCount() external view returns (uint256) {
        return _nodes.length;
    }

    /// @inheritdoc IDARegistry
    function nodeIdOf(address account) external view returns (uint256) {
        return _nodeIdOf[account];
    }

    /// @inheritdoc IDARegistry
    function node(uint256 nodeId) external view returns (NodeInfo memory info) {
        if (nodeId == 0 || nodeId > _nodes.length) revert DARegistryUnknownNode(nodeId);
        Node storage n = _nodes[nodeId - 1];
        info = NodeInfo({account: n.hot.account, keysBlock: n.hot.keysBlock, pkG1: n.pkG1, pkG2: n.pkG2});
    }

    /// @inheritdoc IDARegistry
    function epochInfo(uint256 epoch) external view returns (EpochInfo memory info) {
        Epoch memory e = _epochs[epoch];
        info = EpochInfo({
            sampled: e.sampled,
            seed: e.seed,
            quorumCount: e.quorumCount,
            quorumSize: e.quorumSize,
            candidates: e.candidates
        });
    }

    /// @inheritdoc IDARegistry
    function quorum(uint256 epoch, uint256 quorumIndex) external view returns (QuorumInfo memory info) {
        Quorum storage q = _quorum(epoch, quorumIndex);
        info = QuorumInfo({
            apk: q.apk,
            totalWeight: q.totalWeight,
            memberRoot: q.memberRoot,
            memberCount: q.memberCount
        });
    }

    /// @inheritdoc IDARegistry
    function quorumMembers(uint256 epoch, uint256 quorumIndex) external view returns (uint256[] memory nodeIds) {
        Quorum storage q = _quorum(epoch, quorumIndex);
        uint256 count = q.memberCount;
        uint256[2] memory packed = q.packedIds;
        nodeIds = new uint256[](count);
        // Bounded: count <= MAX_QUORUM_SIZE.
        for (uint256 p = 0; p < count; ++p) {
            nodeIds[p] = _unpack(packed, p);
        }
    }

    /// @inheritdoc IDARegistry
    function memberAt(uint256 epoch, uint256 quorumIndex, uint256 position)
        external
        view
        returns (uint256 nodeId, address account)
    {
        Quorum storage q = _quorum(epoch, quorumIndex);
        uint256 count = q.memberCount;
        if (position >= count) revert DARegistryInvalidPosition(position, count);
        nodeId = (q.packedIds[position >> 4] >> ((position & 15) << 4)) & 0xffff;
        account = _nodes[nodeId - 1].hot.account;
    }

    /// @inheritdoc IDARegistry
    function positionOf(uint256 epoch, uint256 quorumIndex, uint256 nodeId)
        external
        view
        returns (bool found, uint256 position)
    {
        Quorum storage q = _quorum(epoch, quorumIndex);
        uint256 count = q.memberCount;
        uint256[2] memory packed = q.packedIds;
        // Bounded: count <= MAX_QUORUM_SIZE.
        for (uint256 p = 0; p < count; ++p) {
            if (_unpack(packed, p) == nodeId) return (true, p);
        }
    }

    // ------------------------------------------------------------------ internals

    /// @dev Nodes eligible for an epoch seeded at `seedBlock_`: keys registered and stake last changed by the
    ///      seed block, and active in the provider registry (role enabled, registered, stake >= minimum,
    ///      stake > 0), in node-id order, weighted by stake. As neither the keys nor the stake changed after the
    ///      seed block, the weights are the stakes as of the seed block: nothing a node does once the seed is
    ///      public changes its weight.
    function _candidates(uint256 seedBlock_)
        private
        view
        returns (uint256[] memory nodeIndex, uint256[] memory weights)
    {
        uint256 total = _nodes.length;
        nodeIndex = new uint256[](total);
        weights = new uint256[](total);
        uint256 count;
        if (_registry.roleEnabled(_daRole)) {
            uint256 minStake = _registry.minStake(_daRole);
            // Bounded: total <= MAX_NODES.
            for (uint256 i = 0; i < total; ++i) {
                NodeHot memory hot = _nodes[i].hot;
                if (hot.keysBlock > seedBlock_) continue;
                IProviderRegistry.Provider memory p = _registry.getProvider(hot.account, _daRole);
                if (!p.registered || p.stakeChangedAt > seedBlock_ || p.stake < minStake || p.stake == 0) continue;
                nodeIndex[count] = i;
                weights[count] = p.stake;
                // Cannot overflow: count < total.
                unchecked {
                    ++count;
                }
            }
        }
        assembly ("memory-safe") {
            mstore(nodeIndex, count)
            mstore(weights, count)
        }
    }

    /// @dev Builds and stores quorum q of an epoch from its draws [q * size, (q + 1) * size).
    function _storeQuorum(
        uint256 epoch,
        uint256 q,
        uint256 size,
        uint256[] memory picks,
        uint256[] memory nodeIndex,
        uint256[] memory weights
    ) private {
        bytes32[] memory leaves = new bytes32[](size);
        uint256[] memory ids = new uint256[](size);
        uint256[] memory memberWeights = new uint256[](size);
        uint256[2] memory packed;
        BN254.G1Point memory apk = BN254.G1Point(0, 0);
        uint256 totalWeight;
        // Bounded: size <= MAX_QUORUM_SIZE.
        for (uint256 p = 0; p < size; ++p) {
            uint256 candidate = picks[q * size + p];
            uint256 index = nodeIndex[candidate];
            uint256 weight = weights[candidate];
            BN254.G1Point memory pk = _nodes[index].pkG1;
            // Cannot overflow: index < MAX_NODES.
            uint256 nodeId;
            unchecked {
                nodeId = index + 1;
            }
            leaves[p] = QuorumSampling.memberLeaf(nodeId, pk.x, pk.y, weight);
            ids[p] = nodeId;
            memberWeights[p] = weight;
            packed[p >> 4] |= nodeId << ((p & 15) << 4);
            apk = BN254.add(apk, pk);
            totalWeight += weight;
        }
        bytes32 root = QuorumSampling.memberRoot(leaves);
        Quorum storage stored = _quorums[epoch][q];
        stored.apk = apk;
        stored.memberRoot = root;
        // Exact casts: see the struct comment; size <= MAX_QUORUM_SIZE.
        stored.totalWeight = uint248(totalWeight);
        stored.memberCount = uint8(size);
        stored.packedIds = packed;
        emit QuorumSampled(epoch, q, root, apk, totalWeight, ids, memberWeights);
    }

    /// @dev A stored quorum; every stored quorum has members, so only a miss reads the epoch's word to say why.
    function _quorum(uint256 epoch, uint256 quorumIndex) private view returns (Quorum storage q) {
        q = _quorums[epoch][quorumIndex];
        if (q.memberCount != 0) return q;
        Epoch storage e = _epochs[epoch];
        if (!e.sampled) revert DARegistryEpochNotSampled(epoch);
        revert DARegistryUnknownQuorum(epoch, quorumIndex, e.quorumCount);
    }

    function _popMessage(address account, BN254.G1Point memory pkG1, BN254.G2Point memory pkG2)
        private
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encode(
                "daios.da.pop.v1",
                block.chainid,
                address(this),
                account,
                pkG1.x,
                pkG1.y,
                pkG2.x1,
                pkG2.x0,
                pkG2.y1,
                pkG2.y0
            )
        );
    }

    function _seedBlock(uint256 epoch) private pure returns (uint256) {
        return epoch == 0 ? 0 : (epoch - 1) * C.EPOCH_BLOCKS;
    }

    function _unpack(uint256[2] memory packed, uint256 position) private pure returns (uint256) {
        return (packed[position >> 4] >> ((position & 15) << 4)) & 0xffff;
    }
}
