// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BN254} from "../libraries/BN254.sol";
import {IRandomnessSource} from "./IRandomnessSource.sol";

/// @title IRandomnessBeacon
/// @notice Verified drand-compatible randomness beacon on BN254 (drand "evmnet" scheme: unchained rounds,
///         BLS signatures in G1 over H(keccak256(uint64 round, big-endian)) with the tag
///         `BLS_SIG_BN254G1_XMD:KECCAK-256_SVDW_RO_NUL_`, the group public key in G2).
///
/// Anyone may relay a round with its signature; the beacon checks the signature against the public key
/// fixed at deployment and stores the round's randomness sha256(signature x || y), the value drand
/// publishes as `randomness`.
///
/// Block-indexed randomness (`IRandomnessSource`): blocks are grouped into buckets of `BUCKET_BLOCKS`
/// blocks. The first relay of a fresh round (at most `MAX_ROUND_LAG` rounds behind the round due at the
/// block's timestamp) in a bucket anchors that bucket; later relays never change an anchor. The
/// randomness of block `b` is the randomness anchored in the first non-empty bucket among
/// `b / BUCKET_BLOCKS + SEED_DELAY_BUCKETS` and the `MAX_EMPTY_BUCKETS` buckets after it. A value is
/// returned only when it can never change: every bucket skipped is complete (in the past) and empty.
/// The deciding anchor is relayed at least `(SEED_DELAY_BUCKETS - 1) * BUCKET_BLOCKS + 1` blocks after
/// block `b` and is fresh when relayed, so nobody (a block producer included) knows it at block `b`.
interface IRandomnessBeacon is IRandomnessSource {
    /// @notice The public key given to the constructor is not a point of G2.
    error RandomnessBeaconInvalidPublicKey();

    /// @notice The period given to the constructor is zero.
    error RandomnessBeaconInvalidPeriod();

    /// @notice The genesis time given to the constructor is zero.
    error RandomnessBeaconInvalidGenesis();

    /// @notice Round 0 does not exist: drand rounds start at 1.
    error RandomnessBeaconRoundZero();

    /// @notice The signature of `round` is not an affine point of G1 (a coordinate >= P, off the curve, or
    ///         the point at infinity).
    error RandomnessBeaconSignatureNotOnCurve(uint64 round, uint256 x, uint256 y);

    /// @notice The signature is a G1 point but not the beacon's signature of `round`.
    error RandomnessBeaconInvalidSignature(uint64 round);

    /// @notice No randomness was relayed for `round`.
    error RandomnessBeaconUnknownRound(uint64 round);

    /// @notice The randomness of `blockNumber` is not fixed yet: bucket `bucket` (the first that may still
    ///         decide it) is the current bucket or a future one and has no anchor. Relay a fresh round, or
    ///         retry after more blocks.
    /// @param blockNumber The block whose randomness was asked for.
    /// @param bucket The first bucket that may still be anchored and decide the value.
    /// @param currentBucket block.number / BUCKET_BLOCKS.
    error RandomnessBeaconNotYetAvailable(uint256 blockNumber, uint256 bucket, uint256 currentBucket);

    /// @notice Every bucket that may decide the randomness of `blockNumber` (`firstBucket` to `lastBucket`)
    ///         is complete and empty: the beacon stalled (nobody relayed a fresh round) and this block has
    ///         no randomness, ever.
    error RandomnessBeaconStalled(uint256 blockNumber, uint256 firstBucket, uint256 lastBucket);

    /// @notice Round `round` was verified and its `randomness` stored by `relayer`.
    event RoundRelayed(uint64 indexed round, bytes32 randomness, address indexed relayer);

    /// @notice Bucket `bucket` was anchored to round `round` (in this block).
    event BucketAnchored(uint256 indexed bucket, uint64 indexed round);

    /// @notice Verifies and stores beacon round `round` with its signature `sig`, and anchors the current
    ///         bucket to it when that bucket has no anchor yet and the round is fresh:
    ///         `round + MAX_ROUND_LAG >= roundAt(block.timestamp)`.
    /// @dev Anyone may call. Relaying a round that is already stored does not check `sig` again (the round
    ///      has one valid signature and its randomness is known) and never reverts: it only anchors the
    ///      current bucket under the same rule, or does nothing, so relayers racing for a round lose
    ///      little gas. Reverts with `RandomnessBeaconRoundZero`, `RandomnessBeaconSignatureNotOnCurve` or
    ///      `RandomnessBeaconInvalidSignature` for a new round with a bad signature.
    ///      Emits `RoundRelayed` for a new round and `BucketAnchored` when it anchors.
    /// @param round The drand round number (>= 1).
    /// @param sig The round's signature, a G1 point (kyber bytes x || y).
    function relay(uint64 round, BN254.G1Point calldata sig) external;

    /// @notice The randomness of `round`: sha256 of its 64-byte signature x || y.
    /// @dev Reverts with `RandomnessBeaconUnknownRound` if the round was not relayed.
    function randomnessOf(uint64 round) external view returns (bytes32);

    /// @notice The highest round relayed so far; 0 before the first relay.
    function latestRound() external view returns (uint64);

    /// @notice The round due at `timestamp` by the beacon's schedule: 0 before genesis, else
    ///         (timestamp - genesis) / period + 1 (saturating at 2^64 - 1).
    function roundAt(uint256 timestamp) external view returns (uint64);

    /// @notice The beacon's group public key in G2 (EIP-197 order).
    function publicKey() external view returns (BN254.G2Point memory);

    /// @notice Unix time of round 1.
    function genesis() external view returns (uint64);

    /// @notice Seconds between rounds.
    function period() external view returns (uint64);

    /// @notice The anchor of `bucket` (blocks [bucket * BUCKET_BLOCKS, (bucket + 1) * BUCKET_BLOCKS)).
    /// @return round The anchoring round; 0 when the bucket has no anchor.
    /// @return knownAt The block in which it was relayed and anchored; 0 when the bucket has no anchor.
    function anchorOf(uint256 bucket) external view returns (uint64 round, uint64 knownAt);
}
