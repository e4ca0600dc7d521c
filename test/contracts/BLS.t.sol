// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test, console} from "forge-std/Test.sol";
import {BN254} from "../../contracts/libraries/BN254.sol";
import {DrandEvmnet} from "./helpers/DrandEvmnet.sol";
import {BLS} from "../../contracts/libraries/BLS.sol";

/// @dev External wrapper so that library reverts can be expected and whole calls measured.
contract BLSHarness {
    function hashToPoint(bytes memory dst, bytes memory message) external view returns (BN254.G1Point memory) {
        return BLS.hashToPoint(dst, message);
    }

    function verify(BN254.G1Point memory sig, BN254.G2Point memory pk, BN254.G1Point memory hm)
        external
        view
        returns (bool)
    {
        return BLS.verify(sig, pk, hm);
    }
}

contract BLSTest is Test {
    string internal constant VECTORS = "test/vectors/bls.json";
    bytes internal constant DRAND_DST = "BLS_SIG_BN254G1_XMD:KECCAK-256_SVDW_RO_NUL_";
    bytes internal constant DA_DST = "DAIOS-DA-CERT-V1_BN254G1_XMD:KECCAK-256_SVDW_RO_";

    BLSHarness internal h;

    function setUp() public {
        h = new BLSHarness();
    }

    // ------------------------------------------------------------------ drand evmnet (inline facts)
    function _roundPoint(uint64 round) internal view returns (BN254.G1Point memory) {
        return BLS.hashToPoint(DRAND_DST, abi.encodePacked(keccak256(abi.encodePacked(round))));
    }

    function test_EvmnetRound1000Verifies() public view {
        assertTrue(BN254.isOnCurveG2(DrandEvmnet.publicKey()));
        assertTrue(BLS.verify(DrandEvmnet.round1000Signature(), DrandEvmnet.publicKey(), _roundPoint(1000)));
        BN254.G1Point memory sig = DrandEvmnet.round1000Signature();
        assertEq(
            sha256(abi.encodePacked(sig.x, sig.y)),
            0x0e6745667465a6f9dce5d5f994656955080be14c469ff17fc4fc588c925a8504,
            "randomness = sha256(x || y)"
        );
    }

    function test_EvmnetShiftedRoundsFail() public view {
        assertFalse(BLS.verify(DrandEvmnet.round1000Signature(), DrandEvmnet.publicKey(), _roundPoint(999)));
        assertFalse(BLS.verify(DrandEvmnet.round1000Signature(), DrandEvmnet.publicKey(), _roundPoint(1001)));
    }

    function test_EvmnetTamperedSignatureFails() public view {
        BN254.G1Point memory sig = DrandEvmnet.round1000Signature();
        BN254.G1Point memory hm = _roundPoint(1000);
        assertFalse(BLS.verify(BN254.negate(sig), DrandEvmnet.publicKey(), hm), "negated");
        assertFalse(BLS.verify(BN254.add(sig, BN254.g1()), DrandEvmnet.publicKey(), hm), "shifted by g1");
        assertFalse(BLS.verify(BN254.G1Point(sig.x, sig.y + 1), DrandEvmnet.publicKey(), hm), "off the curve");
        assertFalse(BLS.verify(BN254.G1Point(sig.x, sig.y + BN254.P), DrandEvmnet.publicKey(), hm), "unreduced y");
        assertFalse(BLS.verify(sig, DrandEvmnet.publicKey(), BLS.hashToPoint(DA_DST, abi.encodePacked(keccak256(abi.encodePacked(uint64(1000)))))), "other tag");
    }

    function test_InfinityAndZeroKeyNeverVerify() public view {
        BN254.G1Point memory zero = BN254.G1Point(0, 0);
        BN254.G2Point memory zeroKey = BN254.G2Point(0, 0, 0, 0);
        assertFalse(BLS.verify(zero, zeroKey, _roundPoint(1)), "zero key and zero signature");
        assertFalse(BLS.verify(zero, DrandEvmnet.publicKey(), zero), "zero signature and zero message point");
        BN254.G2Point memory offCurve = DrandEvmnet.publicKey();
        offCurve.y0 ^= 1;
        assertFalse(BLS.verify(DrandEvmnet.round1000Signature(), offCurve, _roundPoint(1000)), "key off the twist");
    }

    function test_KeyOutsideG2RevertsInThePairing() public {
        // x = 1 on the twist, outside the order-R subgroup (see BN254.t.sol).
        BN254.G2Point memory q = BN254.G2Point({
            x1: 0,
            x0: 1,
            y1: 0x0d1271953ed9ea0836846e70a1934187998c7f790cb4d7511b7f8da82de048a4,
            y0: 0x2869111d5381f072f8e2728fdb825a51aadd70e52c9830e9ab4b871c0531f1bb
        });
        BN254.G1Point memory hm = _roundPoint(1);
        vm.expectRevert(BN254.BN254PairingFailed.selector);
        h.verify(DrandEvmnet.round1000Signature(), q, hm);
    }

    function test_DomainTagLengthIsChecked() public {
        vm.expectRevert(abi.encodeWithSelector(BLS.BLSInvalidDomainLength.selector, 0));
        h.hashToPoint("", "m");
        bytes memory long = new bytes(256);
        vm.expectRevert(abi.encodeWithSelector(BLS.BLSInvalidDomainLength.selector, 256));
        h.hashToPoint(long, "m");
        h.hashToPoint(new bytes(255), "m"); // 255 bytes is the longest tag
    }

    // ------------------------------------------------------------------ shared vectors (TypeScript reference)

    function test_Vectors_HashToCurveMatchesTypeScript() public view {
        string memory json = vm.readFile(VECTORS);
        uint256 n = _count(json, ".hashToPoint", ".name");
        assertGe(n, 10, "vectors present");
        for (uint256 i = 0; i < n; ++i) {
            _checkHashVector(json, string.concat(".hashToPoint[", vm.toString(i), "]"));
        }
    }

    function _checkHashVector(string memory json, string memory base) internal view {
        string memory name = vm.parseJsonString(json, string.concat(base, ".name"));
        bytes memory dst = vm.parseJsonBytes(json, string.concat(base, ".dst"));
        bytes memory message = vm.parseJsonBytes(json, string.concat(base, ".message"));
        (bytes32 b1, bytes32 b2, bytes32 b3) = BLS.expandMessageXmd(dst, message);
        assertEq(abi.encodePacked(b1, b2, b3), vm.parseJsonBytes(json, string.concat(base, ".uniform")), name);
        (uint256 u0, uint256 u1) = BLS.hashToField(dst, message);
        assertEq(u0, vm.parseJsonUint(json, string.concat(base, ".u0")), name);
        assertEq(u1, vm.parseJsonUint(json, string.concat(base, ".u1")), name);
        BN254.G1Point memory p = BLS.hashToPoint(dst, message);
        assertEq(p.x, vm.parseJsonUint(json, string.concat(base, ".point.x")), name);
        assertEq(p.y, vm.parseJsonUint(json, string.concat(base, ".point.y")), name);
    }

    function test_Vectors_MapToCurveMatchesTypeScript() public view {
        string memory json = vm.readFile(VECTORS);
        uint256 n = _count(json, ".mapToPoint", ".u");
        assertGe(n, 10, "vectors present");
        bool[4] memory branches;
        for (uint256 i = 0; i < n; ++i) {
            string memory base = string.concat(".mapToPoint[", vm.toString(i), "]");
            uint256 u = vm.parseJsonUint(json, string.concat(base, ".u"));
            branches[vm.parseJsonUint(json, string.concat(base, ".branch"))] = true;
            BN254.G1Point memory p = BLS.mapToPoint(u);
            assertEq(p.x, vm.parseJsonUint(json, string.concat(base, ".point.x")), vm.toString(u));
            assertEq(p.y, vm.parseJsonUint(json, string.concat(base, ".point.y")), vm.toString(u));
        }
        assertTrue(branches[1] && branches[2] && branches[3], "every SVDW branch covered");
    }

    function test_Vectors_SignaturesAndAggregateVerify() public view {
        string memory json = vm.readFile(VECTORS);
        bytes memory dst = vm.parseJsonBytes(json, ".signing.dst");
        bytes memory message = vm.parseJsonBytes(json, ".signing.message");
        BN254.G1Point memory hm = BLS.hashToPoint(dst, message);
        assertEq(hm.x, vm.parseJsonUint(json, ".signing.messagePoint.x"));
        assertEq(hm.y, vm.parseJsonUint(json, ".signing.messagePoint.y"));
        uint256 n = _count(json, ".signing.keypairs", ".secretKey");
        assertGe(n, 5, "vectors present");
        BN254.G1Point memory apk = BN254.G1Point(0, 0);
        for (uint256 i = 0; i < n; ++i) {
            string memory base = string.concat(".signing.keypairs[", vm.toString(i), "]");
            uint256 sk = vm.parseJsonUint(json, string.concat(base, ".secretKey"));
            BN254.G1Point memory pk1 = _g1(json, string.concat(base, ".publicKeyG1"));
            BN254.G1Point memory expected = BN254.mul(BN254.g1(), sk);
            assertEq(pk1.x, expected.x, "pk G1 = sk * g1");
            assertEq(pk1.y, expected.y, "pk G1 = sk * g1");
            BN254.G2Point memory pk2 = _g2(json, string.concat(base, ".publicKeyG2"));
            assertTrue(BN254.pairing2(pk1, BN254.g2(), BN254.negate(BN254.g1()), pk2), "same secret in G1 and G2");
            BN254.G1Point memory sig = _g1(json, string.concat(base, ".signature"));
            BN254.G1Point memory expectedSig = BN254.mul(hm, sk);
            assertEq(sig.x, expectedSig.x, "sig = sk * H(m)");
            assertTrue(BLS.verify(sig, pk2, hm), "signature verifies");
            assertFalse(BLS.verify(BN254.negate(sig), pk2, hm), "negated signature fails");
            apk = i == 0 ? pk1 : BN254.add(apk, pk1);
        }
        BN254.G1Point memory aggApk = _g1(json, ".signing.aggregate.publicKeyG1");
        assertEq(aggApk.x, apk.x);
        assertEq(aggApk.y, apk.y);
        assertTrue(
            BLS.verify(_g1(json, ".signing.aggregate.signature"), _g2(json, ".signing.aggregate.publicKeyG2"), hm),
            "aggregate signature verifies under the aggregate key"
        );
    }

    function test_Vectors_DrandRound() public view {
        string memory json = vm.readFile(VECTORS);
        BN254.G2Point memory pk = _g2(json, ".drand.publicKey");
        BN254.G2Point memory inline_ = DrandEvmnet.publicKey();
        assertEq(abi.encode(pk), abi.encode(inline_), "kyber decoding");
        BN254.G1Point memory hm = BLS.hashToPoint(vm.parseJsonBytes(json, ".drand.dst"), vm.parseJsonBytes(json, ".drand.message"));
        assertEq(hm.x, vm.parseJsonUint(json, ".drand.messagePoint.x"));
        assertEq(hm.y, vm.parseJsonUint(json, ".drand.messagePoint.y"));
        assertTrue(BLS.verify(_g1(json, ".drand.signature"), pk, hm));
    }

    // ------------------------------------------------------------------ properties

    function testFuzz_HashToPointIsOnCurveAndEqualsSumOfMaps(bytes calldata message) public view {
        vm.assume(message.length <= 400);
        BN254.G1Point memory p = BLS.hashToPoint(DA_DST, message);
        assertTrue(BN254.isOnCurveG1(p));
        (uint256 u0, uint256 u1) = BLS.hashToField(DA_DST, message);
        assertLt(u0, BN254.P);
        assertLt(u1, BN254.P);
        BN254.G1Point memory q = BN254.add(BLS.mapToPoint(u0), BLS.mapToPoint(u1));
        assertEq(p.x, q.x, "shared inversion == separate inversions");
        assertEq(p.y, q.y);
    }

    function testFuzz_MapToPointIsOnCurveWithSignOfU(uint256 u) public view {
        u = bound(u, 0, BN254.P - 1);
        BN254.G1Point memory p = BLS.mapToPoint(u);
        assertTrue(BN254.isOnCurveG1(p));
        assertEq(p.y & 1, u & 1, "sgn0(y) == sgn0(u)");
    }

    function testFuzz_SignatureOfOtherSecretFails(uint256 sk, uint256 other) public view {
        sk = bound(sk, 1, BN254.R - 1);
        other = bound(other, 1, BN254.R - 1);
        vm.assume(sk != other);
        BN254.G1Point memory hm = BLS.hashToPoint(DA_DST, abi.encode(sk));
        // pk in G2 is not computable on chain; check e(sk·H, -g2)·e(H, sk·g2) through e(sk·H, -g2)·e(sk·H, g2).
        assertTrue(BN254.pairing2(BN254.mul(hm, sk), _negG2(), BN254.mul(hm, sk), BN254.g2()));
        assertFalse(BN254.pairing2(BN254.mul(hm, sk), _negG2(), BN254.mul(hm, other), BN254.g2()));
    }

    // ------------------------------------------------------------------ gas

    function test_Gas_HashToPointAndVerify() public view {
        bytes memory message = abi.encodePacked(keccak256(abi.encodePacked(uint64(1000))));
        uint256 before = gasleft();
        BN254.G1Point memory hm = BLS.hashToPoint(DRAND_DST, message);
        uint256 hashGas = before - gasleft();
        before = gasleft();
        bool ok = BLS.verify(DrandEvmnet.round1000Signature(), DrandEvmnet.publicKey(), hm);
        uint256 verifyGas = before - gasleft();
        assertTrue(ok);
        console.log("hashToPoint gas (32-byte message, drand tag):", hashGas);
        console.log("verify gas (curve checks + 2-pair pairing):", verifyGas);
        assertLt(hashGas, 35_000, "hashToPoint budget");
        assertLt(verifyGas, 125_000, "verify budget");
    }

    // ------------------------------------------------------------------ helpers

    function _negG2() internal pure returns (BN254.G2Point memory q) {
        q = BN254.g2();
        q.y1 = BN254.P - q.y1;
        q.y0 = BN254.P - q.y0;
    }

    function _g1(string memory json, string memory key) internal pure returns (BN254.G1Point memory) {
        return BN254.G1Point(vm.parseJsonUint(json, string.concat(key, ".x")), vm.parseJsonUint(json, string.concat(key, ".y")));
    }

    function _g2(string memory json, string memory key) internal pure returns (BN254.G2Point memory) {
        return BN254.G2Point({
            x1: vm.parseJsonUint(json, string.concat(key, ".x1")),
            x0: vm.parseJsonUint(json, string.concat(key, ".x0")),
            y1: vm.parseJsonUint(json, string.concat(key, ".y1")),
            y0: vm.parseJsonUint(json, string.concat(key, ".y0"))
        });
    }

    function _count(string memory json, string memory array, string memory field) internal view returns (uint256 n) {
        while (vm.keyExistsJson(json, string.concat(array, "[", vm.toString(n), "]", field))) ++n;
    }
}
