// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test, Vm} from "forge-std/Test.sol";
import {BeaconConstants as C} from "../../contracts/generated/ProtocolConstants.sol";
import {BN254} from "../../contracts/libraries/BN254.sol";
import {DrandEvmnet} from "./helpers/DrandEvmnet.sol";
import {BLS} from "../../contracts/libraries/BLS.sol";
import {RandomnessBeacon} from "../../contracts/randomness/RandomnessBeacon.sol";
import {IRandomnessBeacon} from "../../contracts/interfaces/IRandomnessBeacon.sol";

contract RandomnessBeaconTest is Test {
    bytes internal constant DST = "BLS_SIG_BN254G1_XMD:KECCAK-256_SVDW_RO_NUL_";

    // drand evmnet (public facts).
    uint64 internal constant EVMNET_GENESIS = 1727521075;
    uint64 internal constant EVMNET_PERIOD = 3;
    bytes32 internal constant ROUND_1000_RANDOMNESS = 0x0e6745667465a6f9dce5d5f994656955080be14c469ff17fc4fc588c925a8504;

    // A test beacon whose secret key the test knows (public key from test/vectors/bls.json).
    uint256 internal constant TEST_SECRET = 0xdeadbeef;
    uint64 internal constant TEST_GENESIS = 1_700_000_000;
    uint64 internal constant TEST_PERIOD = 3;

    RandomnessBeacon internal evmnet;
    RandomnessBeacon internal beacon;
    address internal relayer = makeAddr("relayer");

    event RoundRelayed(uint64 indexed round, bytes32 randomness, address indexed relayer);
    event BucketAnchored(uint256 indexed bucket, uint64 indexed round);

    function setUp() public {
        evmnet = new RandomnessBeacon(DrandEvmnet.publicKey(), EVMNET_GENESIS, EVMNET_PERIOD);
        beacon = new RandomnessBeacon(_testKey(), TEST_GENESIS, TEST_PERIOD);
        vm.roll(1_000);
    }

    // ------------------------------------------------------------------ fixtures

    /// @dev TEST_SECRET · g2.
    function _testKey() internal pure returns (BN254.G2Point memory) {
        return BN254.G2Point({
            x1: 0x166fec85611f16cef4b696de813d071a3f10c000acb839e14ec52317bd2e2e9e,
            x0: 0x206800b59c9c720c2e2bed8a29da13f7f581f35c0fd6109086ba8025b74669f1,
            y1: 0x0f0da7e37531ea28610f8b471bf7778da9b0d8e446fded2cc4e877bdb989e66f,
            y0: 0x042ea058eebebb860a9e9fc7a074f0b962b5c0fa1e6ff02d276a8bda7d929a6c
        });
    }

    /// @dev The test beacon's signature of `round`.
    function _sign(uint64 round) internal view returns (BN254.G1Point memory) {
        return BN254.mul(BLS.hashToPoint(DST, abi.encodePacked(keccak256(abi.encodePacked(round)))), TEST_SECRET);
    }

    function _timeOf(uint64 round) internal pure returns (uint256) {
        return TEST_GENESIS + uint256(round - 1) * TEST_PERIOD;
    }

    function _randomnessOf(BN254.G1Point memory sig) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(sig.x, sig.y));
    }

    /// @dev Relays `round` of the test beacon in block `blockNumber` at the time `round` is due.
    function _relayAt(uint256 blockNumber, uint64 round) internal {
        vm.roll(blockNumber);
        vm.warp(_timeOf(round));
        vm.prank(relayer);
        beacon.relay(round, _sign(round));
    }

    function _startOf(uint256 bucket) internal pure returns (uint256) {
        return bucket * C.BUCKET_BLOCKS;
    }

    // ------------------------------------------------------------------ constructor and getters

    function test_ConstructorStoresParameters() public view {
        assertEq(abi.encode(evmnet.publicKey()), abi.encode(DrandEvmnet.publicKey()));
        assertEq(evmnet.genesis(), EVMNET_GENESIS);
        assertEq(evmnet.period(), EVMNET_PERIOD);
        assertEq(evmnet.latestRound(), 0);
        assertEq(evmnet.DST(), DST);
    }

    function test_ConstructorRejectsBadKeysAndSchedules() public {
        BN254.G2Point memory offCurve = DrandEvmnet.publicKey();
        offCurve.y0 ^= 1;
        vm.expectRevert(IRandomnessBeacon.RandomnessBeaconInvalidPublicKey.selector);
        new RandomnessBeacon(offCurve, EVMNET_GENESIS, EVMNET_PERIOD);
        vm.expectRevert(IRandomnessBeacon.RandomnessBeaconInvalidPublicKey.selector);
        new RandomnessBeacon(BN254.G2Point(0, 0, 0, 0), EVMNET_GENESIS, EVMNET_PERIOD);
        BN254.G2Point memory unreduced = DrandEvmnet.publicKey();
        unreduced.x0 += BN254.P;
        vm.expectRevert(IRandomnessBeacon.RandomnessBeaconInvalidPublicKey.selector);
        new RandomnessBeacon(unreduced, EVMNET_GENESIS, EVMNET_PERIOD);
        // On the twist but outside the order-R subgroup (x = 1).
        BN254.G2Point memory outside = BN254.G2Point({
            x1: 0,
            x0: 1,
            y1: 0x0d1271953ed9ea0836846e70a1934187998c7f790cb4d7511b7f8da82de048a4,
            y0: 0x2869111d5381f072f8e2728fdb825a51aadd70e52c9830e9ab4b871c0531f1bb
        });
        vm.expectRevert(IRandomnessBeacon.RandomnessBeaconInvalidPublicKey.selector);
        new RandomnessBeacon(outside, EVMNET_GENESIS, EVMNET_PERIOD);
        vm.expectRevert(IRandomnessBeacon.RandomnessBeaconInvalidGenesis.selector);
        new RandomnessBeacon(DrandEvmnet.publicKey(), 0, EVMNET_PERIOD);
        vm.expectRevert(IRandomnessBeacon.RandomnessBeaconInvalidPeriod.selector);
        new RandomnessBeacon(DrandEvmnet.publicKey(), EVMNET_GENESIS, 0);
    }

    // ------------------------------------------------------------------ drand evmnet round 1000

    function test_Evmnet_Round1000VerifiesStoresAndAnchors() public {
        vm.warp(EVMNET_GENESIS + 999 * EVMNET_PERIOD);
        assertEq(evmnet.roundAt(block.timestamp), 1000);
        vm.expectEmit(address(evmnet));
        emit RoundRelayed(1000, ROUND_1000_RANDOMNESS, relayer);
        vm.expectEmit(address(evmnet));
        emit BucketAnchored(1_000 / C.BUCKET_BLOCKS, 1000);
        vm.prank(relayer);
        evmnet.relay(1000, DrandEvmnet.round1000Signature());
        assertEq(evmnet.randomnessOf(1000), ROUND_1000_RANDOMNESS);
        assertEq(evmnet.latestRound(), 1000);
        (uint64 round, uint64 knownAt) = evmnet.anchorOf(1_000 / C.BUCKET_BLOCKS);
        assertEq(round, 1000);
        assertEq(knownAt, 1_000);
    }

    function test_Evmnet_ShiftedRoundsFail() public {
        vm.warp(EVMNET_GENESIS + 999 * EVMNET_PERIOD);
        vm.expectRevert(abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconInvalidSignature.selector, 999));
        evmnet.relay(999, DrandEvmnet.round1000Signature());
        vm.expectRevert(abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconInvalidSignature.selector, 1001));
        evmnet.relay(1001, DrandEvmnet.round1000Signature());
    }

    function test_Evmnet_TamperedSignaturesFail() public {
        BN254.G1Point memory sig = DrandEvmnet.round1000Signature();
        BN254.G1Point memory negated = BN254.negate(sig);
        BN254.G1Point memory shifted = BN254.add(sig, BN254.g1()); // before expectRevert: it calls a precompile
        vm.expectRevert(abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconInvalidSignature.selector, 1000));
        evmnet.relay(1000, negated);
        vm.expectRevert(abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconInvalidSignature.selector, 1000));
        evmnet.relay(1000, shifted);
        vm.expectRevert(
            abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconSignatureNotOnCurve.selector, 1000, sig.x, sig.y + 1)
        );
        evmnet.relay(1000, BN254.G1Point(sig.x, sig.y + 1));
        vm.expectRevert(
            abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconSignatureNotOnCurve.selector, 1000, sig.x + BN254.P, sig.y)
        );
        evmnet.relay(1000, BN254.G1Point(sig.x + BN254.P, sig.y));
        vm.expectRevert(abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconSignatureNotOnCurve.selector, 1000, 0, 0));
        evmnet.relay(1000, BN254.G1Point(0, 0));
        vm.expectRevert(IRandomnessBeacon.RandomnessBeaconRoundZero.selector);
        evmnet.relay(0, sig);
        vm.expectRevert(abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconUnknownRound.selector, 1000));
        evmnet.randomnessOf(1000);
    }

    // ------------------------------------------------------------------ relaying and anchoring

    function test_StaleRoundIsStoredButDoesNotAnchor() public {
        uint64 due = 50;
        vm.warp(_timeOf(due));
        uint64 stale = due - uint64(C.MAX_ROUND_LAG) - 1;
        vm.recordLogs();
        beacon.relay(stale, _sign(stale));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "RoundRelayed only");
        assertEq(logs[0].topics[0], RoundRelayed.selector);
        assertEq(beacon.randomnessOf(stale), _randomnessOf(_sign(stale)));
        (uint64 round,) = beacon.anchorOf(block.number / C.BUCKET_BLOCKS);
        assertEq(round, 0, "stale round does not anchor");
        // The oldest fresh round anchors.
        uint64 fresh = due - uint64(C.MAX_ROUND_LAG);
        vm.expectEmit(address(beacon));
        emit BucketAnchored(block.number / C.BUCKET_BLOCKS, fresh);
        beacon.relay(fresh, _sign(fresh));
        (round,) = beacon.anchorOf(block.number / C.BUCKET_BLOCKS);
        assertEq(round, fresh);
        assertEq(beacon.latestRound(), fresh);
    }

    function test_FirstFreshRelayWinsTheBucket() public {
        vm.warp(_timeOf(21));
        beacon.relay(20, _sign(20));
        vm.roll(block.number + 1); // still the bucket of block 1_000
        vm.recordLogs();
        beacon.relay(21, _sign(21));
        assertEq(vm.getRecordedLogs().length, 1, "RoundRelayed only, no anchor");
        (uint64 round, uint64 knownAt) = beacon.anchorOf(1_000 / C.BUCKET_BLOCKS);
        assertEq(round, 20);
        assertEq(knownAt, 1_000);
        assertEq(beacon.latestRound(), 21);
        // latestRound never goes back.
        vm.warp(_timeOf(21));
        beacon.relay(19, _sign(19));
        assertEq(beacon.latestRound(), 21);
    }

    function test_RelayingAStoredRoundAgainIsANoOpOrAnAnchorOnly() public {
        _relayAt(1_000, 30);
        vm.recordLogs();
        beacon.relay(30, _sign(30));
        beacon.relay(30, BN254.G1Point(1, 3)); // the stored value is not checked again
        assertEq(vm.getRecordedLogs().length, 0, "no-op in the same bucket");
        // In the next bucket, still fresh: anchors it, without a second RoundRelayed.
        vm.roll(_startOf(1_000 / C.BUCKET_BLOCKS + 1));
        vm.expectEmit(address(beacon));
        emit BucketAnchored(block.number / C.BUCKET_BLOCKS, 30);
        vm.recordLogs();
        beacon.relay(30, _sign(30));
        assertEq(vm.getRecordedLogs().length, 1);
        // Once stale, a re-relay does nothing at all.
        vm.roll(block.number + C.BUCKET_BLOCKS);
        vm.warp(_timeOf(30 + uint64(C.MAX_ROUND_LAG) + 1));
        vm.recordLogs();
        beacon.relay(30, _sign(30));
        assertEq(vm.getRecordedLogs().length, 0);
        (uint64 round,) = beacon.anchorOf(block.number / C.BUCKET_BLOCKS);
        assertEq(round, 0);
    }

    // ------------------------------------------------------------------ block-indexed randomness

    function test_RandomnessAtUsesTheFirstAnchorAtLeastTheDelayLater() public {
        uint256 b = _startOf(300) + 1; // a block in bucket 300
        uint64 r = 100;
        // Anchors in the block's own bucket and the next ones before the delay are ignored.
        for (uint256 k = 0; k < C.SEED_DELAY_BUCKETS; ++k) {
            _relayAt(_startOf(300 + k) + 2, r++);
        }
        uint64 deciding = r;
        _relayAt(_startOf(300 + C.SEED_DELAY_BUCKETS) + 3, r++);
        _relayAt(_startOf(300 + C.SEED_DELAY_BUCKETS + 1), r++);
        (bytes32 value, uint256 knownAt) = beacon.seedAt(b);
        assertEq(value, _randomnessOf(_sign(deciding)));
        assertEq(knownAt, _startOf(300 + C.SEED_DELAY_BUCKETS) + 3);
        assertEq(beacon.randomnessAt(b), value);
        assertEq(beacon.randomnessAt(_startOf(300)), value, "same bucket, same seed");
        assertEq(beacon.randomnessAt(_startOf(301) - 1), value);
        // The next bucket's blocks take the next anchor.
        assertEq(beacon.randomnessAt(_startOf(301)), _randomnessOf(_sign(deciding + 1)));
        assertTrue(knownAt > b + C.BUCKET_BLOCKS, "relayed more than a whole bucket after the block");
    }

    function test_NotYetAvailableForRecentAndFutureBlocks() public {
        uint256 current = block.number / C.BUCKET_BLOCKS;
        vm.expectRevert(
            abi.encodeWithSelector(
                IRandomnessBeacon.RandomnessBeaconNotYetAvailable.selector, block.number, current + C.SEED_DELAY_BUCKETS, current
            )
        );
        beacon.randomnessAt(block.number);
        vm.expectRevert(
            abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconNotYetAvailable.selector, 5_000, 5_000 / C.BUCKET_BLOCKS + C.SEED_DELAY_BUCKETS, current)
        );
        beacon.seedAt(5_000);
    }

    function test_WaitsForTheCurrentBucketThenSkipsCompleteEmptyOnes() public {
        uint256 b = _startOf(400);
        uint256 first = 400 + C.SEED_DELAY_BUCKETS;
        // In the first deciding bucket, empty: not yet.
        vm.roll(_startOf(first) + 1);
        vm.expectRevert(abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconNotYetAvailable.selector, b, first, first));
        beacon.randomnessAt(b);
        // Two buckets later, the first two complete and empty, the current one empty: still not yet.
        vm.roll(_startOf(first + 2));
        vm.expectRevert(abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconNotYetAvailable.selector, b, first + 2, first + 2));
        beacon.randomnessAt(b);
        // A fresh relay in the current bucket fixes it at once.
        _relayAt(_startOf(first + 2) + 1, 77);
        (bytes32 value, uint256 knownAt) = beacon.seedAt(b);
        assertEq(value, _randomnessOf(_sign(77)));
        assertEq(knownAt, _startOf(first + 2) + 1);
        // Later relays never change it.
        _relayAt(_startOf(first + 5), 78);
        assertEq(beacon.randomnessAt(b), value);
    }

    function test_StallsWhenEveryDecidingBucketIsCompleteAndEmpty() public {
        uint256 b = _startOf(500) + 3;
        uint256 first = 500 + C.SEED_DELAY_BUCKETS;
        uint256 last = first + C.MAX_EMPTY_BUCKETS;
        // The last deciding bucket is current and empty: not yet.
        vm.roll(_startOf(last));
        vm.expectRevert(abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconNotYetAvailable.selector, b, last, last));
        beacon.randomnessAt(b);
        // Once it is complete, the block has no randomness, even if the beacon resumes.
        _relayAt(_startOf(last + 1), 5);
        vm.expectRevert(abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconStalled.selector, b, first, last));
        beacon.randomnessAt(b);
        vm.expectRevert(abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconStalled.selector, b, first, last));
        beacon.seedAt(b);
        // An anchor in the last deciding bucket would have counted.
        uint256 b2 = b + C.BUCKET_BLOCKS;
        assertEq(beacon.randomnessAt(b2), _randomnessOf(_sign(5)));
    }

    // ------------------------------------------------------------------ fuzz

    function testFuzz_RoundAtFollowsTheSchedule(uint256 t) public view {
        t = bound(t, 0, type(uint64).max);
        uint64 r = beacon.roundAt(t);
        if (t < TEST_GENESIS) {
            assertEq(r, 0);
        } else {
            assertGe(r, 1);
            assertLe(TEST_GENESIS + uint256(r - 1) * TEST_PERIOD, t, "round r is due at or before t");
            assertGt(TEST_GENESIS + uint256(r) * TEST_PERIOD, t, "round r + 1 is due after t");
        }
        assertLe(beacon.roundAt(t), beacon.roundAt(t + 1), "monotonic");
    }

    function testFuzz_RoundAtSaturates(uint256 t) public {
        RandomnessBeacon fast = new RandomnessBeacon(_testKey(), 1, 1);
        t = bound(t, uint256(type(uint64).max), type(uint256).max);
        assertEq(fast.roundAt(t), type(uint64).max);
    }

    /// @dev Anchors a random subset of the deciding buckets of block b (in order, each with a fresh round),
    ///      stops at a random current bucket, and checks `seedAt` against a direct model of the rule.
    function testFuzz_AnchorSearchMatchesTheRule(uint16 mask, uint8 currentOffset, uint8 blockInBucket) public {
        uint256 b = _startOf(1_000) + (blockInBucket % C.BUCKET_BLOCKS);
        uint256 first = 1_000 + C.SEED_DELAY_BUCKETS;
        uint256 span = C.MAX_EMPTY_BUCKETS + 2; // one bucket past the last deciding one
        uint256 current = first + (currentOffset % (span + 1));
        uint64 round = 1;
        for (uint256 k = 0; k < span && first + k <= current; ++k) {
            if ((mask >> k) & 1 == 1) _relayAt(_startOf(first + k) + (mask % C.BUCKET_BLOCKS), round);
            round++;
        }
        vm.roll(_startOf(current) + C.BUCKET_BLOCKS - 1);

        // Model.
        uint256 last = first + C.MAX_EMPTY_BUCKETS;
        for (uint256 k = first; k <= last; ++k) {
            if (k > current) {
                vm.expectRevert(abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconNotYetAvailable.selector, b, k, current));
                beacon.seedAt(b);
                return;
            }
            (uint64 anchored, uint64 anchoredAt) = beacon.anchorOf(k);
            if (anchored != 0) {
                (bytes32 value, uint256 knownAt) = beacon.seedAt(b);
                assertEq(value, beacon.randomnessOf(anchored));
                assertEq(knownAt, anchoredAt);
                assertGe(knownAt / C.BUCKET_BLOCKS, b / C.BUCKET_BLOCKS + C.SEED_DELAY_BUCKETS, "delay respected");
                return;
            }
            if (k == current) {
                vm.expectRevert(abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconNotYetAvailable.selector, b, k, current));
                beacon.seedAt(b);
                return;
            }
        }
        vm.expectRevert(abi.encodeWithSelector(IRandomnessBeacon.RandomnessBeaconStalled.selector, b, first, last));
        beacon.seedAt(b);
    }

    // ------------------------------------------------------------------ gas (execution only; whole-tx gas in the mocha test)

    function test_Gas_RelayExecution() public {
        vm.warp(EVMNET_GENESIS + 999 * EVMNET_PERIOD);
        BN254.G1Point memory sig = DrandEvmnet.round1000Signature();
        uint256 before = gasleft();
        evmnet.relay(1000, sig);
        uint256 used = before - gasleft();
        emit log_named_uint("relay execution gas (first round, anchors)", used);
        assertLt(used, 229_000);
    }
}
