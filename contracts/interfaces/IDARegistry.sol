// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BN254} from "../libraries/BN254.sol";

/// @title IDARegistry
/// @notice BLS keys of data-availability nodes and the quorums sampled from them every epoch.
///
/// A DA node is a provider registered with the DA role in the `ProviderRegistry` (stake, endpoint). It
/// registers its BLS key once with `registerKeys`: a G1 public key (aggregated on-chain), the matching G2
/// public key (used off-chain to aggregate the G2 key of a certificate's signers) and a proof of possession.
/// The node gets a node id (1, 2, ...; at most `MAX_NODES`).
///
/// Time is counted in epochs of `EPOCH_BLOCKS` blocks: epoch e spans blocks [e * EPOCH_BLOCKS,
/// (e + 1) * EPOCH_BLOCKS). The quorums of epoch e are sampled from the randomness of `seedBlock(e)` (the
/// first block of epoch e - 1; block 0 for epoch 0), so they can be known during epoch e - 1. Anyone calls
/// `sampleEpoch(e)` once that randomness is available, during epoch e - 1 or e. Candidates are the nodes
/// whose keys were registered at or before the seed block, whose stake last changed at or before the seed
/// block (the provider's `stakeChangedAt`) and that are active in the `ProviderRegistry`, in node-id order,
/// weighted by their bonded stake. So the weights are the stakes as of the seed block: a node whose stake
/// changed after it (added stake, requested unbonding, was slashed) sits the epoch out, and no node can pick
/// its weight after seeing the seed. It is a candidate again from the first epoch seeded at or after that
/// change (two epochs later at most). A node can still leave an epoch after seeing its seed (by changing its
/// stake, as by unbonding below the minimum before), but not choose its weight. `QuorumSampling` draws `quorumCount()` quorums of
/// min(`quorumSize()`, candidates / quorumCount()) members each (none when that is below
/// `MIN_QUORUM_SIZE`). A quorum stores its aggregated G1 key, total weight, member Merkle root and the
/// node ids of its members; the member weights are in the `QuorumSampled` event.
interface IDARegistry {
    /// @notice A registered node.
    /// @param account The node's provider address.
    /// @param keysBlock Block in which the keys were registered.
    /// @param pkG1 BLS public key in G1.
    /// @param pkG2 The same key in G2.
    struct NodeInfo {
        address account;
        uint256 keysBlock;
        BN254.G1Point pkG1;
        BN254.G2Point pkG2;
    }

    /// @notice Sampling state of an epoch.
    /// @param sampled True once `sampleEpoch` ran for it.
    /// @param seed The sampling seed: keccak256(abi.encode(randomnessAt(seedBlock), chainid, registry, epoch)).
    /// @param quorumCount Number of quorums; zero when too few nodes were eligible.
    /// @param quorumSize Members of each quorum.
    /// @param candidates Eligible nodes at sampling.
    struct EpochInfo {
        bool sampled;
        bytes32 seed;
        uint256 quorumCount;
        uint256 quorumSize;
        uint256 candidates;
    }

    /// @notice A sampled quorum.
    /// @param apk Sum of the members' G1 keys.
    /// @param totalWeight Sum of the members' weights (their stakes, unchanged since the seed block).
    /// @param memberRoot Root of the member tree (see `QuorumSampling`).
    /// @param memberCount Number of members.
    struct QuorumInfo {
        BN254.G1Point apk;
        uint256 totalWeight;
        bytes32 memberRoot;
        uint256 memberCount;
    }

    // ------------------------------------------------------------------ errors

    /// @notice A constructor address is zero.
    error DARegistryZeroAddress();
    /// @notice The quorum count or size is outside the bounds of `DaConstants`.
    error DARegistryInvalidShape(uint256 quorumCount, uint256 quorumSize);
    /// @notice `account` is not an active DA provider in the `ProviderRegistry`.
    error DARegistryNotActive(address account);
    /// @notice `account` registered its keys already, as node `nodeId`; keys cannot be replaced.
    error DARegistryKeysAlreadyRegistered(address account, uint256 nodeId);
    /// @notice A public key is not a valid curve point (or is the point at infinity).
    error DARegistryInvalidKey();
    /// @notice The proof of possession does not verify for the keys and `account`.
    error DARegistryInvalidProofOfPossession(address account);
    /// @notice `MAX_NODES` nodes are registered already.
    error DARegistryTooManyNodes(uint256 max);
    /// @notice No node has id `nodeId`.
    error DARegistryUnknownNode(uint256 nodeId);
    /// @notice `epoch` was sampled already.
    error DARegistryEpochAlreadySampled(uint256 epoch);
    /// @notice Only the current epoch `currentEpoch` and the next one can be sampled.
    error DARegistryEpochNotSampleable(uint256 epoch, uint256 currentEpoch);
    /// @notice `epoch` has not been sampled: call `sampleEpoch(epoch)` first.
    error DARegistryEpochNotSampled(uint256 epoch);
    /// @notice Epoch `epoch` has `quorumCount` quorums; `quorum` is not one of them.
    error DARegistryUnknownQuorum(uint256 epoch, uint256 quorum, uint256 quorumCount);
    /// @notice The quorum has `memberCount` members; `position` is not one of them.
    error DARegistryInvalidPosition(uint256 position, uint256 memberCount);

    // ------------------------------------------------------------------ events

    /// @notice `account` registered its BLS keys as node `nodeId`.
    event KeysRegistered(address indexed account, uint256 indexed nodeId, BN254.G1Point pkG1, BN254.G2Point pkG2);
    /// @notice `epoch` was sampled from `seed`: `quorumCount` quorums of `quorumSize` members out of
    ///         `candidates` eligible nodes. One `QuorumSampled` per quorum precedes it.
    event EpochSampled(
        uint256 indexed epoch, bytes32 seed, uint256 quorumCount, uint256 quorumSize, uint256 candidates
    );
    /// @notice Quorum `quorum` of `epoch`: the node ids and weights of its members in position order (member
    ///         p holds coded shard p), their aggregated key, total weight and member root.
    event QuorumSampled(
        uint256 indexed epoch,
        uint256 indexed quorum,
        bytes32 memberRoot,
        BN254.G1Point apk,
        uint256 totalWeight,
        uint256[] nodeIds,
        uint256[] weights
    );

    // ------------------------------------------------------------------ node actions

    /// @notice Registers the caller's BLS keys; the caller must be an active DA provider in the
    ///         `ProviderRegistry` and gets the next node id. The proof of possession is the BLS signature
    ///         `pop = sk * hashToPoint(POP_DST, popMessage(caller, pkG1, pkG2))` by the key's secret `sk`; one
    ///         pairing check verifies it together with pkG1 = sk * g1 and pkG2 = sk * g2 (random linear
    ///         combination).
    /// @param pkG1 Public key in G1 (sk * g1).
    /// @param pkG2 Public key in G2 (sk * g2), EIP-197 coordinate order.
    /// @param pop Proof of possession.
    /// @return nodeId The caller's node id.
    function registerKeys(BN254.G1Point calldata pkG1, BN254.G2Point calldata pkG2, BN254.G1Point calldata pop)
        external
        returns (uint256 nodeId);

    // ------------------------------------------------------------------ everyone

    /// @notice Samples the quorums of `epoch` (anyone, once). Allowed for the current and the next epoch as
    ///         soon as the randomness of `seedBlock(epoch)` is available (it reverts as the randomness source
    ///         does while it is not). Weights are the stakes as of the seed block: a node whose stake changed
    ///         after it sits the epoch out. Gas grows with the registered nodes (at most `MAX_NODES`).
    /// @param epoch The epoch.
    function sampleEpoch(uint256 epoch) external;

    // ------------------------------------------------------------------ views

    /// @notice Domain separation tag of proofs of possession:
    ///         "DAIOS-DA-POP-V1_BN254G1_XMD:KECCAK-256_SVDW_RO_".
    function POP_DST() external view returns (string memory);
    /// @notice Most nodes that can register keys (the sampling cap).
    function MAX_NODES() external view returns (uint256);

    /// @notice The provider registry.
    function registry() external view returns (address);
    /// @notice The randomness source of epoch seeds.
    function randomness() external view returns (address);
    /// @notice The DA role id in the provider registry.
    function daRole() external view returns (bytes32);
    /// @notice Quorums sampled per epoch (K).
    function quorumCount() external view returns (uint256);
    /// @notice Wanted members per quorum (Q).
    function quorumSize() external view returns (uint256);

    /// @notice The epoch of the current block: block.number / EPOCH_BLOCKS.
    function currentEpoch() external view returns (uint256);
    /// @notice First block of `epoch`.
    function epochStartBlock(uint256 epoch) external pure returns (uint256);
    /// @notice Block whose randomness seeds `epoch`: the first block of epoch - 1 (block 0 for epoch 0).
    function seedBlock(uint256 epoch) external pure returns (uint256);
    /// @notice Message hash a node signs as its proof of possession: keccak256(abi.encode("daios.da.pop.v1",
    ///         chainid, registry, account, pkG1, pkG2)); it is hashed to G1 with `POP_DST`.
    function popMessage(address account, BN254.G1Point calldata pkG1, BN254.G2Point calldata pkG2)
        external
        view
        returns (bytes32);

    /// @notice Number of registered nodes; also the newest node id.
    function nodeCount() external view returns (uint256);
    /// @notice Node id of `account`; zero when it has not registered keys.
    function nodeIdOf(address account) external view returns (uint256);
    /// @notice Node `nodeId`.
    function node(uint256 nodeId) external view returns (NodeInfo memory);

    /// @notice Sampling state of `epoch`.
    function epochInfo(uint256 epoch) external view returns (EpochInfo memory);
    /// @notice Quorum `quorum` of the sampled `epoch`.
    function quorum(uint256 epoch, uint256 quorumIndex) external view returns (QuorumInfo memory);
    /// @notice Node ids of the members of quorum `quorum` of `epoch`, in position order.
    function quorumMembers(uint256 epoch, uint256 quorumIndex) external view returns (uint256[] memory nodeIds);
    /// @notice The member at `position` of quorum `quorum` of `epoch`.
    function memberAt(uint256 epoch, uint256 quorumIndex, uint256 position)
        external
        view
        returns (uint256 nodeId, address account);
    /// @notice Position of node `nodeId` in quorum `quorum` of `epoch`.
    /// @return found False when the node is not a member.
    /// @return position The member position when found.
    function positionOf(uint256 epoch, uint256 quorumIndex, uint256 nodeId)
        external
        view
        returns (bool found, uint256 position);
}
