// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BeaconConstants as C} from "../generated/ProtocolConstants.sol";
import {BLS} from "../libraries/BLS.sol";
import {BN254} from "../libraries/BN254.sol";
import {IRandomnessBeacon} from "../interfaces/IRandomnessBeacon.sol";
import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @title RandomnessBeacon
/// @notice Verified drand-compatible beacon (BN254, unchained, signatures in G1): relayed rounds and
///         block-indexed, delayed randomness for challenge seeds. See `IRandomnessBeacon`.
contract RandomnessBeacon is IRandomnessBeacon {
    /// @notice Domain separation tag of drand's BN254 scheme.
    bytes public constant DST = "BLS_SIG_BN254G1_XMD:KECCAK-256_SVDW_RO_NUL_";

    /// @dev A bucket's anchor, one storage slot.
    struct Anchor {
        uint64 round;
        uint64 knownAt;
    }

    uint256 private immutable _pkX1;
    uint256 private immutable _pkX0;
    uint256 private immutable _pkY1;
    uint256 private immutable _pkY0;
    uint64 private immutable _genesis;
    uint64 private immutable _period;

    mapping(uint64 round => bytes32 randomness) private _randomness;
    mapping(uint256 bucket => Anchor) private _anchors;
    uint64 private _latestRound;

    /// @param publicKey_ The beacon's group public key in G2 (EIP-197 order; drand's kyber bytes
    ///        x1 || x0 || y1 || y0 map to the fields in that order).
    /// @param genesis_ Unix time of round 1.
    /// @param period_ Seconds between rounds.
    constructor(BN254.G2Point memory publicKey_, uint64 genesis_, uint64 period_) {
        if (!BN254.isOnCurveG2(publicKey_) || !_inSubgroup(publicKey_)) revert RandomnessBeaconInvalidPublicKey();
        if (genesis_ == 0) revert RandomnessBeaconInvalidGenesis();
        if (period_ == 0) revert RandomnessBeaconInvalidPeriod();
        _pkX1 = publicKey_.x1;
        _pkX0 = publicKey_.x0;
        _pkY1 = publicKey_.y1;
        _pkY0 = publicKey_.y0;
        _genesis = genesis_;
        _period = period_;
    }

    /// @inheritdoc IRandomnessBeacon
    function relay(uint64 round, BN254.G1Point calldata sig) external {
        if (round == 0) revert RandomnessBeaconRoundZero();
        if (_randomness[round] == bytes32(0)) {
            BN254.G1Point memory s = sig;
            if (!BN254.isOnCurveG1(s)) revert RandomnessBeaconSignatureNotOnCurve(round, s.x, s.y);
            BN254.G1Point memory hm = BLS.hashToPoint(DST, abi.encodePacked(keccak256(abi.encodePacked(round))));
            if (!BLS.verify(s, publicKey(), hm)) revert RandomnessBeaconInvalidSignature(round);
            bytes32 value = sha256(abi.encodePacked(s.x, s.y));
            _randomness[round] = value;
            if (round > _latestRound) _latestRound = round;
            emit RoundRelayed(round, value, msg.sender);
        }
        uint256 bucket = block.number / C.BUCKET_BLOCKS;
        Anchor storage anchor = _anchors[bucket];
        if (anchor.round == 0 && uint256(round) + C.MAX_ROUND_LAG >= roundAt(block.timestamp)) {
            anchor.round = round;
            // Cannot truncate: block numbers stay far below 2^64.
            anchor.knownAt = uint64(block.number);
            emit BucketAnchored(bucket, round);
        }
    }

    /// @inheritdoc IRandomnessSource
    function randomnessAt(uint256 blockNumber) external view returns (bytes32 value) {
        (value,) = _seed(blockNumber);
    }

    /// @inheritdoc IRandomnessSource
    /// @dev `knownAt` is the block in which the deciding anchor was relayed.
    function seedAt(uint256 blockNumber) external view returns (bytes32 value, uint256 knownAt) {
        return _seed(blockNumber);
    }

    /// @inheritdoc IRandomnessBeacon
    function randomnessOf(uint64 round) external view returns (bytes32 value) {
        value = _randomness[round];
        if (value == bytes32(0)) revert RandomnessBeaconUnknownRound(round);
    }

    /// @inheritdoc IRandomnessBeacon
    function latestRound() external view returns (uint64) {
        return _latestRound;
    }

    /// @inheritdoc IRandomnessBeacon
    function roundAt(uint256 timestamp) public view returns (uint64) {
        if (timestamp < _genesis) return 0;
        // Cannot overflow: (timestamp - genesis) / period <= 2^256 - 1 with period >= 1, and the + 1 only
        // overflows for period 1 at timestamp 2^256 - 1, where the quotient is 2^256 - 1 - genesis < 2^256 - 1.
        uint256 r = (timestamp - _genesis) / _period + 1;
        // Saturates instead of truncating for timestamps no chain reaches.
        return r > type(uint64).max ? type(uint64).max : uint64(r);
    }

    /// @inheritdoc IRandomnessBeacon
    function publicKey() public view returns (BN254.G2Point memory) {
        return BN254.G2Point(_pkX1, _pkX0, _pkY1, _pkY0);
    }

    /// @inheritdoc IRandomnessBeacon
    function genesis() external view returns (uint64) {
        return _genesis;
    }

    /// @inheritdoc IRandomnessBeacon
    function period() external view returns (uint64) {
        return _period;
    }

    /// @inheritdoc IRandomnessBeacon
    function anchorOf(uint256 bucket) external view returns (uint64 round, uint64 knownAt) {
        Anchor memory a = _anchors[bucket];
        return (a.round, a.knownAt);
    }

    /// @dev The anchor deciding the randomness of `blockNumber`: the first anchored bucket among
    ///      first .. first + MAX_EMPTY_BUCKETS (first = blockNumber / BUCKET_BLOCKS + SEED_DELAY_BUCKETS),
    ///      returned only when every bucket before it is complete, so the answer never changes.
    function _seed(uint256 blockNumber) private view returns (bytes32 value, uint256 knownAt) {
        uint256 current = block.number / C.BUCKET_BLOCKS;
        uint256 first = blockNumber / C.BUCKET_BLOCKS + C.SEED_DELAY_BUCKETS;
        uint256 last = first + C.MAX_EMPTY_BUCKETS;
        // Bounded: at most MAX_EMPTY_BUCKETS + 1 iterations.
        for (uint256 bucket = first; bucket <= last; ++bucket) {
            if (bucket > current) revert RandomnessBeaconNotYetAvailable(blockNumber, bucket, current);
            Anchor memory a = _anchors[bucket];
            if (a.round != 0) return (_randomness[a.round], a.knownAt);
            if (bucket == current) revert RandomnessBeaconNotYetAvailable(blockNumber, bucket, current);
        }
        revert RandomnessBeaconStalled(blockNumber, first, last);
    }

    /// @dev Whether a point of the twist curve lies in the order-R subgroup G2: the pairing precompile
    ///      checks the subgroup of every G2 input and fails on points outside it.
    function _inSubgroup(BN254.G2Point memory q) private view returns (bool ok) {
        BN254.G1Point memory one = BN254.g1();
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, mload(one))
            mstore(add(m, 0x20), mload(add(one, 0x20)))
            mstore(add(m, 0x40), mload(q))
            mstore(add(m, 0x60), mload(add(q, 0x20)))
            mstore(add(m, 0x80), mload(add(q, 0x40)))
            mstore(add(m, 0xa0), mload(add(q, 0x60)))
            ok := staticcall(gas(), 0x08, m, 0xc0, m, 0x20)
        }
    }
}
